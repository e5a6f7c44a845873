// The Majordomo worker core (7/MDP 0.1 worker side) with a manual clock: READY on each connection, the
// heartbeat schedule, liveness expiry and reconnect back-off, DISCONNECT, malformed input, REQUEST and REPLY
// frames, replies for a replaced connection. Frames written by hand from docs/protocols.md.
#include <doctest/doctest.h>
#include <pirates/majordomo/worker_core.hpp>

#include "support/net.hpp"

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;
using S = std::vector<std::string>;

namespace {

const std::string READY = "\x01", REQUEST = "\x02", REPLY = "\x03", HEARTBEAT = "\x04", DISCONNECT = "\x05";

WorkerOptions options(double jitter = 0.0) {
    WorkerOptions o;
    o.connect = "tcp://127.0.0.1:1";  // never used: the core has no socket
    o.service = "echo";
    o.heartbeat = 100ms;
    o.liveness = 3;
    o.reconnect = BackoffPolicy{200ms, 800ms, jitter};
    return o;
}

Frames from_broker(const S& parts) {
    Frames m;
    for (auto& p : parts) m.add(frame(p));
    return m;
}

// A core and a clock, with what it sent kept as strings.
struct Fixture {
    ManualClock clock;
    WorkerCore core;
    explicit Fixture(WorkerOptions o = options()) : core(std::move(o), clock.now(), 7) {}

    std::vector<S> connected() {
        OutboxVector out;
        core.on_connected(clock.now(), out);
        return take(out);
    }
    struct Tick {
        WorkerCore::Actions actions;
        std::vector<S> sent;
    };
    Tick tick() {
        OutboxVector out;
        auto a = core.tick(clock.now(), out);
        return Tick{a, take(out)};
    }
    std::optional<Request> recv(const S& parts) { return core.on_message(from_broker(parts), clock.now()); }
    static std::vector<S> take(OutboxVector& out) {
        std::vector<S> v;
        for (auto& m : out.take_messages()) v.push_back(strings(m));
        return v;
    }
};

const S ready_echo{"", "MDPW01", READY, "echo"};
const S heartbeat{"", "MDPW01", HEARTBEAT};

}  // namespace

TEST_CASE("worker core: READY for the service on each connection, numbered from 1") {
    Fixture f;
    CHECK(f.core.connection() == 0);
    CHECK(f.connected() == std::vector<S>{ready_echo});
    CHECK(f.core.connection() == 1);
    CHECK(f.core.state() == WorkerCore::State::connected);
    CHECK(f.core.stats().reconnects == 0);
}

TEST_CASE(
    "worker core: silence counts from the READY, not from the core's construction (a slow first socket)") {
    Fixture f;
    f.clock.advance(250ms);  // the driver took that long to open its first socket (libzmq's I/O thread)
    f.connected();
    CHECK(f.core.liveness_left() == 3);
    f.clock.advance(299ms);
    CHECK_FALSE(f.tick().actions.close_socket);
    f.clock.advance(1ms);
    CHECK(f.tick().actions.close_socket);
}

TEST_CASE("worker core: a HEARTBEAT every interval, not moved by traffic from the broker") {
    Fixture f;
    f.connected();
    int sent = 0;
    for (int ms = 0; ms < 1000; ms += 10) {
        f.clock.advance(10ms);
        if (ms % 30 == 0) f.recv(heartbeat);  // a chatty broker does not delay our heartbeats
        auto t = f.tick();
        CHECK_FALSE(t.actions.close_socket);
        CHECK_FALSE(t.actions.open_socket);
        for (auto& m : t.sent) {
            CHECK(m == heartbeat);
            ++sent;
        }
    }
    CHECK(sent == 10);
    CHECK(f.core.stats().heartbeats_sent == 10);
    CHECK(f.core.stats().heartbeats_received == 34);
    CHECK(f.core.stats().expired == 0);
}

