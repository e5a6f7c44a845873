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

// One tick, the messages it sent kept aside: what the driver would do.
struct Tick {
    WorkerCore::Actions actions;
    std::vector<Strings> sent;
    bool heartbeat() const { return sent == std::vector<Strings>{Strings{"\x02"}}; }
};
Tick tick(WorkerCore& w, TimePoint now) {
    OutboxVector out;
    Tick t{w.tick(now, out), {}};
    for (auto& m : out.take_messages()) t.sent.push_back(strings(m));
    return t;
}
}  // namespace

TEST_CASE("the worker heartbeats every interval, whatever it hears") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    int sent = 0;
    for (int ms = 0; ms < 5000; ms += 100) {
        clock.advance(100ms);
        w.on_message(make_frames({"\x02"}), clock.now());  // a chatty queue does not delay our heartbeats
        auto t = tick(w, clock.now());
        CHECK_FALSE(t.actions.close_socket);
        if (t.heartbeat()) ++sent;
        CHECK((t.sent.empty() || t.heartbeat()));  // nothing else is sent
    }
    CHECK(sent == 5);
    CHECK(w.stats().heartbeats_sent == 5);
}

TEST_CASE("liveness: the queue is presumed dead after exactly liveness x interval of silence") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    clock.advance(2999ms);
    auto a = tick(w, clock.now()).actions;
    CHECK_FALSE(a.close_socket);
    CHECK(w.liveness_left() == 1);
    clock.advance(1ms);
    a = tick(w, clock.now()).actions;
    CHECK(a.close_socket);
    CHECK(a.reconnect_in == 1000ms);
    CHECK(w.state() == WorkerCore::State::waiting);
    CHECK(w.next_deadline() == clock.now() + 1000ms);
    clock.advance(999ms);
    CHECK_FALSE(tick(w, clock.now()).actions.open_socket);
    clock.advance(1ms);
    a = tick(w, clock.now()).actions;
    CHECK(a.open_socket);
    CHECK(w.state() == WorkerCore::State::connected);
    CHECK(w.liveness_left() == 3);
    CHECK(w.stats().reconnects == 1);
}

TEST_CASE("any message from the queue resets liveness, even an invalid one") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    clock.advance(2500ms);
    tick(w, clock.now()).actions;
    CHECK(w.liveness_left() == 1);  // two silent intervals counted
    CHECK_FALSE(w.on_message(make_frames({"\x09"}), clock.now()).has_value());
    CHECK(w.liveness_left() == 3);
    CHECK(w.stats().malformed == 1);
    clock.advance(2999ms);
    CHECK_FALSE(tick(w, clock.now()).actions.close_socket);
    clock.advance(1ms);
    CHECK(tick(w, clock.now()).actions.close_socket);
}

TEST_CASE("back-off doubles after each failed reconnect up to the cap, and resets once the queue answers") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    std::vector<long> delays;
    for (int i = 0; i < 8; ++i) {
        clock.advance(3000ms);  // silence while connected
        auto a = tick(w, clock.now()).actions;
        REQUIRE(a.close_socket);
        delays.push_back(a.reconnect_in.count());
        clock.advance(a.reconnect_in);
        REQUIRE(tick(w, clock.now()).actions.open_socket);
    }
    CHECK(delays == std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000});
    w.on_message(make_frames({"\x02"}), clock.now());  // the queue is back
    CHECK(w.next_backoff_base() == 1000ms);
    clock.advance(3000ms);
    auto a = tick(w, clock.now()).actions;
    REQUIRE(a.close_socket);
    CHECK(a.reconnect_in == 1000ms);
}

TEST_CASE("with jitter each delay is drawn in [d x (1 - jitter), d] and never above the cap") {
    ManualClock clock;
    WorkerCore w(timing(0.5), clock.now(), 42);
    long base = 1000;
    for (int i = 0; i < 8; ++i) {
        clock.advance(3000ms);
        auto a = tick(w, clock.now()).actions;
        REQUIRE(a.close_socket);
        CHECK(a.reconnect_in.count() <= base);
        CHECK(a.reconnect_in.count() >= base / 2);
        base = std::min(base * 2, 32000L);
        clock.advance(a.reconnect_in);
        REQUIRE(tick(w, clock.now()).actions.open_socket);
    }
}

