// Workers that vanish (their socket closed, their process killed) against a real mdbroker process, with the
// default heartbeat (2.5 s x 3: heartbeat expiry would take 7.5 s): the broker forgets each within about a
// second (its socket monitor sees the connection close), mmi.service says 404, and a request the worker had
// is served by the next worker of its service without the client resending.
#include <doctest/doctest.h>
#include <pirates/majordomo/client.hpp>

#include "raw_peer.hpp"

#include <atomic>
#include <memory>
#include <thread>

using namespace pirates;
using namespace pirates::test::md;
using namespace std::chrono_literals;
using pirates::test::eventually;
using pirates::test::Process;

namespace {

// Forgotten "within about a second": the monitor path takes milliseconds; 2 s leaves room for a loaded,
// sanitized run and is far below heartbeat expiry (7.5 s with the defaults used here).
constexpr Duration kForgetWithin{2000};

struct Broker {
    Process process;
    std::string ep;
    explicit Broker(std::vector<std::string> extra = {})
        : process("mdbroker", with_defaults(std::move(extra))), ep(process.bound_endpoint("broker")) {
        REQUIRE(!ep.empty());
    }
    static std::vector<std::string> with_defaults(std::vector<std::string> extra) {
        std::vector<std::string> args{"--bind", "tcp://127.0.0.1:*", "-v", "--summary-ms", "50"};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }
};

// Waits until mmi.service for `service` answers `code`; returns how long that took.
std::optional<Duration> mmi_becomes(zmq::socket_t& client, const std::string& service,
                                    const std::string& code, Duration timeout) {
    const auto start = Clock::now();
    if (!eventually([&] { return mmi_service(client, service) == code; }, timeout)) return std::nullopt;
    return std::chrono::duration_cast<Duration>(Clock::now() - start);
}

}  // namespace

TEST_CASE("mdbroker: a worker that vanishes idle is forgotten within a second, mmi.service says 404") {
    Broker broker;
    zmq::context_t ctx;
    auto client = dealer(ctx, broker.ep);
    for (int round = 0; round < 3; ++round) {
        auto w = raw_worker(ctx, broker.ep, "idle-svc");
        REQUIRE(mmi_becomes(client, "idle-svc", "200", 5s));
        w.close();
        auto took = mmi_becomes(client, "idle-svc", "404", kForgetWithin);
        REQUIRE(took);
        MESSAGE("idle worker forgotten after ", took->count(), " ms");
    }
    CHECK(summary_eventually(broker.process, "workers", [](auto n) { return n == 0; }));
    CHECK(summary_eventually(broker.process, "vanished", [](auto n) { return n == 3; }));
    CHECK(stops_cleanly(broker.process));
}

TEST_CASE("mdbroker: a worker that vanishes busy is forgotten, its request is served by the next worker") {
    Broker broker;
    zmq::context_t ctx;
    auto mmi = dealer(ctx, broker.ep);
    auto client = dealer(ctx, broker.ep);

    SUBCASE("the next worker comes after") {
        auto w1 = raw_worker(ctx, broker.ep, "busy-svc");
        REQUIRE(mmi_becomes(mmi, "busy-svc", "200", 5s));
        send(client, {"", "MDPC01", "busy-svc", "payload", "second frame"});  // sent once, never again
        S request = next_not_heartbeat(w1);
        REQUIRE(request.size() == 7);
        CHECK(request[2] == "\x02");
        w1.close();
        auto took = mmi_becomes(mmi, "busy-svc", "404", kForgetWithin);
        REQUIRE(took);
        MESSAGE("busy worker forgotten after ", took->count(), " ms");
        auto w2 = raw_worker(ctx, broker.ep, "busy-svc");
        S again = next_not_heartbeat(w2);
        CHECK(again == request);  // the same client, the same frames
        send(w2, {"", "MDPW01", "\x03", again[3], "", "PAYLOAD"});
        CHECK(next(client) == S{"", "MDPC01", "busy-svc", "PAYLOAD"});
        CHECK(summary_eventually(broker.process, "workers", [](auto n) { return n == 1; }));
    }
    SUBCASE("the next worker is already waiting") {
        auto w1 = raw_worker(ctx, broker.ep, "busy-svc");
        REQUIRE(mmi_becomes(mmi, "busy-svc", "200", 5s));
        send(client, {"", "MDPC01", "busy-svc", "payload"});
        S request = next_not_heartbeat(w1);
        REQUIRE(request.size() == 6);
        auto w2 = raw_worker(ctx, broker.ep, "busy-svc");
        REQUIRE(summary_eventually(broker.process, "workers", [](auto n) { return n == 2; }));
        const auto closed_at = Clock::now();
        w1.close();
        S again = next_not_heartbeat(w2, kForgetWithin);
        const auto took = std::chrono::duration_cast<Duration>(Clock::now() - closed_at);
        REQUIRE(again == request);
        MESSAGE("request handed to the next worker ", took.count(), " ms after the first one vanished");
        send(w2, {"", "MDPW01", "\x03", again[3], "", "PAYLOAD"});
        CHECK(next(client) == S{"", "MDPC01", "busy-svc", "PAYLOAD"});
        CHECK(mmi_service(mmi, "busy-svc") == "200");  // w2 is live
        CHECK(summary_eventually(broker.process, "workers", [](auto n) { return n == 1; }));
    }
    CHECK(summary_eventually(broker.process, "requeued", [](auto n) { return n == 1; }));
    CHECK(stops_cleanly(broker.process));
}