TEST_CASE(
    "worker core: silence for liveness x heartbeat closes, the back-off doubles to its cap, then resets") {
    Fixture f;
    f.connected();
    f.clock.advance(299ms);
    auto t = f.tick();
    CHECK_FALSE(t.actions.close_socket);
    CHECK(f.core.liveness_left() == 1);
    CHECK(f.core.next_deadline() == f.clock.now() + 1ms);
    f.clock.advance(1ms);
    t = f.tick();
    REQUIRE(t.actions.close_socket);
    CHECK_FALSE(t.actions.open_socket);
    CHECK(t.actions.reconnect_in == 200ms);
    CHECK(t.sent.empty());
    CHECK(f.core.state() == WorkerCore::State::waiting);
    CHECK(f.core.stats().expired == 1);
    CHECK(f.core.next_deadline() == f.clock.now() + 200ms);
    f.clock.advance(199ms);
    CHECK_FALSE(f.tick().actions.open_socket);
    f.clock.advance(1ms);
    t = f.tick();
    REQUIRE(t.actions.open_socket);
    CHECK_FALSE(t.actions.close_socket);
    CHECK(t.sent.empty());  // READY waits for the new socket: on_connected()
    CHECK(f.connected() == std::vector<S>{ready_echo});
    CHECK(f.core.connection() == 2);
    CHECK(f.core.stats().reconnects == 1);
    CHECK(f.core.liveness_left() == 3);

    std::vector<long> delays;
    for (int i = 0; i < 3; ++i) {
        f.clock.advance(300ms);
        t = f.tick();
        REQUIRE(t.actions.close_socket);
        delays.push_back(t.actions.reconnect_in.count());
        f.clock.advance(t.actions.reconnect_in);
        REQUIRE(f.tick().actions.open_socket);
        f.connected();
    }
    CHECK(delays == std::vector<long>{400, 800, 800});
    // The broker answers: the back-off starts over.
    f.recv(heartbeat);
    CHECK(f.core.next_backoff_base() == 200ms);
    f.clock.advance(300ms);
    CHECK(f.tick().actions.reconnect_in == 200ms);
    CHECK(f.core.stats().expired == 5);
    CHECK(f.core.stats().reconnects == 4);
}

TEST_CASE("worker core: with jitter each delay is in [d x (1 - jitter), d]") {
    Fixture f(options(0.5));
    f.connected();
    long base = 200;
    for (int i = 0; i < 6; ++i) {
        f.clock.advance(300ms);
        auto t = f.tick();
        REQUIRE(t.actions.close_socket);
        CHECK(t.actions.reconnect_in.count() <= base);
        CHECK(t.actions.reconnect_in.count() >= base / 2);
        base = std::min(base * 2, 800L);
        f.clock.advance(t.actions.reconnect_in);
        REQUIRE(f.tick().actions.open_socket);
    }
}