TEST_CASE("messages from the queue: heartbeat, request, and invalid shapes") {
    using namespace std::string_view_literals;
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    CHECK_FALSE(w.on_message(make_frames({"\x02"}), clock.now()).has_value());
    CHECK(w.stats().heartbeats_received == 1);
    auto r = w.on_message(make_frames({"client", "", "body", "more"}), clock.now());
    REQUIRE(r.has_value());
    CHECK(strings(r->envelope) == Strings{"client", ""});
    CHECK(strings(r->body) == Strings{"body", "more"});
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
    CHECK(w.stats().malformed == 7);
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
    auto request = w.on_message(make_frames({"c", "", "slow"}), clock.now());
    REQUIRE(request.has_value());
    clock.advance(10000ms);  // a long request
    OutboxVector out;
    CHECK(w.reply(std::move(*request), make_frames({"done"}), clock.now(), out) == SendResult::sent);
    REQUIRE(out.items.size() == 1);
    CHECK(strings(out.items[0].message) == Strings{"c", "", "done"});
    auto t = tick(w, clock.now());
    CHECK_FALSE(t.actions.close_socket);
    CHECK(t.heartbeat());  // one heartbeat, not a burst of the missed ones
    CHECK(tick(w, clock.now()).sent.empty());
    CHECK(w.stats().replies == 1);

    // Unanswered (the handler returned nothing): the same, nothing sent.
    request = w.on_message(make_frames({"c", "", "dropped"}), clock.now());
    REQUIRE(request.has_value());
    clock.advance(10000ms);
    w.handled(clock.now());
    t = tick(w, clock.now());
    CHECK_FALSE(t.actions.close_socket);
    CHECK(t.heartbeat());
    CHECK(w.stats().replies == 1);
}

TEST_CASE("READY on every connection: the first, and each one the back-off opens") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    OutboxVector out;
    w.on_connected(clock.now(), out);
    REQUIRE(out.items.size() == 1);
    CHECK(strings(out.items[0].message) == Strings{"\x01"});
    clock.advance(3000ms);
    auto t = tick(w, clock.now());
    REQUIRE(t.actions.close_socket);
    CHECK(t.sent.empty());
    CHECK(w.stats().expired == 1);
    clock.advance(t.actions.reconnect_in);
    t = tick(w, clock.now());
    REQUIRE(t.actions.open_socket);
    CHECK_FALSE(t.actions.close_socket);
    CHECK(t.sent.empty());  // READY waits for the socket: on_connected()
    out.items.clear();
    w.on_connected(clock.now(), out);
    REQUIRE(out.items.size() == 1);
    CHECK(strings(out.items[0].message) == Strings{"\x01"});
    CHECK(w.stats().reconnects == 1);
}

TEST_CASE("a reply for a request whose socket has been closed is not sent: unroutable") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    auto request = w.on_message(make_frames({"c", "", "x"}), clock.now());
    REQUIRE(request.has_value());
    clock.advance(3000ms);
    REQUIRE(tick(w, clock.now()).actions.close_socket);  // the driver's caller answered too late
    OutboxVector out;
    CHECK(w.reply(std::move(*request), make_frames({"y"}), clock.now(), out) == SendResult::peer_gone);
    CHECK(out.items.empty());
    CHECK(w.stats().unroutable == 1);
    CHECK(w.stats().replies == 0);
    // And a message arriving late from that socket is ignored.
    CHECK_FALSE(w.on_message(make_frames({"c", "", "late"}), clock.now()).has_value());
    CHECK(w.stats().requests == 1);
}

TEST_CASE("silence counts from the READY, not from the core's construction (a slow first socket)") {
    ManualClock clock;
    WorkerCore w(timing(), clock.now());
    clock.advance(2500ms);  // the driver took that long to open its first socket (libzmq's I/O thread)
    OutboxVector out;
    w.on_connected(clock.now(), out);
    CHECK(w.liveness_left() == 3);
    clock.advance(2999ms);
    CHECK_FALSE(tick(w, clock.now()).actions.close_socket);
    clock.advance(1ms);
    CHECK(tick(w, clock.now()).actions.close_socket);
}
