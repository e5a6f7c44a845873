// Majordomo behind a blackholed link: mdbroker, two mdworkers for one service (one reaching the broker through
// the fault proxy), the synchronous Majordomo client in the test counting what it was told.
#include <doctest/doctest.h>

#include <pirates/majordomo/client.hpp>

#include "rig.hpp"

#include <atomic>
#include <csignal>
#include <memory>
#include <thread>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::fault;

namespace {

std::unique_ptr<Process> start_worker(const std::string& broker) {
    return std::make_unique<Process>(
        "mdworker", with({"--connect", broker, "--service", "echo", "--reconnect-ms", "50", "-v"}, timing));
}

}  // namespace

TEST_CASE("majordomo: a worker behind a blackholed link is expired, the other serves, it rejoins on heal") {
    auto broker = std::make_unique<Process>("mdbroker", with({"--bind", "tcp://127.0.0.1:*", "-v"}, timing));
    const auto endpoint = broker->bound_endpoint("broker");
    REQUIRE_FALSE(endpoint.empty());
    FaultProxy link(port_part(endpoint));
    auto far = start_worker(link.endpoint());
    auto near = start_worker(endpoint);
    REQUIRE(eventually([&] { return broker->count(" ready for 'echo'") >= 2; }, slack));

    std::atomic<bool> stop{false}, pause{false}, paused{false};
    std::atomic<int> sent{0}, answered{0}, wrong{0}, gave_up{0}, retries{0};
    std::thread client_thread([&] {
        zmq::context_t context;
        majordomo::ClientOptions options;
        options.connect = endpoint;
        options.timeout = Duration{300};
        options.attempts = 50;
        majordomo::Client client(context, options);
        for (int i = 0; !stop; ++i) {
            paused = pause.load();
            if (paused) {
                std::this_thread::sleep_for(
                    std::chrono::milliseconds(1));  // parked, not waiting for anything
                --i;
                continue;
            }
            const std::string body = "md-" + std::to_string(i);
            ++sent;
            auto outcome = client.request("echo", make_frames({body}));
            if (!outcome)
                ++gave_up;
            else if (outcome.reply.size() == 1 && outcome.reply[0].to_string() == body)
                ++answered;
            else
                ++wrong;
            retries = static_cast<int>(client.stats().retries);
        }
    });
    REQUIRE(eventually([&] { return far->count("request ") >= 2 && near->count("request ") >= 2; }, slack));

    // The broker expires idle workers by heartbeat (a busy 0.1 worker is left to --busy-timeout-ms): drop the
    // link while the client is parked between requests, and resume once the worker has been expired.
    pause = true;
    REQUIRE(eventually([&] { return paused.load(); }, slack));
    link.drop();
    const TimePoint dropped = Clock::now();
    const int answered_at_drop = answered;
    REQUIRE(broker->wait_for(" expired", slack));
    const auto took = std::chrono::duration_cast<Duration>(Clock::now() - dropped);
    pause = false;
    MESSAGE("worker expired " << took.count() << " ms after its link was blackholed (heartbeat x liveness "
                              << expiry.count() << " ms)");
    CHECK(took < expiry + slack);  // the bound with CI's slack: it is not waiting for anything longer
    const std::size_t far_served = far->count("request ");
    CHECK(eventually([&] { return answered >= answered_at_drop + 20; }, slack));
    CHECK(far->count("request ") == far_served);

    link.heal();
    // The worker gave up on the silent broker, reconnects through the healed link and registers again.
    CHECK(eventually([&] { return broker->count(" ready for 'echo'") >= 3; }, slack));
    CHECK(eventually([&] { return far->count("request ") >= far_served + 3; }, slack));
    stop = true;
    client_thread.join();
    MESSAGE("client: " << sent.load() << " sent, " << answered.load() << " answered, " << retries.load()
                       << " retries, " << gave_up.load() << " gave up, " << wrong.load() << " wrong");
    CHECK(wrong == 0);
    CHECK(gave_up == 0);
    CHECK(answered == sent);
    for (auto* p : {far.get(), near.get(), broker.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);
    }
}
