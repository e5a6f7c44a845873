#include <doctest/doctest.h>
#include <pirates/common/cli.hpp>

#include <sys/wait.h>
#include <unistd.h>

using namespace pirates;
using namespace std::chrono_literals;

namespace {
struct Args {
    std::vector<std::string> items;
    std::vector<const char*> ptrs;
    Args(std::initializer_list<std::string> a) : items(a) {
        for (auto& s : items) ptrs.push_back(s.c_str());
    }
    int argc() const { return static_cast<int>(ptrs.size()); }
    const char* const* argv() const { return ptrs.data(); }
};

struct Options {
    std::string bind;
    std::vector<std::string> servers;
    int requests = 10;
    Duration heartbeat{2500};
    bool async = false;
    CommandLine cli{"prog", "test program"};
    Options() {
        cli.endpoint("bind", bind, "endpoint", true)
            .endpoints("servers", servers, "servers")
            .integer("requests", requests, "count", 1, 1000)
            .millis("heartbeat-ms", heartbeat, "interval")
            .flag("async", async, "async");
    }
};
}  // namespace

TEST_CASE("options are parsed and typed, in both --name value and --name=value forms") {
    Options o;
    Args a{"prog", "--bind",  "tcp://127.0.0.1:*", "--requests=7",       "--heartbeat-ms",
           "50",   "--async", "--servers",         "tcp://a:1,tcp://b:2"};
    auto err = o.cli.try_parse(a.argc(), a.argv());
    REQUIRE_FALSE(err);
    CHECK(o.bind == "tcp://127.0.0.1:*");
    CHECK(o.requests == 7);
    CHECK(o.heartbeat == 50ms);
    CHECK(o.async);
    CHECK(o.servers == std::vector<std::string>{"tcp://a:1", "tcp://b:2"});
}

TEST_CASE("bad input is an error message, naming the problem") {
    auto error_of = [](Args a) {
        Options o;
        auto err = o.cli.try_parse(a.argc(), a.argv());
        return err.value_or("");
    };
    CHECK(error_of({"prog", "--bind", "tcp://x:1", "--nope"}).find("unknown option '--nope'") !=
          std::string::npos);
    CHECK(error_of({"prog", "--bind", "localhost:5555"}).find("not an endpoint") != std::string::npos);
    CHECK(error_of({"prog", "--bind", "tcp://x:1", "--requests", "ten"}).find("not an integer") !=
          std::string::npos);
    CHECK(error_of({"prog", "--bind", "tcp://x:1", "--requests", "0"}).find("out of range") !=
          std::string::npos);
    CHECK(error_of({"prog", "--bind", "tcp://x:1", "--heartbeat-ms", "-5"}).find("out of range") !=
          std::string::npos);
    CHECK(error_of({"prog", "--bind", "tcp://x:1", "--requests"}).find("needs a value") != std::string::npos);
    CHECK(error_of({"prog", "--bind", "tcp://x:1", "--async=yes"}).find("takes no value") !=
          std::string::npos);
    CHECK(error_of({"prog"}).find("missing required option '--bind'") != std::string::npos);
    CHECK(error_of({"prog", "--bind", "tcp://x:1", "--servers", "tcp://a:1,,tcp://b:2"})
              .find("not an endpoint") != std::string::npos);
    CHECK(error_of({"prog", "--bind", "tcp://x:1", "stray"}).find("unexpected argument") !=
          std::string::npos);
}

TEST_CASE("--help is seen even when required options are missing, and usage lists every option") {
    Options o;
    Args a{"prog", "--help"};
    CHECK_FALSE(o.cli.try_parse(a.argc(), a.argv()));
    CHECK(o.cli.help_requested());
    auto u = o.cli.usage();
    for (auto name :
         {"--bind EP", "--servers", "--requests N", "--heartbeat-ms MS", "--async", "--verbose", "--help"})
        CHECK(u.find(name) != std::string::npos);
}

TEST_CASE("parse() exits with code 2 on a bad flag and 0 on --help") {
    auto exit_code = [](Args a) {
        pid_t pid = fork();
        if (pid == 0) {
            std::freopen("/dev/null", "w", stderr);
            std::freopen("/dev/null", "w", stdout);
            Options o;
            o.cli.parse(a.argc(), const_cast<char**>(a.argv()));
            _exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    };
    CHECK(exit_code({"prog", "--bogus"}) == 2);
    CHECK(exit_code({"prog", "--help"}) == 0);
    CHECK(exit_code({"prog", "--bind", "tcp://127.0.0.1:1"}) == 0);
}

TEST_CASE("byte sizes take a plain number or a K/M/G suffix, and refuse anything else") {
    auto parse = [](std::string value, std::size_t& out) {
        CommandLine cli("prog", "test program");
        cli.bytes("max-message-bytes", out, "bound", 1, std::size_t{1} << 32);
        Args a{"prog", "--max-message-bytes", value};
        return cli.try_parse(a.argc(), a.argv()).value_or("");
    };
    std::size_t n = 0;
    CHECK(parse("1048576", n).empty());
    CHECK(n == 1048576);
    CHECK(parse("512K", n).empty());
    CHECK(n == 512 * 1024);
    CHECK(parse("16MiB", n).empty());
    CHECK(n == std::size_t{16} << 20);
    CHECK(parse("2G", n).empty());
    CHECK(n == std::size_t{2} << 30);
    CHECK(parse("16X", n).find("not a size") != std::string::npos);
    CHECK(parse("-1", n).find("not a size") != std::string::npos);
    CHECK(parse("M", n).find("not a size") != std::string::npos);
    CHECK(parse("0", n).find("out of range") != std::string::npos);
    CHECK(parse("8G", n).find("out of range") != std::string::npos);
}
