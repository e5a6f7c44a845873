// Titanic with real processes: mdbroker, titanic, mdworker (echo) and clients over tcp loopback.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <pirates/majordomo/client.hpp>

#include "support/net.hpp"
#include "support/process.hpp"
#include "temp_dir.hpp"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace pirates;
using namespace std::chrono_literals;
using pirates::test::eventually;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::strings;
using pirates::test::TempDir;
using Strings = std::vector<std::string>;
namespace fs = std::filesystem;

namespace {

// One broker, one store directory, one titanic (restartable), and clients.
struct Rig {
    TempDir dir;
    zmq::context_t context;
    std::unique_ptr<Process> broker;
    std::unique_ptr<Process> titanic;
    std::string endpoint;

    void start_broker(std::string bind = "tcp://127.0.0.1:*") {
        broker = std::make_unique<Process>("mdbroker",
                                           std::vector<std::string>{"--bind", bind, "--heartbeat-ms", "200"});
        endpoint = broker->bound_endpoint("broker");
        REQUIRE(!endpoint.empty());
    }
    std::string store() const { return dir.sub("store"); }
    void start_titanic(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"--connect",      endpoint, "--dir",          store(),
                                      "--heartbeat-ms", "200",    "--reconnect-ms", "50",
                                      "--retry-ms",     "20",     "--retry-max-ms", "200",
                                      "--timeout-ms",   "1000"};
        args.insert(args.end(), extra.begin(), extra.end());
        titanic = std::make_unique<Process>("titanic", args);
        REQUIRE(titanic->wait_for("serving"));
    }
    std::unique_ptr<Process> start_worker(const std::string& service) {
        return std::make_unique<Process>(
            "mdworker", std::vector<std::string>{"--connect", endpoint, "--service", service,
                                                 "--heartbeat-ms", "200", "--reconnect-ms", "50"});
    }
    // One call through a fresh client (so no late answer of an earlier call can be taken for this one). An
    // MDP reply can be lost (a worker connection counted dead under load): the client resends, as clients
    // should.
    std::optional<Strings> call(std::string_view service, std::initializer_list<std::string_view> body,
                                Duration timeout = 1000ms, int attempts = 3) {
        majordomo::Client client(context, majordomo::ClientConfig{endpoint, timeout, attempts});
        auto r = client.request(service, make_frames(body));
        if (!r.ok()) return std::nullopt;
        return strings(r.body);
    }
    // titanic.request until it answers (Titanic may be registering with the broker still): the uuid.
    std::string submit(std::string_view service, std::string_view body) {
        std::string uuid;
        bool ok = eventually(
            [&] {
                auto r = call("titanic.request", {service, body}, 500ms, 1);
                if (!r || r->size() != 2 || (*r)[0] != "200") return false;
                uuid = (*r)[1];
                return true;
            },
            10s);
        REQUIRE(ok);
        REQUIRE(uuid.size() == 32);
        return uuid;
    }
    // titanic.reply until it says 200: the reply frames (code removed); nullopt on deadline.
    std::optional<Strings> await_reply(const std::string& uuid, Duration deadline = 10s) {
        std::optional<Strings> out;
        eventually(
            [&] {
                auto r = call("titanic.reply", {uuid}, 500ms, 1);
                if (!r || r->empty() || (*r)[0] != "200") return false;
                out = Strings(r->begin() + 1, r->end());
                return true;
            },
            deadline);
        return out;
    }
};

}  // namespace

TEST_CASE("titanic: the flags, and the store directory is required") {
    Process help("titanic", {"--help"});
    CHECK(help.wait_exit() == 0);
    CHECK(help.wait_for("--dir"));
    Process no_dir("titanic", {"--connect", "tcp://127.0.0.1:1"});
    CHECK(no_dir.wait_exit() == 2);
    Process bad("titanic", {"--connect", "tcp://127.0.0.1:1", "--dir", "/tmp/x", "--pool", "zero"});
    CHECK(bad.wait_exit() == 2);
    Process ticlient_help("ticlient", {"--help"});
    CHECK(ticlient_help.wait_exit() == 0);
}

TEST_CASE("titanic: ticlient submits, polls, gets every reply, closes, exits 0") {
    Rig rig;
    rig.start_broker();
    rig.start_titanic();
    auto worker = rig.start_worker("echo");
    Process client("ticlient",
                   {"--connect", rig.endpoint, "--service", "echo", "--requests", "5", "--poll-ms", "50"});
    REQUIRE(client.wait_exit(20s) == 0);
    REQUIRE(client.wait_for("5 of 5 replies received"));  // its last line: all its output has been read
    for (int i = 1; i <= 5; ++i)
        CHECK(client.output().find(fmt::format("[\"Hello world #{}\"]", i)) != std::string::npos);
    rig.titanic->signal(SIGTERM);
    CHECK(rig.titanic->wait_exit() == 0);
    CHECK(rig.titanic->wait_for("requests 5 replies stored 5 closes 5"));
}

