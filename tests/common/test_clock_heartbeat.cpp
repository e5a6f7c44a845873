#include <doctest/doctest.h>
#include <pirates/common/clock.hpp>
#include <pirates/common/heartbeat.hpp>

using namespace pirates;
using namespace std::chrono_literals;

TEST_CASE("the manual clock moves only when told") {
    ManualClock clock;
    auto t0 = clock.now();
    CHECK(clock.now() == t0);
    clock.advance(250ms);
    CHECK(clock.now() - t0 == 250ms);
}

TEST_CASE("until() is never negative and rounds up") {
    ManualClock clock;
    auto now = clock.now();
    CHECK(until(now, now - 5ms) == 0ms);
    CHECK(until(now, now + 5ms) == 5ms);
    CHECK(until(now, now + std::chrono::microseconds(1500)) == 2ms);
}

TEST_CASE("heartbeats are due once per interval, not earlier") {
    ManualClock clock;
    HeartbeatTimer hb(1000ms, clock.now());
    CHECK_FALSE(hb.due(clock.now()));
    clock.advance(999ms);
    CHECK_FALSE(hb.due(clock.now()));
    clock.advance(1ms);
    CHECK(hb.due(clock.now()));
    hb.sent(clock.now());
    CHECK_FALSE(hb.due(clock.now()));
    CHECK(hb.next() == clock.now() + 1000ms);
}

TEST_CASE("a late heartbeat keeps the schedule and does not burst after a stall") {
    ManualClock clock;
    HeartbeatTimer hb(100ms, clock.now());
    auto start = clock.now();
    clock.advance(130ms);  // sent 30 ms late
    hb.sent(clock.now());
    CHECK(hb.next() == start + 200ms);  // schedule kept: no drift
    clock.advance(1000ms);              // a long stall
    REQUIRE(hb.due(clock.now()));
    hb.sent(clock.now());
    CHECK_FALSE(hb.due(clock.now()));  // one heartbeat, not ten
    CHECK(hb.next() == clock.now() + 100ms);
}

TEST_CASE("the liveness counter counts silent intervals down and any traffic resets it") {
    LivenessCounter live(3);
    CHECK(live.alive());
    CHECK(live.silent_interval());  // 2 left
    CHECK(live.silent_interval());  // 1 left
    live.heard();
    CHECK(live.left() == 3);
    CHECK(live.silent_interval());
    CHECK(live.silent_interval());
    CHECK_FALSE(live.silent_interval());  // third silent interval: dead
    CHECK_FALSE(live.alive());
    CHECK_FALSE(live.silent_interval());  // stays dead, does not go negative
    CHECK(live.left() == 0);
}

TEST_CASE("a peer expires exactly interval x liveness after it was last heard") {
    ManualClock clock;
    PeerExpiry peer(100ms, 3, clock.now());
    clock.advance(299ms);
    CHECK_FALSE(peer.expired(clock.now()));
    clock.advance(1ms);
    CHECK(peer.expired(clock.now()));
    peer.heard(clock.now());
    CHECK_FALSE(peer.expired(clock.now()));
    CHECK(peer.expiry() == clock.now() + 300ms);
}
