#include <doctest/doctest.h>
#include <pirates/common/cli.hpp>

#include <pirates/version.hpp>

#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>

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
    CHECK_FALSE(error_of({"prog", "--bind", "tcp://x:1", "--async=maybe"}).empty());
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

TEST_CASE("every error is reported at once: bad values, unknown options and every missing required option") {
    CommandLine cli("prog", "test program");
    std::string a, b;
    int n = 1;
    Duration d{100};
    cli.endpoint("a", a, "first", true)
        .endpoint("b", b, "second", true)
        .integer("n", n, "count", 1, 10)
        .millis("d-ms", d, "interval");
    Args args{"prog", "--n", "99", "--d-ms", "x", "--nope"};
    auto err = cli.try_parse(args.argc(), args.argv()).value_or("");
    CHECK(err.find("--n: 99 is out of range") != std::string::npos);
    CHECK(err.find("--d-ms: 'x' is not a number") != std::string::npos);
    CHECK(err.find("unknown option '--nope'") != std::string::npos);
    CHECK(err.find("missing required option '--a'") != std::string::npos);
    CHECK(err.find("missing required option '--b'") != std::string::npos);
    CHECK(std::count(err.begin(), err.end(), '\n') == 4);  // one line each
}

TEST_CASE("usage() shows each default from the variable itself, and nothing for a required option") {
    CommandLine cli("prog", "test program");
    std::string bind, body = "hello";
    int n = 7, sentinel = 0;
    Duration d{2500};
    std::size_t size = std::size_t{16} << 20;
    cli.endpoint("bind", bind, "where", true)
        .text("body", body, "request body")
        .integer("n", n, "count", 1)
        .integer("limit", sentinel, "a limit (0: model default)", 1)
        .millis("heartbeat-ms", d, "interval")
        .bytes("max-message-bytes", size, "largest frame");
    auto u = cli.usage();
    CHECK(u.find("where (required)") != std::string::npos);
    CHECK(u.find("request body (default hello)") != std::string::npos);
    CHECK(u.find("count (default 7)") != std::string::npos);
    CHECK(u.find("a limit (0: model default)\n") != std::string::npos);  // out of range: not a default
    CHECK(u.find("interval (default 2500)") != std::string::npos);
    CHECK(u.find("largest frame (default 16M)") != std::string::npos);
}

TEST_CASE("an alias is a second name for an option, on the command line and in usage") {
    CommandLine cli("prog", "test program");
    int retries = 3;
    cli.integer("retries", retries, "attempts per request", 1).alias("attempts");
    Args a{"prog", "--attempts", "5"};
    REQUIRE_FALSE(cli.try_parse(a.argc(), a.argv()));
    CHECK(retries == 5);
    CHECK(cli.usage().find("--retries, --attempts N") != std::string::npos);
}

TEST_CASE("--version is seen whatever else is wrong") {
    Options o;
    Args a{"prog", "--version", "--bogus"};
    CHECK_FALSE(o.cli.try_parse(a.argc(), a.argv()));
    CHECK(o.cli.version_requested());
}

namespace {
struct ConfigFile {
    std::string path;
    explicit ConfigFile(const std::string& text)
        : path((std::filesystem::temp_directory_path() /
                ("pirates-test-cli-" + std::to_string(getpid()) + ".toml"))
                   .string()) {
        std::FILE* f = std::fopen(path.c_str(), "w");
        std::fputs(text.c_str(), f);
        std::fclose(f);
    }
    ~ConfigFile() { std::remove(path.c_str()); }
};
}  // namespace

TEST_CASE("--config reads the long flag names from a file, and a flag on the command line overrides it") {
    ConfigFile file(
        "# a comment\nbind = \"ipc:///tmp/from-config\"\nrequests = 5\nheartbeat-ms = 40\nasync = true\n");
    {
        Options o;
        Args a{"prog", "--config", file.path};
        REQUIRE_FALSE(o.cli.try_parse(a.argc(), a.argv()));
        CHECK(o.bind == "ipc:///tmp/from-config");
        CHECK(o.requests == 5);
        CHECK(o.heartbeat == 40ms);
        CHECK(o.async);
    }
    {
        Options o;
        Args a{"prog", "--requests", "9", "--config", file.path};
        REQUIRE_FALSE(o.cli.try_parse(a.argc(), a.argv()));
        CHECK(o.requests == 9);
        CHECK(o.heartbeat == 40ms);
    }
}

TEST_CASE("--config: a missing file, an unknown key or a bad value is an error") {
    auto error_of = [](std::string path) {
        Options o;
        Args a{"prog", "--bind", "tcp://127.0.0.1:1", "--config", path};
        return o.cli.try_parse(a.argc(), a.argv()).value_or("");
    };
    CHECK(error_of("/no/such/file.toml").find("--config") != std::string::npos);
    {
        ConfigFile file("heartbeat-msec = 40\n");
        CHECK(error_of(file.path).find("'heartbeat-msec' is not an option") != std::string::npos);
    }
    {
        ConfigFile file("[prog]\nrequests = 5\n");
        CHECK(error_of(file.path).find("'prog' is not an option") != std::string::npos);
    }
    {
        ConfigFile file("requests = many\n");
        CHECK(error_of(file.path).find("'many' is not an integer") != std::string::npos);
    }
    {
        ConfigFile file("this is not toml\n");
        CHECK_FALSE(error_of(file.path).empty());
    }
}

TEST_CASE(
    "positionals(): words that are not options are collected in order; options still parse around them") {
    std::string ep;
    bool json = false;
    std::vector<std::string> words;
    CommandLine cli("prog", "test");
    cli.endpoint("connect", ep, "broker", true)
        .flag("json", json, "json")
        .positionals("COMMAND [NAME]", words, "what to do");
    Args a{"prog", "workers", "--connect", "tcp://x:1", "echo", "--json"};
    CHECK_FALSE(cli.try_parse(a.argc(), a.argv()));
    CHECK(words == std::vector<std::string>{"workers", "echo"});
    CHECK(json);
    CHECK(cli.usage().find("Usage: prog [options] COMMAND [NAME]") != std::string::npos);
    // An unknown option is still an error, and the word after it is taken as its value, not a positional.
    Args b{"prog", "--connect", "tcp://x:1", "--nope", "x", "stats"};
    auto err = cli.try_parse(b.argc(), b.argv());
    REQUIRE(err);
    CHECK(err->find("unknown option '--nope'") != std::string::npos);
    CHECK(words == std::vector<std::string>{"stats"});
}
