// A slow network rather than a broken one: a Majordomo worker's link delayed below heartbeat x liveness (not
// expired, keeps serving), a client's link throttled (still completes every request). Binary Star's state
// channel under delay is in test_binary_star.cpp (it shares that file's pair and sampler).
#include <doctest/doctest.h>

#include <pirates/majordomo/client.hpp>

#include "rig.hpp"

#include <csignal>
#include <memory>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::fault;

TEST_CASE("majordomo: a worker link delayed below heartbeat x liveness - never expired, it keeps serving") {
    // Heartbeat 100 ms, liveness 5: expiry after 500 ms of silence. The link holds every byte 100 ms each way:
    // a heartbeat arrives at most 100 + 100 ms after the one before (when the delay begins), well inside 500.
    const std::vector<std::string> slow_timing = {"--heartbeat-ms", "100", "--liveness", "5"};
    constexpr Duration lag{100};
    auto broker =
        std::make_unique<Process>("mdbroker", with({"--bind", "tcp://127.0.0.1:*", "-v"}, slow_timing));
    const auto endpoint = broker->bound_endpoint("broker");
    REQUIRE_FALSE(endpoint.empty());
    FaultProxy link(port_part(endpoint));
    auto far = std::make_unique<Process>(
        "mdworker",
        with({"--connect", link.endpoint(), "--service", "echo", "--reconnect-ms", "50", "-v"}, slow_timing));
    auto near = std::make_unique<Process>(
        "mdworker",
        with({"--connect", endpoint, "--service", "echo", "--reconnect-ms", "50", "-v"}, slow_timing));
    REQUIRE(eventually([&] { return broker->count(" ready for 'echo'") >= 2; }, slack));
    link.delay(lag);

    zmq::context_t context;
    Asker client([&]() -> Asker::Ask {
        majordomo::ClientOptions options;
        options.connect = endpoint;
        options.timeout = Duration{10000};
        options.attempts = 1;
        auto c = std::make_shared<majordomo::Client>(context, options);
        return [c](const std::string& body) { return c->request("echo", make_frames({body})); };
    });
    // Both workers take turns (the broker hands requests to the least recently used idle worker): the delayed
    // one is slower, not gone. Run for 20 heartbeats at least and 10 of its requests.
    const TimePoint start = Clock::now();
    CHECK(eventually([&] { return far->count("request ") >= 10; }, slack));
    CHECK(eventually([&] { return Clock::now() - start >= Duration{2000}; }, slack));
    client.finish();
    client.report();
    const auto c = link.counters();
    MESSAGE("delayed link: " << c.written[0] << " bytes to the broker, " << c.written[1] << " back");
    CHECK(c.dropped[0] + c.dropped[1] == 0);
    CHECK(broker->count(" expired") == 0);
    CHECK(far->count("reconnect") == 0);
    CHECK(client.gave_up == 0);
    CHECK(client.wrong == 0);
    CHECK(client.took(1) == client.sent);
    CHECK(client.answered == client.sent);
    CHECK(client.sent >= 10);
    for (auto* p : {far.get(), near.get(), broker.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);
    }
}

TEST_CASE("majordomo: a client link throttled to 4 KB/s - every request completes, once") {
    auto broker = std::make_unique<Process>("mdbroker", with({"--bind", "tcp://127.0.0.1:*", "-v"},
                                                             {"--heartbeat-ms", std::to_string(heartbeat_ms),
                                                              "--liveness", std::to_string(liveness)}));
    const auto endpoint = broker->bound_endpoint("broker");
    REQUIRE_FALSE(endpoint.empty());
    auto worker = std::make_unique<Process>(
        "mdworker",
        with({"--connect", endpoint, "--service", "echo", "--reconnect-ms", "50", "-v"},
             {"--heartbeat-ms", std::to_string(heartbeat_ms), "--liveness", std::to_string(liveness)}));
    REQUIRE(broker->wait_for(" ready for 'echo'", slack));
    constexpr std::size_t rate = 4000;
    FaultProxy link(port_part(endpoint));
    link.throttle(rate);

    zmq::context_t context;
    majordomo::ClientOptions options;
    options.connect = link.endpoint();
    options.timeout = Duration{10000};
    options.attempts = 1;
    majordomo::Client client(context, options);
    constexpr int requests = 10;
    const std::string padding(400, 'x');
    int answered = 0, first_attempt = 0;
    const TimePoint start = Clock::now();
    for (int i = 0; i < requests; ++i) {
        const std::string body = std::to_string(i) + padding;
        auto r = client.request("echo", make_frames({body}));
        answered += r.ok() && r.reply.size() == 1 && r.reply[0].to_string() == body;
        first_attempt += r.attempts == 1;
    }
    const auto took = std::chrono::duration_cast<Duration>(Clock::now() - start);
    const auto c = link.counters();
    MESSAGE(requests << " requests of " << padding.size() + 1 << " bytes through " << rate << " B/s: "
                     << took.count() << " ms, " << c.written[0] << " bytes up, " << c.written[1] << " down");
    CHECK(answered == requests);
    CHECK(first_attempt == requests);
    CHECK(c.written[0] >= requests * padding.size());
    CHECK(c.written[1] >= requests * padding.size());
    // The throttle held them back (a lower bound, what the fault promises; no upper bound is asserted).
    CHECK(took >= Duration{static_cast<long>(1000 * requests * padding.size() / rate / 2)});
    for (auto* p : {worker.get(), broker.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);
    }
}
