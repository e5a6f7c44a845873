// The Reactor and wait_readable() against the real clock. Every other reactor test drives a ManualClock, so
// none of them would notice a poll that waits in the wrong unit, ignores the next timer, or wakes and spins
// before a deadline. These check, on the steady clock: nothing fires early, the loop sleeps until the next
// timer instead of spinning, and it does not sleep past a due timer for the whole poll slice. The upper bounds
// are loose (seconds) so that a loaded machine does not fail them: they catch a wait of the wrong kind, not a
// slow one.
#include <doctest/doctest.h>
#include <pirates/common/reactor.hpp>
#include <pirates/common/stop.hpp>

#include <atomic>
#include <thread>

using namespace pirates;
using namespace std::chrono_literals;

namespace {

const ClockSource& real_clock() {
    return steady_clock();
}

}  // namespace

TEST_CASE("real clock: a timer fires no earlier than its delay, and the loop sleeps (not spins) until then") {
    Reactor r(real_clock());
    r.max_poll = 10s;  // a poll that ignored the timer would sleep this long
    bool fired = false;
    const TimePoint start = real_clock().now();
    r.add_timer(40ms, [&] { fired = true; });
    int turns = 0;
    while (!fired && turns < 1000) {
        r.run_once(10s);
        ++turns;
    }
    const auto elapsed = real_clock().now() - start;
    CHECK(fired);
    CHECK(elapsed >= 40ms);
    CHECK(elapsed < 5s);  // woke for the timer, not at the end of the 10 s poll
    CHECK(turns <= 3);    // a poll rounded down to 0 ms would spin hundreds of turns
}

TEST_CASE("real clock: a repeating timer never runs ahead of its period and does not busy-loop") {
    Reactor r(real_clock());
    r.max_poll = 10s;
    const TimePoint start = real_clock().now();
    std::vector<TimePoint> fires;
    r.add_repeating(20ms, [&] { fires.push_back(real_clock().now()); });
    int turns = 0;
    while (fires.size() < 8 && turns < 10000) {
        r.run_once(10s);
        ++turns;
    }
    REQUIRE(fires.size() == 8);
    for (std::size_t k = 0; k < fires.size(); ++k) {
        CAPTURE(k);
        CHECK(fires[k] - start >= (k + 1) * 20ms);  // the k-th fire, never before k+1 periods
    }
    CHECK(turns <= 3 * 8);
}

TEST_CASE(
    "real clock: wait_readable times out no earlier than its deadline, and returns at once for a message") {
    zmq::context_t context;
    zmq::socket_t in(context, zmq::socket_type::pair), out(context, zmq::socket_type::pair);
    in.bind("inproc://realtime-wait");
    out.connect("inproc://realtime-wait");
    StopSource stop;
    TimePoint start = real_clock().now();
    CHECK(wait_readable(in, start + 30ms, real_clock(), stop, 10s) == WaitResult::timeout);
    CHECK(real_clock().now() - start >= 30ms);
    CHECK(real_clock().now() - start < 5s);

    out.send(zmq::str_buffer("x"), zmq::send_flags::none);
    start = real_clock().now();
    CHECK(wait_readable(in, start + 20s, real_clock(), stop, 10s) == WaitResult::ready);
    CHECK(real_clock().now() - start < 5s);
}

TEST_CASE(
    "real clock: request_stop() from another thread ends run() within a poll slice, not at the next timer") {
    Reactor r(real_clock());
    r.max_poll = 100ms;
    std::atomic<int> turns{0};
    r.add_repeating(5ms, [&] { ++turns; });
    r.add_timer(60s, [] {});  // a far timer the loop must not wait for
    std::atomic<bool> returned{false};
    std::thread loop([&] {
        r.run();
        returned = true;
    });
    // Once the loop is turning, stop it from here.
    const TimePoint give_up = real_clock().now() + 20s;
    while (turns.load() < 2 && real_clock().now() < give_up) std::this_thread::yield();
    REQUIRE(turns.load() >= 2);
    const TimePoint asked = real_clock().now();
    r.request_stop();
    while (!returned && real_clock().now() < asked + 20s) std::this_thread::yield();
    CHECK(returned);
    CHECK(real_clock().now() - asked < 5s);
    loop.join();
}
