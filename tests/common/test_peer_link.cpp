// PeerLink, the heartbeat + liveness + back-off machine of every heartbeating worker, with a manual clock.
#include <doctest/doctest.h>
#include <pirates/common/peer_link.hpp>

using namespace pirates;
using namespace std::chrono_literals;

namespace {
PeerLinkOptions options() {
    PeerLinkOptions o;
    o.heartbeat = 100ms;
    o.liveness = 3;
    o.reconnect = {200ms, 800ms, 0.0};  // no jitter: exact delays
    return o;
}
}  // namespace

TEST_CASE("peer link: a heartbeat every interval, not moved by incoming traffic") {
    ManualClock clock;
    PeerLink link(options(), clock.now());
    CHECK(link.next_deadline() == clock.now() + 100ms);
    clock.advance(50ms);
    link.heard(clock.now());  // traffic does not delay our heartbeat
    clock.advance(50ms);
    auto a = link.tick(clock.now());
    CHECK(a.send_heartbeat);
    CHECK_FALSE(a.close_socket);
    CHECK(link.stats().heartbeats_sent == 1);
    CHECK_FALSE(link.tick(clock.now()).send_heartbeat);  // once per interval
}

TEST_CASE("peer link: liveness silent intervals close the socket, then reopen after a doubling back-off") {
    ManualClock clock;
    PeerLink link(options(), clock.now());
    clock.advance(200ms);
    CHECK_FALSE(link.tick(clock.now()).close_socket);  // 2 silent intervals of 3
    CHECK(link.liveness_left() == 1);
    clock.advance(100ms);
    auto a = link.tick(clock.now());
    REQUIRE(a.close_socket);
    CHECK(a.reconnect_in == 200ms);
    CHECK(link.state() == PeerLink::State::waiting);
    CHECK(link.stats().peer_deaths == 1);
    CHECK(link.next_deadline() == clock.now() + 200ms);
    clock.advance(199ms);
    CHECK_FALSE(link.tick(clock.now()).open_socket);
    clock.advance(1ms);
    CHECK(link.tick(clock.now()).open_socket);
    CHECK(link.connected());
    CHECK(link.liveness_left() == 3);
    // Dead again without hearing anything: the delay doubles, up to the cap.
    clock.advance(300ms);
    CHECK(link.tick(clock.now()).reconnect_in == 400ms);
    clock.advance(400ms);
    CHECK(link.tick(clock.now()).open_socket);
    clock.advance(300ms);
    CHECK(link.tick(clock.now()).reconnect_in == 800ms);
    clock.advance(800ms);
    CHECK(link.tick(clock.now()).open_socket);
    clock.advance(300ms);
    CHECK(link.tick(clock.now()).reconnect_in == 800ms);  // capped
}

TEST_CASE("peer link: hearing the peer restores liveness and resets the back-off, resume() keeps it") {
    ManualClock clock;
    PeerLink link(options(), clock.now());
    clock.advance(300ms);
    REQUIRE(link.tick(clock.now()).close_socket);  // back-off now 400 next
    clock.advance(200ms);
    REQUIRE(link.tick(clock.now()).open_socket);
    CHECK(link.next_backoff_base() == 400ms);
    clock.advance(250ms);
    link.tick(clock.now());
    CHECK(link.liveness_left() == 1);
    link.resume(clock.now());  // our own pause: liveness restored, back-off kept
    CHECK(link.liveness_left() == 3);
    CHECK(link.next_backoff_base() == 400ms);
    link.heard(clock.now());
    CHECK(link.next_backoff_base() == 200ms);
    // A late message from the socket already closed is ignored.
    clock.advance(300ms);
    REQUIRE(link.tick(clock.now()).close_socket);
    link.heard(clock.now());
    CHECK(link.state() == PeerLink::State::waiting);
}

TEST_CASE("peer link: a DISCONNECT from the peer closes at once and reconnects after the back-off") {
    ManualClock clock;
    PeerLink link(options(), clock.now());
    CHECK(link.disconnect(clock.now()) == 200ms);
    CHECK(link.state() == PeerLink::State::waiting);
    CHECK(link.stats().disconnects == 1);
    clock.advance(200ms);
    CHECK(link.tick(clock.now()).open_socket);
    CHECK(link.stats().reconnects == 1);
}

TEST_CASE("peer link: restart() reconnects at once, timers from now, the back-off kept") {
    ManualClock clock;
    PeerLink link(options(), clock.now());
    clock.advance(300ms);
    REQUIRE(link.tick(clock.now()).close_socket);  // back-off now 400 next
    clock.advance(200ms);
    REQUIRE(link.tick(clock.now()).open_socket);
    clock.advance(250ms);
    CHECK_FALSE(link.tick(clock.now()).close_socket);
    CHECK(link.liveness_left() == 1);
    link.restart(clock.now());
    CHECK(link.connected());
    CHECK(link.liveness_left() == 3);
    CHECK(link.next_backoff_base() == 400ms);
    CHECK(link.stats().reconnects == 2);
    CHECK(link.next_deadline() == clock.now() + 100ms);  // heartbeat and silence counted from the restart
    clock.advance(99ms);
    CHECK_FALSE(link.tick(clock.now()).send_heartbeat);
    clock.advance(1ms);
    CHECK(link.tick(clock.now()).send_heartbeat);
    CHECK(link.liveness_left() == 2);
    // From a waiting state too: connected at once, the pending reconnect forgotten.
    CHECK(link.disconnect(clock.now()) == 400ms);
    link.restart(clock.now());
    CHECK(link.connected());
    CHECK(link.next_deadline() == clock.now() + 100ms);
}