TEST_CASE(
    "worker core: DISCONNECT registers again at once, then with back-off while the broker keeps refusing") {
    Fixture f;
    f.connected();
    f.clock.advance(50ms);
    CHECK_FALSE(f.recv({"", "MDPW01", DISCONNECT}).has_value());
    CHECK(f.core.stats().disconnects == 1);
    CHECK(f.core.disconnect_pending());
    CHECK(f.core.next_deadline() == f.clock.now());  // due now
    // Until the driver acts on it, the old socket's messages are not requests any more.
    CHECK_FALSE(f.recv({"", "MDPW01", REQUEST, "C", "", "late"}).has_value());
    CHECK(f.core.stats().requests == 0);
    auto t = f.tick();
    CHECK(t.actions.close_socket);
    CHECK(t.actions.open_socket);  // at once
    CHECK(t.sent.empty());
    CHECK_FALSE(f.core.disconnect_pending());
    CHECK(f.connected() == std::vector<S>{ready_echo});
    CHECK(f.core.connection() == 2);
    CHECK(f.core.stats().reconnects == 1);
    CHECK(f.core.next_deadline() == f.clock.now() + 100ms);  // a fresh connection: timers from now

    // Refused again with nothing else heard: back off.
    f.recv({"", "MDPW01", DISCONNECT});
    t = f.tick();
    CHECK(t.actions.close_socket);
    CHECK_FALSE(t.actions.open_socket);
    CHECK(t.actions.reconnect_in == 200ms);
    CHECK(f.core.state() == WorkerCore::State::waiting);
    f.clock.advance(200ms);
    REQUIRE(f.tick().actions.open_socket);
    f.connected();
    f.recv({"", "MDPW01", DISCONNECT});
    t = f.tick();
    CHECK(t.actions.reconnect_in == 400ms);
    f.clock.advance(400ms);
    REQUIRE(f.tick().actions.open_socket);
    f.connected();
    // A HEARTBEAT in between: the broker took us back, so the next DISCONNECT is answered at once again.
    f.recv(heartbeat);
    f.recv({"", "MDPW01", DISCONNECT});
    t = f.tick();
    CHECK(t.actions.close_socket);
    CHECK(t.actions.open_socket);
    CHECK(f.core.stats().disconnects == 4);
    CHECK(f.core.stats().reconnects == 4);
    CHECK(f.core.stats().expired == 0);
}

TEST_CASE("worker core: REQUEST parsing, the correlation frame hidden, REPLY frames") {
    Fixture f;
    f.connected();
    auto r = f.recv({"", "MDPW01", REQUEST, "CLIENT", "", "a", "b"});
    REQUIRE(r);
    CHECK(strings(r->body) == S{"a", "b"});
    CHECK(r->client.to_string() == "CLIENT");
    CHECK(r->correlation.size() == 0);
    CHECK(r->connection == 1);
    CHECK(f.core.stats().requests == 1);
    OutboxVector out;
    CHECK(f.core.reply(std::move(*r), make_frames({"x", "y"}), f.clock.now(), out));
    CHECK(Fixture::take(out) == std::vector<S>{S{"", "MDPW01", REPLY, "CLIENT", "", "x", "y"}});

    const std::string corr("\xFFPIRCID\x01\0\0\0\0\0\0\0\x2a", 16);
    r = f.recv({"", "MDPW01", REQUEST, "C2", "", corr, "abc"});
    REQUIRE(r);
    CHECK(strings(r->body) == S{"abc"});
    CHECK(r->correlation.to_string() == corr);
    CHECK(f.core.reply(std::move(*r), Frames{}, f.clock.now(), out));  // empty body: one empty frame
    CHECK(Fixture::take(out) == std::vector<S>{S{"", "MDPW01", REPLY, "C2", "", corr, ""}});

    // A correlation-shaped frame that is the whole body is the body.
    r = f.recv({"", "MDPW01", REQUEST, "C3", "", corr});
    REQUIRE(r);
    CHECK(strings(r->body) == S{corr});
    CHECK(f.core.stats().replies == 2);
}

TEST_CASE(
    "worker core: malformed messages are counted and dropped, they keep liveness but not the back-off") {
    Fixture f;
    f.connected();
    f.clock.advance(300ms);
    REQUIRE(f.tick().actions.close_socket);  // back-off base now 400
    f.clock.advance(200ms);
    REQUIRE(f.tick().actions.open_socket);
    f.connected();
    f.clock.advance(250ms);
    f.tick();
    CHECK(f.core.liveness_left() == 1);
    const std::vector<S> bad = {
        {},                                         // nothing
        {"", "MDPW01"},                             // too short
        {"x", "MDPW01", HEARTBEAT},                 // no empty delimiter
        {"", "MDPW02", HEARTBEAT},                  // another protocol
        {"", "MDPC01", HEARTBEAT},                  // the client protocol
        {"", "MDPW01", "\x04\x04"},                 // two-byte command
        {"", "MDPW01", ""},                         // empty command
        {"", "MDPW01", READY, "echo"},              // READY is for brokers
        {"", "MDPW01", REPLY, "C", "", "x"},        // REPLY too
        {"", "MDPW01", "\x09"},                     // unknown command
        {"", "MDPW01", REQUEST, "C", ""},           // REQUEST without a body
        {"", "MDPW01", REQUEST, "C", "x", "body"},  // REQUEST without the empty frame
    };
    for (auto& m : bad) CHECK_FALSE(f.recv(m).has_value());
    CHECK(f.core.stats().malformed == bad.size());
    CHECK(f.core.stats().requests == 0);
    CHECK(f.core.liveness_left() == 3);          // something is there
    CHECK(f.core.next_backoff_base() == 400ms);  // but not a broker that took us
    CHECK(f.tick().sent.empty());
}

