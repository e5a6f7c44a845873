// Titanic with real processes: mdbroker, titanic, mdworker (echo) and clients over tcp loopback.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <pirates/majordomo/client.hpp>

#include "rig.hpp"
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
using pirates::test::Rig;
using pirates::test::strings;
using pirates::test::Strings;
using pirates::test::TempDir;
namespace fs = std::filesystem;

namespace {}  // namespace

TEST_CASE("titanic: the flags, and the store directory is required") {
    Process help("titanic", {"--help"});
    CHECK(help.wait_exit() == 0);
    CHECK(help.wait_for("--dir"));
    CHECK(help.wait_for("--max-open N"));
    CHECK(help.wait_for("--max-message-bytes BYTES"));
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
                if (r.ok() && r.reply.size() == 2 && equals(r.reply[0], "200")) ++acked;
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

TEST_CASE(
    "titanic --max-open 3: the 4th titanic.request is answered 500, and after a close one is accepted "
    "again") {
    Rig rig;
    rig.start_broker();
    rig.start_titanic({"--max-open", "3"});
    // Every titanic.request goes straight to Titanic only once it is registered: a request the broker queued
    // for a service with no worker yet, answered after the client gave up on it, would be stored as a 4th.
    for (auto service : {"titanic.request", "titanic.close"})
        REQUIRE(eventually(
            [&] {
                auto r = rig.call("mmi.service", {service}, 1000ms, 1);
                return r && *r == Strings{"200"};
            },
            10s));
    // No worker for "echo": the requests stay open (pending).
    std::vector<std::string> uuids;
    for (int i = 0; i < 3; ++i) {
        auto r = rig.call("titanic.request", {"echo", "body " + std::to_string(i)}, 5000ms, 1);
        REQUIRE(r);
        REQUIRE(r->size() == 2);
        CHECK((*r)[0] == "200");
        uuids.push_back((*r)[1]);
    }
    auto refused = rig.call("titanic.request", {"echo", "one too many"}, 5000ms, 1);
    REQUIRE(refused);
    CHECK(*refused == Strings{"500"});
    CHECK(rig.titanic->wait_for("requests are open (--max-open)"));

    auto closed = rig.call("titanic.close", {uuids[0]}, 5000ms, 1);
    REQUIRE(closed);
    CHECK(*closed == Strings{"200"});
    auto again = rig.call("titanic.request", {"echo", "room again"}, 5000ms, 1);
    REQUIRE(again);
    REQUIRE(again->size() == 2);
    CHECK((*again)[0] == "200");
    CHECK((*again)[1].size() == 32);
    CHECK(rig.titanic->wait_for("accepting again"));

    rig.titanic->signal(SIGTERM);
    CHECK(rig.titanic->wait_exit() == 0);
    CHECK(rig.titanic->wait_for("refused (max open) 1 "));
}