TEST_CASE("titanic: store and forward: no worker yet, broker restarted, worker comes later, reply arrives") {
    Rig rig;
    rig.start_broker();
    rig.start_titanic();
    auto uuid = rig.submit("late.service", "parcel");
    CHECK(rig.call("titanic.reply", {uuid}) == Strings{"300"});

    // The broker goes away and comes back on the same endpoint: Titanic's workers register again.
    const std::string endpoint = rig.endpoint;
    rig.broker->kill9();
    rig.broker->wait_exit();
    rig.start_broker(endpoint);
    REQUIRE(rig.endpoint == endpoint);
    CHECK(eventually([&] { return rig.call("titanic.reply", {uuid}, 500ms, 1) == Strings{"300"}; }, 10s));

    auto worker = rig.start_worker("late.service");
    CHECK(rig.await_reply(uuid) == Strings{"parcel"});
    CHECK(rig.call("titanic.close", {uuid}) == Strings{"200"});
    CHECK(rig.call("titanic.reply", {uuid}) == Strings{"400"});
}

TEST_CASE("titanic: hostile input through the broker answers 400, touches no path, and Titanic stays up") {
    Rig rig;
    rig.start_broker();
    rig.start_titanic();
    rig.submit("echo", "warm-up");
    const Strings bad{"",
                      "0123456789ABCDEF0123456789ABCDE",
                      "0123456789ABCDEF0123456789ABCDEF0",
                      "0123456789ABCDEF0123456789ABCDEG",
                      "../../etc/passwd0000000000000000",
                      "../../../../../../../../tmp/x.rep",
                      std::string("0123456789ABCDEF\0"
                                  "123456789ABCDE",
                                  32),
                      "0123456789abcdef0123456789abcde\n"};
    for (const auto& uuid : bad) {
        CAPTURE(uuid);
        CHECK(rig.call("titanic.reply", {uuid}) == Strings{"400"});
        CHECK(rig.call("titanic.close", {uuid}) == Strings{"400"});
    }
    CHECK(rig.call("titanic.reply", {"0123456789ABCDEF0123456789ABCDEF", "extra"}) == Strings{"400"});
    CHECK(rig.call("titanic.request", {"echo"}) == Strings{"400"});      // a service and no request
    CHECK(rig.call("titanic.request", {"", "body"}) == Strings{"400"});  // an empty service name
    // A service nobody offers: stored and pending (it may come later), closable.
    auto uuid = rig.submit("no.such.service", "x");
    CHECK(rig.call("titanic.reply", {uuid}) == Strings{"300"});
    CHECK(rig.call("titanic.close", {uuid}) == Strings{"200"});
    CHECK(rig.call("titanic.reply", {uuid}) == Strings{"400"});
    // Nothing but the log and the lock in the store, nothing created around it.
    std::set<std::string> names;
    for (auto& e : fs::directory_iterator(rig.store())) names.insert(e.path().filename().string());
    CHECK(names == std::set<std::string>{"titanic.log", "titanic.lock"});
    CHECK(std::distance(fs::directory_iterator(rig.dir.path()), fs::directory_iterator()) == 1);
    CHECK(rig.titanic->running());
}

TEST_CASE("titanic: many concurrent clients share fsyncs (group commit through MDP)") {
    Rig rig;
    rig.start_broker();
    rig.start_titanic();
    rig.submit("echo", "warm-up");
    std::atomic<int> acked{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 16; ++c) {
        clients.emplace_back([&, c] {
            majordomo::Client client(rig.context, majordomo::ClientConfig{rig.endpoint, 2000ms, 3});
            for (int i = 0; i < 25; ++i) {
                auto r = client.request("titanic.request", make_frames({"echo", fmt::format("{}-{}", c, i)}));
                if (r.ok() && r.body.size() == 2 && equals(r.body[0], "200")) ++acked;
            }
        });
    }
    for (auto& t : clients) t.join();
    CHECK(acked == 16 * 25);
    rig.titanic->signal(SIGTERM);
    REQUIRE(rig.titanic->wait_exit() == 0);
    REQUIRE(rig.titanic->wait_for("compactions"));  // the end of its last line
    auto out = rig.titanic->output();
    auto at = out.find("largest batch ");
    REQUIRE(at != std::string::npos);
    int largest = std::stoi(out.substr(at + 14));
    CHECK(largest > 1);
}
