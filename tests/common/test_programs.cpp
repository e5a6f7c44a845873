// Every program answers --version, --help and a bad flag the same way; every server, broker and queue reports
// a bind that fails (port taken, unknown host) with one line naming the endpoint and exit 1, and refuses a
// port out of range as a usage error (exit 2).
#include <doctest/doctest.h>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/version.hpp>
#include <support/net.hpp>
#include <support/process.hpp>

#include <unistd.h>
#include <csignal>
#include <filesystem>
#include <memory>

using namespace pirates;
using namespace pirates::test;

namespace {

const std::vector<std::string> all_programs = {"lpclient", "lpserver",    "spqueue",  "spworker", "ppqueue",
                                               "ppworker", "mdbroker",    "mdclient", "mdworker", "mdadmin",
                                               "titanic",  "ticlient",    "bstarsrv", "bstarcli", "flclient",
                                               "flserver", "bstarwitness"};

// A server started with `endpoint` as the one under test, plus whatever else it needs to start.
struct Server {
    std::string program;
    std::function<std::vector<std::string>(const std::string& endpoint)> args;
};

std::vector<Server> servers(const std::string& dir) {
    const std::string any = "tcp://127.0.0.1:*";
    return {
        {"lpserver",
         [](auto ep) {
             return std::vector<std::string>{"--bind", ep};
         }},
        {"spqueue",
         [any](auto ep) {
             return std::vector<std::string>{"--frontend", ep, "--backend", any};
         }},
        {"ppqueue",
         [any](auto ep) {
             return std::vector<std::string>{"--frontend", any, "--backend", ep};
         }},
        {"mdbroker",
         [](auto ep) {
             return std::vector<std::string>{"--bind", ep};
         }},
        {"bstarsrv",
         [any](auto ep) {
             return std::vector<std::string>{"--primary",   "--frontend",       ep, "--state-pub", any,
                                             "--state-sub", "tcp://127.0.0.1:1"};
         }},
        {"bstarwitness",
         [](auto ep) {
             return std::vector<std::string>{"--bind", ep};
         }},
        {"flserver",
         [](auto ep) {
             return std::vector<std::string>{"--model", "3", "--bind", ep};
         }},
        // Titanic binds nothing: the endpoint it is given is the broker's, to connect to.
        {"titanic",
         [dir](auto ep) {
             return std::vector<std::string>{"--connect", ep, "--dir", dir};
         }},
    };
}

// A program run to its end. Its output is read by another thread, which may be behind when it exits:
// says() waits for a text.
struct Run {
    std::unique_ptr<Process> process;
    int code = -1;
    bool says(const std::string& text) const { return process->wait_for(text, Duration{5000}); }
    std::string output() const { return process->output(); }
};

Run run(const std::string& program, std::vector<std::string> args) {
    Run r{std::make_unique<Process>(program, std::move(args))};
    r.code = r.process->wait_exit(Duration{20000}).value_or(-1);
    return r;
}

std::string scratch_dir() {
    auto dir = std::filesystem::temp_directory_path() / ("pirates-test-programs-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    return dir.string();
}

}  // namespace

TEST_CASE("every program: --version prints its name and version, --help exits 0, a bogus flag exits 2") {
    for (const auto& program : all_programs) {
        CAPTURE(program);
        auto version = run(program, {"--version"});
        CHECK(version.code == 0);
        CHECK(version.says(program + " " + PIRATES_VERSION_STRING + "\n"));
        CHECK(version.output() == program + " " + PIRATES_VERSION_STRING + "\n");
        auto help = run(program, {"--help"});
        CHECK(help.code == 0);
        CHECK(help.says("--version"));
        CHECK(help.says("--config FILE"));
        auto bogus = run(program, {"--no-such-flag"});
        CHECK(bogus.code == 2);
        CHECK(bogus.says(program + ": unknown option '--no-such-flag'"));
    }
}

TEST_CASE("every server: a taken port is exit 1 and a message naming the endpoint") {
    zmq::context_t context;
    auto holder = make_socket(context, zmq::socket_type::router);
    const std::string taken = bind_loopback(holder);
    const std::string dir = scratch_dir();
    for (const auto& s : servers(dir)) {
        if (s.program == "titanic") continue;  // binds nothing
        CAPTURE(s.program);
        auto r = run(s.program, s.args(taken));
        CHECK(r.code == 1);
        CHECK(r.says(s.program + ": cannot bind " + taken + ": Address already in use"));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("every server: an unknown host is exit 1 and a message naming the endpoint") {
    const std::string unknown = "tcp://no-such-host.invalid:5555";
    const std::string dir = scratch_dir();
    for (const auto& s : servers(dir)) {
        if (s.program == "titanic") continue;  // binds nothing
        CAPTURE(s.program);
        auto r = run(s.program, s.args(unknown));
        CHECK(r.code == 1);
        CHECK(r.says(s.program + ": cannot bind " + unknown + ": "));
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("every server: a port out of 1-65535 is a usage error (exit 2) naming the endpoint") {
    const std::string dir = scratch_dir();
    for (const auto& s : servers(dir)) {
        for (std::string bad : {"tcp://127.0.0.1:70000", "tcp://127.0.0.1:0"}) {
            CAPTURE(s.program);
            CAPTURE(bad);
            auto r = run(s.program, s.args(bad));
            CHECK(r.code == 2);
            CHECK(r.says("'" + bad + "' is not an endpoint"));
        }
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("a server given a bad ipc path: exit 1, the endpoint named") {
    const std::string bad = "ipc:///no-such-directory-for-pirates/socket";
    auto r = run("mdbroker", {"--bind", bad});
    CHECK(r.code == 1);
    CHECK(r.says("mdbroker: cannot bind " + bad + ": "));
}

TEST_CASE("a server logs its version in its first line") {
    Process p("mdbroker", {"--bind", "tcp://127.0.0.1:*"});
    REQUIRE_FALSE(p.bound_endpoint("broker").empty());
    auto out = p.output();
    auto first = out.substr(0, out.find('\n'));
    CHECK(first.find(std::string("mdbroker ") + PIRATES_VERSION_STRING + " starting") != std::string::npos);
    p.signal(SIGTERM);
    CHECK(p.wait_exit() == 0);
}

TEST_CASE("--config: a server reads its options from a file, and a flag given too wins") {
    const std::string dir = scratch_dir();
    const std::string config = dir + "/mdbroker.toml";
    {
        std::FILE* f = std::fopen(config.c_str(), "w");
        REQUIRE(f);
        std::fputs("# mdbroker\nbind = \"tcp://127.0.0.1:*\"\nheartbeat-ms = 1234\nsummary-ms = 50\n", f);
        std::fclose(f);
    }
    {
        Process p("mdbroker", {"--config", config, "-v"});
        CHECK_FALSE(p.bound_endpoint("broker").empty());
        p.signal(SIGTERM);
        CHECK(p.wait_exit() == 0);
    }
    {
        // The file's bind is overridden by the flag: a bad endpoint given on the command line wins.
        auto r = run("mdbroker", {"--config", config, "--bind", "tcp://127.0.0.1:70000"});
        CHECK(r.code == 2);
    }
    auto missing = run("mdbroker", {"--config", dir + "/no-such-file.toml"});
    CHECK(missing.code == 2);
    CHECK(missing.says("mdbroker: --config"));
    std::filesystem::remove_all(dir);
}

TEST_CASE("IPv6: lpserver binds tcp://[::1]:* and lpclient connects to it") {
    Process server("lpserver", {"--bind", "tcp://[::1]:*"});
    std::string ep = server.bound_endpoint("server", Duration{5000});
    if (ep.empty()) {
        // No IPv6 loopback on this machine: the bind fails with EADDRNOTAVAIL or ENODEV.
        REQUIRE(server.wait_exit() == 1);
        MESSAGE("skipped: no IPv6 loopback here: " << server.output());
        return;
    }
    CHECK(ep.rfind("tcp://[::1]:", 0) == 0);
    auto client = run("lpclient", {"--connect", ep, "--requests", "3"});
    CHECK(client.code == 0);
    CHECK(client.says("3 ok"));
    server.signal(SIGTERM);
    CHECK(server.wait_exit() == 0);
}
