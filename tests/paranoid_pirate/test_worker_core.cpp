// Unit tests of the Paranoid Pirate worker core: heartbeats, liveness, back-off, driven by a manual clock.
#include <doctest/doctest.h>
#include <pirates/paranoid_pirate/worker_core.hpp>

#include "support/net.hpp"

using namespace pirates;
using namespace pirates::paranoid_pirate;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;
using Strings = std::vector<std::string>;

namespace {
WorkerTiming timing(double jitter = 0.0) {
    return WorkerTiming{1000ms, 3, BackoffPolicy{1000ms, 32000ms, jitter}};
}
}  // namespace

TEST_CASE("the worker heartbeats every interval, whatever it hears") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    int sent = 0;
    for (int ms = 0; ms < 5000; ms += 100) {
        clock.advance(100ms);
        w.on_message(make_frames({"\x02"}), clock.now());  // a chatty queue does not delay our heartbeats
        auto a = w.on_tick(clock.now());
        CHECK_FALSE(a.close_socket);
        if (a.send_heartbeat) ++sent;
    }
    CHECK(sent == 5);
    CHECK(w.stats().heartbeats_out == 5);
}

TEST_CASE("liveness: the queue is presumed dead after exactly liveness x interval of silence") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    clock.advance(2999ms);
    auto a = w.on_tick(clock.now());
    CHECK_FALSE(a.close_socket);
    CHECK(w.liveness_left() == 1);
    clock.advance(1ms);
    a = w.on_tick(clock.now());
    CHECK(a.close_socket);
    CHECK(a.reconnect_in == 1000ms);
    CHECK(w.state() == WorkerCore::State::waiting);
    CHECK(w.next_deadline() == clock.now() + 1000ms);
    clock.advance(999ms);
    CHECK_FALSE(w.on_tick(clock.now()).open_socket);
    clock.advance(1ms);
    a = w.on_tick(clock.now());
    CHECK(a.open_socket);
    CHECK(w.state() == WorkerCore::State::connected);
    CHECK(w.liveness_left() == 3);
    CHECK(w.stats().reconnects == 1);
}

TEST_CASE("any message from the queue resets liveness, even an invalid one") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    clock.advance(2500ms);
    w.on_tick(clock.now());
    CHECK(w.liveness_left() == 1);  // two silent intervals counted
    CHECK_FALSE(w.on_message(make_frames({"\x09"}), clock.now()).has_value());
    CHECK(w.liveness_left() == 3);
    CHECK(w.stats().invalid == 1);
    clock.advance(2999ms);
    CHECK_FALSE(w.on_tick(clock.now()).close_socket);
    clock.advance(1ms);
    CHECK(w.on_tick(clock.now()).close_socket);
}

TEST_CASE("back-off doubles after each failed reconnect up to the cap, and resets once the queue answers") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    std::vector<long> delays;
    for (int i = 0; i < 8; ++i) {
        clock.advance(3000ms);  // silence while connected
        auto a = w.on_tick(clock.now());
        REQUIRE(a.close_socket);
        delays.push_back(a.reconnect_in.count());
        clock.advance(a.reconnect_in);
        REQUIRE(w.on_tick(clock.now()).open_socket);
    }
    CHECK(delays == std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000});
    w.on_message(make_frames({"\x02"}), clock.now());  // the queue is back
    CHECK(w.next_backoff_base() == 1000ms);
    clock.advance(3000ms);
    auto a = w.on_tick(clock.now());
    REQUIRE(a.close_socket);
    CHECK(a.reconnect_in == 1000ms);
}

TEST_CASE("with jitter each delay is drawn in [d x (1 - jitter), d] and never above the cap") {
    ManualClock clock;
    WorkerCore w(timing(0.5), clock.now(), 42);
    long base = 1000;
    for (int i = 0; i < 8; ++i) {
        clock.advance(3000ms);
        auto a = w.on_tick(clock.now());
        REQUIRE(a.close_socket);
        CHECK(a.reconnect_in.count() <= base);
        CHECK(a.reconnect_in.count() >= base / 2);
        base = std::min(base * 2, 32000L);
        clock.advance(a.reconnect_in);
        REQUIRE(w.on_tick(clock.now()).open_socket);
    }
}

TEST_CASE("messages from the queue: heartbeat, request, and invalid shapes") {
    using namespace std::string_view_literals;
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    CHECK_FALSE(w.on_message(make_frames({"\x02"}), clock.now()).has_value());
    CHECK(w.stats().heartbeats_in == 1);
    auto r = w.on_message(make_frames({"client", "", "body", "more"}), clock.now());
    REQUIRE(r.has_value());
    CHECK(strings(*r) == Strings{"client", "", "body", "more"});
    CHECK(w.stats().requests == 1);
    std::vector<Frames> bad;
    bad.push_back(make_frames({"\x01"}));         // READY is not for workers
    bad.push_back(make_frames({"\x02\x02"}));     // two bytes
    bad.push_back(make_frames({""}));             // one empty frame
    bad.push_back(make_frames({"c", ""}));        // two frames
    bad.push_back(make_frames({"c", "x", "y"}));  // no empty delimiter
    bad.push_back(make_frames({"", "a", "b"}));   // empty first frame
    bad.push_back(Frames{});                      // nothing
    for (auto& m : bad) CHECK_FALSE(w.on_message(std::move(m), clock.now()).has_value());
    CHECK(w.stats().invalid == 7);
}

TEST_CASE("the reply keeps the request's envelope, multi-hop ones included") {
    auto reply = WorkerCore::make_reply(make_frames({"client", "", "req"}), make_frames({"rep1", "rep2"}));
    CHECK(strings(reply) == Strings{"client", "", "rep1", "rep2"});
    reply = WorkerCore::make_reply(make_frames({"proxy", "client", "", "req"}), make_frames({"rep"}));
    CHECK(strings(reply) == Strings{"proxy", "client", "", "rep"});
    reply = WorkerCore::make_reply(make_frames({"client", "", "req"}), Frames{});
    CHECK(strings(reply) == Strings{"client", "", ""});
}

TEST_CASE("time spent in the handler is not silence: liveness restarts when the worker listens again") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    clock.advance(500ms);
    REQUIRE(w.on_message(make_frames({"c", "", "slow"}), clock.now()).has_value());
    clock.advance(10000ms);  // a long request
    w.handled(clock.now(), true);
    auto a = w.on_tick(clock.now());
    CHECK_FALSE(a.close_socket);
    CHECK(a.send_heartbeat);  // one heartbeat, not a burst of the missed ones
    CHECK_FALSE(w.on_tick(clock.now()).send_heartbeat);
    CHECK(w.stats().replies == 1);
}