TEST_CASE("mdbroker: a request sent to a worker that has just vanished is served by the next worker") {
    // The worker says READY and closes at once: the broker may read its READY before or after the close,
    // and send it the request before or after; whichever it is, the request must reach the next worker.
    Broker broker;
    zmq::context_t ctx;
    auto client = dealer(ctx, broker.ep);
    constexpr int rounds = 20;
    for (int round = 0; round < rounds; ++round) {
        CAPTURE(round);
        {
            auto w1 = raw_worker(ctx, broker.ep, "svc", 1000);  // linger: READY leaves before the close
        }
        const std::string body = "request " + std::to_string(round);
        send(client, {"", "MDPC01", "svc", body});
        auto w2 = raw_worker(ctx, broker.ep, "svc");
        S request = next_not_heartbeat(w2);
        REQUIRE(request.size() == 6);
        CHECK(request[5] == body);
        send(w2, {"", "MDPW01", "\x03", request[3], "", body});
        REQUIRE(next(client) == S{"", "MDPC01", "svc", body});
        send(w2, {"", "MDPW01", "\x05"});
    }
    // None of them is left behind.
    CHECK(summary_eventually(
        broker.process, "workers", [](auto n) { return n == 0; }, kForgetWithin));
    CHECK(summary_eventually(broker.process, "queued", [](auto n) { return n == 0; }));
    CHECK(mmi_service(client, "svc") == "404");
}

TEST_CASE("mdbroker: --max-services filled by vanished workers does not lock a live worker out") {
    Broker broker({"--max-services", "3"});
    zmq::context_t ctx;
    auto mmi = dealer(ctx, broker.ep);
    auto client = dealer(ctx, broker.ep);
    for (int i = 1; i <= 3; ++i) {
        const std::string svc = "s" + std::to_string(i);
        auto w = raw_worker(ctx, broker.ep, svc);
        send(client, {"", "MDPC01", svc, "job"});  // busy when it vanishes
        REQUIRE(next_not_heartbeat(w).size() == 6);
    }
    // The broker has seen the three connections close when mmi says 404 for each.
    for (int i = 1; i <= 3; ++i) REQUIRE(mmi_becomes(mmi, "s" + std::to_string(i), "404", kForgetWithin));
    REQUIRE(summary_eventually(broker.process, "workers", [](auto n) { return n == 0; }));
    // A live worker registers a fourth service: it is not sent DISCONNECT, and mmi knows it.
    auto live = raw_worker(ctx, broker.ep, "s4");
    CHECK(mmi_becomes(mmi, "s4", "200", 5s));
    CHECK(summary_eventually(broker.process, "service-limit", [](auto n) { return n == 0; }));
    CHECK(summary_eventually(broker.process, "evicted", [](auto n) { return n == 1; }));  // s1's request
    CHECK(next(live, 100ms) != S{"", "MDPW01", "\x05"});
    CHECK(stops_cleanly(broker.process));  // with the vanished workers' requests still queued
}