TEST_CASE("worker core: a reply for a connection since replaced, closing, or closed is dropped") {
    Fixture f;
    f.connected();
    OutboxVector out;
    // Replaced: the request came on connection 1, the worker is on 2 after a DISCONNECT.
    auto old = f.recv({"", "MDPW01", REQUEST, "A", "", "1"});
    REQUIRE(old);
    f.recv({"", "MDPW01", DISCONNECT});
    // Closing: the DISCONNECT is not acted on yet.
    auto copy = Request{frame(old->client.to_string_view()), share(old->body), Frame(), old->connection};
    CHECK_FALSE(f.core.reply(std::move(copy), make_frames({"r"}), f.clock.now(), out));
    f.tick();
    f.connected();
    CHECK_FALSE(f.core.reply(std::move(*old), make_frames({"r"}), f.clock.now(), out));
    // Closed: liveness ran out while the request was in hand.
    auto r = f.recv({"", "MDPW01", REQUEST, "B", "", "2"});
    REQUIRE(r);
    CHECK(r->connection == 2);
    f.clock.advance(300ms);
    REQUIRE(f.tick().actions.close_socket);
    CHECK_FALSE(f.core.reply(std::move(*r), make_frames({"r"}), f.clock.now(), out));
    CHECK(out.items.empty());
    CHECK(f.core.stats().unroutable == 3);
    CHECK(f.core.stats().replies == 0);
    // A late message from the closed socket is ignored.
    CHECK_FALSE(f.recv({"", "MDPW01", REQUEST, "C", "", "3"}).has_value());
    CHECK(f.core.stats().requests == 2);
}

TEST_CASE("worker core: time spent handling a request is not the broker's silence") {
    Fixture f;
    f.connected();
    f.clock.advance(50ms);
    auto r = f.recv({"", "MDPW01", REQUEST, "C", "", "slow"});
    REQUIRE(r);
    f.clock.advance(1000ms);  // ten intervals in the handler, no tick meanwhile
    OutboxVector out;
    CHECK(f.core.reply(std::move(*r), make_frames({"done"}), f.clock.now(), out));
    auto t = f.tick();
    CHECK_FALSE(t.actions.close_socket);
    CHECK(t.sent == std::vector<S>{heartbeat});  // one heartbeat, not a burst of the missed ones
    CHECK(f.tick().sent.empty());
    // Unanswered requests too (handled()).
    r = f.recv({"", "MDPW01", REQUEST, "C", "", "dropped"});
    REQUIRE(r);
    f.clock.advance(1000ms);
    f.core.handled(f.clock.now());
    CHECK_FALSE(f.tick().actions.close_socket);
}

TEST_CASE("worker core: on_close says DISCONNECT while connected, nothing while waiting") {
    Fixture f;
    f.connected();
    OutboxVector out;
    f.core.on_close(out);
    CHECK(Fixture::take(out) == std::vector<S>{S{"", "MDPW01", DISCONNECT}});
    f.clock.advance(300ms);
    REQUIRE(f.tick().actions.close_socket);
    f.core.on_close(out);
    CHECK(out.items.empty());
}