TEST_CASE("mdbroker: a frame above --max-message-bytes drops its sender's connection and nothing else") {
    Broker broker({"--max-message-bytes", "1M"});
    zmq::context_t ctx;
    auto mmi = dealer(ctx, broker.ep);
    auto worker = raw_worker(ctx, broker.ep, "echo");
    REQUIRE(mmi_becomes(mmi, "echo", "200", 5s));
    REQUIRE(summary_eventually(broker.process, "connections", [](auto n) { return n == 2; }));
    const auto closed_before = summary_value(broker.process, "closed").value_or(0);

    auto big = dealer(ctx, broker.ep);
    send(big, {"", "MDPC01", "echo", std::string(std::size_t{2} << 20, 'x')});
    CHECK(summary_eventually(broker.process, "closed", [&](auto n) { return n == closed_before + 1; }));

    // The worker is still registered, never saw the big request, and serves the next client.
    auto client = dealer(ctx, broker.ep);
    send(client, {"", "MDPC01", "echo", "small"});
    S request = next_not_heartbeat(worker);
    REQUIRE(request.size() == 6);
    CHECK(request[5] == "small");
    send(worker, {"", "MDPW01", "\x03", request[3], "", "SMALL"});
    CHECK(next(client) == S{"", "MDPC01", "echo", "SMALL"});
    CHECK(summary_eventually(broker.process, "workers", [](auto n) { return n == 1; }));
    // One just under the limit passes.
    send(client, {"", "MDPC01", "echo", std::string((std::size_t{1} << 20) - 64, 'y')});
    request = next_not_heartbeat(worker);
    REQUIRE(request.size() == 6);
    CHECK(request[5].size() == (std::size_t{1} << 20) - 64);
}

TEST_CASE("mdbroker churn soak: mdworkers killed -9 while busy leave no worker and no memory behind") {
    Broker broker({"--heartbeat-ms", "200"});
    auto worker = [&](std::vector<std::string> extra) {
        std::vector<std::string> args{"--connect", broker.ep, "--service", "soak", "--heartbeat-ms", "200"};
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<Process>("mdworker", args);
    };
    auto good1 = worker({});
    auto good2 = worker({});
    REQUIRE(summary_eventually(broker.process, "workers", [](auto n) { return n == 2; }));

    // One client, one request at a time, never giving up within the test (retries after 3 s).
    zmq::context_t ctx;
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0}, failed{0};
    std::thread client_thread([&] {
        majordomo::Client client(ctx, majordomo::ClientConfig{broker.ep, 3000ms, 3});
        for (int n = 0; !stop; ++n) {
            auto r = client.request("soak", pirates::test::make_frames({"job " + std::to_string(n)}));
            (r.ok() ? ok : failed)++;
        }
    });
    REQUIRE(eventually([&] { return ok >= 100; }, 10s));
    const std::size_t warm_rss = broker.process.rss_bytes();

    // Rounds: two workers that answer one request and hang on the next (busy, silent), each killed -9 as
    // soon as it hangs (the client waits for the hung request: the kill is what gives it back).
    constexpr int rounds = 12;
    const auto soak_start = Clock::now();
    for (int round = 0; round < rounds; ++round) {
        CAPTURE(round);
        auto a = worker({"--hang-after", "1"});
        auto b = worker({"--hang-after", "1"});
        for (auto* w : {a.get(), b.get()}) {
            REQUIRE(w->wait_for("simulating a hang", 10s));
            w->kill9();
            REQUIRE(w->wait_exit(5s));
        }
    }
    MESSAGE((rounds * 2), " workers killed busy in ",
            std::chrono::duration_cast<Duration>(Clock::now() - soak_start).count(), " ms");
    // The client got every answer (the hung requests were served by the good workers).
    const int served_before = ok;
    REQUIRE(eventually([&] { return ok >= served_before + 20; }, 10s));
    stop = true;
    client_thread.join();
    CHECK(failed == 0);

    // The broker's worker count is the live workers, at once (no heartbeat expiry of busy workers exists
    // with the default --busy-timeout-ms 0).
    CHECK(summary_eventually(
        broker.process, "workers", [](auto n) { return n == 2; }, kForgetWithin));
    CHECK(summary_eventually(broker.process, "queued", [](auto n) { return n == 0; }));
    CHECK(summary_eventually(broker.process, "requeued", [](auto n) { return n >= 2 * rounds; }));
    // (Workers whose connection closes are not the hung workers --max-redeliveries counts.)
    CHECK(summary_value(broker.process, "redelivery-drops") == 0u);
    const std::size_t end_rss = broker.process.rss_bytes();
    MESSAGE("broker RSS warm ", warm_rss / 1024, " KiB, after ", (rounds * 2), " workers killed busy ",
            end_rss / 1024, " KiB; ", ok.load(), " requests served");
    // 4 MiB: allocator noise (hash buckets, log buffers); 2 leaked workers would not show, the count does.
    if (rss_is_meaningful) CHECK(end_rss <= warm_rss + (std::size_t{4} << 20));
}