TEST_CASE("worker options: `broker` is read when `connect` is empty") {
    WorkerOptions o;
    o.broker = "inproc://old-name";
    CHECK(o.endpoint() == "inproc://old-name");
    o.connect = "inproc://new-name";
    CHECK(o.endpoint() == "inproc://new-name");
    WorkerConfig same = o;  // the former name
    CHECK(same.endpoint() == o.endpoint());
}

TEST_CASE(
    "worker core, 0.2 and majortomo: READY, HEARTBEAT, REQUEST, PARTIAL, FINAL, DISCONNECT in its framing") {
    for (Version v : {Version::v02, Version::majortomo}) {
        const std::string name(version_name(v));
        CAPTURE(name);
        WorkerOptions o = options();
        o.version = v;
        Fixture f(o);
        // Frames from protocols.md: 0.2 has no empty frame before the header, majortomo has one.
        auto framed = [&](S parts) {
            if (v == Version::majortomo) parts.insert(parts.begin(), "");
            return parts;
        };
        CHECK(f.connected() == std::vector<S>{framed({"MDPW02", "\x01", "echo"})});
        f.clock.advance(100ms);
        CHECK(f.tick().sent == std::vector<S>{framed({"MDPW02", "\x05"})});
        // A 0.1 message is malformed to a 0.2 worker.
        CHECK_FALSE(f.recv({"", "MDPW01", "\x02", "C", "", "x"}));
        CHECK(f.core.stats().malformed == 1);
        auto request = f.recv(framed({"MDPW02", "\x02", "C", "", "job"}));
        REQUIRE(request);
        CHECK(strings(request->body) == S{"job"});
        OutboxVector out;
        CHECK(f.core.partial(*request, make_frames({"p1"}), f.clock.now(), out));
        CHECK(f.core.partial(*request, make_frames({"p2"}), f.clock.now(), out));
        CHECK(f.core.reply(std::move(*request), make_frames({"done"}), f.clock.now(), out));
        CHECK(Fixture::take(out) == std::vector<S>{framed({"MDPW02", "\x03", "C", "", "p1"}),
                                                   framed({"MDPW02", "\x03", "C", "", "p2"}),
                                                   framed({"MDPW02", "\x04", "C", "", "done"})});
        CHECK(f.core.stats().partials == 2);
        CHECK(f.core.stats().replies == 1);
        f.core.on_close(out);  // going away: DISCONNECT 0x06
        CHECK(Fixture::take(out) == std::vector<S>{framed({"MDPW02", "\x06"})});
        CHECK_FALSE(f.recv(framed({"MDPW02", "\x06"})));  // DISCONNECT from the broker
        CHECK(f.core.disconnect_pending());
    }
}

TEST_CASE(
    "worker core: no PARTIAL under 0.1, while handling, heartbeats go on and broker silence is not counted") {
    Fixture f;
    f.connected();
    auto request = f.recv({"", "MDPW01", REQUEST, "C", "", "job"});
    REQUIRE(request);
    OutboxVector out;
    CHECK_FALSE(f.core.partial(*request, make_frames({"p"}), f.clock.now(), out));
    CHECK(Fixture::take(out).empty());
    f.core.handling(f.clock.now());
    // 1 s of handling, 10 x heartbeat x liveness: a HEARTBEAT every 100 ms, and the broker is not given up.
    int beats = 0;
    for (int i = 0; i < 100; ++i) {
        f.clock.advance(10ms);
        auto t = f.tick();
        CHECK_FALSE(t.actions.close_socket);
        for (auto& m : t.sent) beats += m == heartbeat ? 1 : 0;
    }
    CHECK(beats == 10);
    CHECK(f.core.reply(std::move(*request), make_frames({"done"}), f.clock.now(), out));
    // Handled: silence counts again.
    f.clock.advance(300ms);
    CHECK(f.tick().actions.close_socket);
}
