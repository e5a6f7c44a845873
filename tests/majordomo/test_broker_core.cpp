// Unit tests of the broker core: every rule of 7/MDP 0.1 and 8/MMI, every class of malformed input, driven by
// a manual clock. Messages are written here frame by frame from docs/protocols.md, not built with our encoder.
#include <doctest/doctest.h>
#include <pirates/common/outbox.hpp>
#include <pirates/majordomo/broker_core.hpp>

#include "support/net.hpp"

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;
using S = std::vector<std::string>;

namespace {

using Messages = std::vector<Frames>;

// The core's inputs with an OutboxVector, returning what it sent.
Messages on_message(BrokerCore& core, Frames&& message, TimePoint now) {
    OutboxVector out;
    core.on_message(std::move(message), now, out);
    return out.take_messages();
}
Messages tick(BrokerCore& core, TimePoint now) {
    OutboxVector out;
    core.tick(now, out);
    return out.take_messages();
}

// An Outbox that keeps the messages and refuses those to an identity in `gone` (peer_gone) or `full`
// (would_block), leaving them untouched, as a ROUTER_MANDATORY socket does.
class RefusingOutbox final : public Outbox {
  public:
    std::vector<Frames> messages;
    std::vector<std::string> gone, full;
    SendResult send(Frames& message, Channel) override {
        std::string_view to = message.empty() ? std::string_view{} : message[0].to_string_view();
        for (const auto& g : gone)
            if (g == to) return SendResult::peer_gone;
        for (const auto& f : full)
            if (f == to) return SendResult::would_block;
        messages.push_back(std::move(message));
        return SendResult::sent;
    }
};

const std::string READY = "\x01", REQUEST = "\x02", REPLY = "\x03", HEARTBEAT = "\x04", DISCONNECT = "\x05";

struct Fixture {
    ManualClock clock;
    BrokerCore core;
    explicit Fixture(BrokerConfig c = {Duration{100}, 3, 10000, 10000}) : core(c) {}

    std::vector<S> send(std::initializer_list<std::string_view> parts) {
        auto out = on_message(core, make_frames(parts), clock.now());
        return all(out);
    }
    std::vector<S> tick() { return all(::tick(core, clock.now())); }
    static std::vector<S> all(const Messages& out) {
        std::vector<S> v;
        for (const auto& m : out) v.push_back(strings(m));
        return v;
    }
    void ready(std::string_view w, std::string_view service) {
        auto out = send({w, "", "MDPW01", READY, service});
        REQUIRE(core.worker(w));
    }
    void check() { CHECK(core.check_invariants() == ""); }
};

S disconnect_to(const std::string& w) {
    return {w, "", "MDPW01", DISCONNECT};
}
S heartbeat_to(const std::string& w) {
    return {w, "", "MDPW01", HEARTBEAT};
}

}  // namespace

TEST_CASE("READY registers an idle worker, a request goes to it, its REPLY goes back to the client") {
    Fixture f;
    CHECK(f.send({"W1", "", "MDPW01", READY, "echo"}).empty());
    CHECK(f.core.worker_count() == 1);
    CHECK(f.core.worker("W1")->idle);
    CHECK(f.core.service("echo")->workers == 1);
    f.check();

    auto out = f.send({"C1", "", "MDPC01", "echo", "hello", "world"});
    REQUIRE(out.size() == 1);
    CHECK(out[0] == S{"W1", "", "MDPW01", REQUEST, "C1", "", "hello", "world"});
    CHECK_FALSE(f.core.worker("W1")->idle);
    f.check();

    out = f.send({"W1", "", "MDPW01", REPLY, "C1", "", "HELLO", "WORLD"});
    REQUIRE(out.size() == 1);
    CHECK(out[0] == S{"C1", "", "MDPC01", "echo", "HELLO", "WORLD"});
    CHECK(f.core.worker("W1")->idle);
    CHECK(f.core.stats().replies == 1);
    f.check();
}

TEST_CASE("requests wait on their service until a worker comes, the oldest goes first") {
    Fixture f;
    CHECK(f.send({"C1", "", "MDPC01", "echo", "one"}).empty());
    CHECK(f.send({"C2", "", "MDPC01", "echo", "two"}).empty());
    CHECK(f.core.queued_count() == 2);
    CHECK(f.core.service("echo")->workers == 0);
    f.check();
    auto out = f.send({"W1", "", "MDPW01", READY, "echo"});
    REQUIRE(out.size() == 1);
    CHECK(out[0] == S{"W1", "", "MDPW01", REQUEST, "C1", "", "one"});
    out = f.send({"W1", "", "MDPW01", REPLY, "C1", "", "one"});
    REQUIRE(out.size() == 2);
    CHECK(out[0] == S{"C1", "", "MDPC01", "echo", "one"});
    CHECK(out[1] == S{"W1", "", "MDPW01", REQUEST, "C2", "", "two"});
    CHECK(f.core.queued_count() == 0);
    f.check();
}

TEST_CASE("idle workers are used least recently used first") {
    Fixture f;
    f.ready("W1", "echo");
    f.ready("W2", "echo");
    f.ready("W3", "echo");
    auto out = f.send({"C", "", "MDPC01", "echo", "a"});
    CHECK(out[0][0] == "W1");
    out = f.send({"C", "", "MDPC01", "echo", "b"});
    CHECK(out[0][0] == "W2");
    f.send({"W1", "", "MDPW01", REPLY, "C", "", "a"});  // W1 idle again, behind W3
    out = f.send({"C", "", "MDPC01", "echo", "c"});
    CHECK(out[0][0] == "W3");
    out = f.send({"C", "", "MDPC01", "echo", "d"});
    CHECK(out[0][0] == "W1");
    f.check();
}

TEST_CASE("several services at once are independent") {
    Fixture f;
    f.ready("WA", "alpha");
    f.ready("WB", "beta");
    auto out = f.send({"C", "", "MDPC01", "beta", "x"});
    CHECK(out[0][0] == "WB");
    out = f.send({"C", "", "MDPC01", "beta", "y"});
    CHECK(out.empty());  // beta's only worker is busy; alpha's worker is not used
    CHECK(f.core.service("beta")->queued == 1);
    out = f.send({"C", "", "MDPC01", "alpha", "z"});
    CHECK(out[0][0] == "WA");
    out = f.send({"WB", "", "MDPW01", REPLY, "C", "", "x"});
    REQUIRE(out.size() == 2);
    CHECK(out[0] == S{"C", "", "MDPC01", "beta", "x"});
    CHECK(out[1] == S{"WB", "", "MDPW01", REQUEST, "C", "", "y"});
    f.check();
}

TEST_CASE("a second READY from a known worker: DISCONNECT, and the worker is forgotten everywhere") {
    Fixture f;
    f.ready("W1", "echo");
    auto out = f.send({"W1", "", "MDPW01", READY, "echo"});
    REQUIRE(out.size() == 1);
    CHECK(out[0] == disconnect_to("W1"));
    CHECK_FALSE(f.core.worker("W1"));
    CHECK(f.core.worker_count() == 0);
    CHECK(f.core.idle_count() == 0);
    CHECK_FALSE(f.core.service("echo"));  // no workers, nothing queued: gone
    CHECK(f.core.stats().protocol_errors == 1);
    f.check();
    // Nothing left to purge or heartbeat later.
    f.clock.advance(10s);
    CHECK(f.tick().empty());
}

TEST_CASE("a second READY from a busy worker forgets it and keeps the service's queue") {
    Fixture f;
    f.ready("W1", "echo");
    f.send({"C1", "", "MDPC01", "echo", "a"});
    f.send({"C2", "", "MDPC01", "echo", "b"});
    auto out = f.send({"W1", "", "MDPW01", READY, "other"});
    CHECK(out == std::vector<S>{disconnect_to("W1")});
    CHECK(f.core.service("echo")->queued == 2);  // W1's request given back, in front of "b"
    CHECK(f.core.stats().requests_requeued == 1);
    f.check();
    out = f.send({"W2", "", "MDPW01", READY, "echo"});
    CHECK(out == std::vector<S>{{"W2", "", "MDPW01", REQUEST, "C1", "", "a"}});
    f.check();
}

TEST_CASE("READY for an mmi.* service is refused by its service frame, without creating a service") {
    Fixture f;
    for (std::string_view name : {"mmi.service", "mmi.", "mmi.anything"}) {
        auto out = f.send({"W1", "", "MDPW01", READY, name});
        CHECK(out == std::vector<S>{disconnect_to("W1")});
        CHECK_FALSE(f.core.worker("W1"));
        CHECK(f.core.service_count() == 0);
    }
    // The test is a prefix test on the service name, not on the identity and not a substring search.
    f.ready("mmi.identity", "echo");
    f.ready("W2", "mmi");
    f.ready("W3", "mmix");
    f.ready("W4", "xmmi.service");
    CHECK(f.core.worker_count() == 4);
    CHECK(f.core.stats().protocol_errors == 3);
    f.check();
}

TEST_CASE("REPLY or HEARTBEAT from an unknown worker: DISCONNECT, nothing forwarded, nothing created") {
    Fixture f;
    auto out = f.send({"W9", "", "MDPW01", REPLY, "C1", "", "body"});
    CHECK(out == std::vector<S>{disconnect_to("W9")});
    out = f.send({"W9", "", "MDPW01", HEARTBEAT});
    CHECK(out == std::vector<S>{disconnect_to("W9")});
    CHECK(f.core.worker_count() == 0);
    CHECK(f.core.service_count() == 0);
    CHECK(f.core.stats().protocol_errors == 2);
    CHECK(f.core.stats().replies == 0);
    f.check();
}

TEST_CASE("DISCONNECT from an idle worker: forgotten, nothing sent, and later purges do not trip on it") {
    Fixture f;
    f.ready("W1", "echo");
    f.ready("W2", "echo");
    CHECK(f.send({"W1", "", "MDPW01", DISCONNECT}).empty());
    CHECK_FALSE(f.core.worker("W1"));
    CHECK(f.core.idle_count() == 1);
    CHECK(f.core.service("echo")->workers == 1);
    CHECK(f.core.expiry_order() == S{"W2"});
    f.check();
    // The Python broker's bug: the worker left the idle list but stayed in the expiry list.
    f.clock.advance(1s);
    auto out = f.tick();
    for (const auto& m : out) CHECK(m[0] != "W1");
    f.check();
    CHECK(f.core.worker_count() == 0);  // W2 expired in that second: DISCONNECT to W2 only
}

TEST_CASE("DISCONNECT from a busy worker: forgotten, its request back at the front, its service stays") {
    Fixture f;
    f.ready("W1", "echo");
    f.send({"C1", "", "MDPC01", "echo", "a"});  // W1 busy
    f.send({"C2", "", "MDPC01", "echo", "b"});  // queued
    CHECK(f.send({"W1", "", "MDPW01", DISCONNECT}).empty());
    CHECK(f.core.worker_count() == 0);
    CHECK(f.core.service("echo")->queued == 2);
    f.check();
    // A late REPLY from it is an unknown worker's REPLY.
    auto out = f.send({"W1", "", "MDPW01", REPLY, "C1", "", "a"});
    CHECK(out == std::vector<S>{disconnect_to("W1")});
    // A new worker takes the waiting requests, the one given back first.
    out = f.send({"W2", "", "MDPW01", READY, "echo"});
    CHECK(out == std::vector<S>{{"W2", "", "MDPW01", REQUEST, "C1", "", "a"}});
    out = f.send({"W2", "", "MDPW01", REPLY, "C1", "", "A"});
    CHECK(out ==
          std::vector<S>{{"C1", "", "MDPC01", "echo", "A"}, {"W2", "", "MDPW01", REQUEST, "C2", "", "b"}});
    f.check();
}

TEST_CASE("DISCONNECT from an unknown worker is ignored") {
    Fixture f;
    CHECK(f.send({"W1", "", "MDPW01", DISCONNECT}).empty());
    CHECK(f.core.stats().unknown_disconnects == 1);
    CHECK(f.core.worker_count() == 0);
}

TEST_CASE("expiry: silent idle workers are dropped (DISCONNECT sent) in expiry order, busy ones are not") {
    Fixture f;  // heartbeat 100 ms, liveness 3: ttl 300 ms
    f.ready("A", "echo");
    f.clock.advance(10ms);
    f.ready("B", "echo");
    f.clock.advance(10ms);
    f.ready("C", "echo");
    CHECK(f.core.expiry_order() == S{"A", "B", "C"});
    f.clock.advance(50ms);
    f.send({"A", "", "MDPW01", HEARTBEAT});  // A heard last: now it expires last
    CHECK(f.core.expiry_order() == S{"B", "C", "A"});
    f.send({"X", "", "MDPC01", "echo", "job"});  // A (least recently used) busy: out of the expiry order
    CHECK_FALSE(f.core.worker("A")->idle);
    CHECK(f.core.expiry_order() == S{"B", "C"});
    f.check();
    // At 300 ms after B's READY: B is past expiry, C not yet.
    f.clock.set(f.clock.now() - 70ms + 10ms + 300ms);
    auto out = f.tick();
    std::vector<S> disconnects;
    for (auto& m : out)
        if (m[3] == DISCONNECT) disconnects.push_back(m);
    CHECK(disconnects == std::vector<S>{disconnect_to("B")});
    f.clock.advance(10ms);
    out = f.tick();
    CHECK(std::count(out.begin(), out.end(), disconnect_to("C")) == 1);
    CHECK(f.core.stats().expired == 2);
    f.check();
    // A works on, silent, far past heartbeat x liveness (as the reference, a worker sends nothing while it
    // works): it is kept, and its late reply reaches the client.
    f.clock.advance(10s);
    CHECK(f.tick().empty());  // nothing idle: no heartbeat either
    CHECK(f.core.worker("A"));
    CHECK(f.core.next_deadline() == TimePoint::max());
    out = f.send({"A", "", "MDPW01", REPLY, "X", "", "done"});
    CHECK(out == std::vector<S>{{"X", "", "MDPC01", "echo", "done"}});
    CHECK(f.core.worker("A")->idle);
    f.check();
    // Idle again, it expires like any idle worker.
    f.clock.advance(300ms);
    out = f.tick();
    CHECK(std::count(out.begin(), out.end(), disconnect_to("A")) == 1);
    CHECK(f.core.worker_count() == 0);
    CHECK_FALSE(f.core.service("echo"));
    f.check();
}

TEST_CASE("busy_timeout: a worker silent that long in the middle of a request is taken for dead") {
    Fixture f(BrokerConfig{Duration{100}, 3, 10000, 10000, Duration{1000}});
    f.ready("A", "echo");
    f.ready("B", "echo");
    f.send({"X", "", "MDPC01", "echo", "1"});  // A busy at t=0
    f.clock.advance(200ms);
    f.send({"B", "", "MDPW01", HEARTBEAT});
    f.send({"Y", "", "MDPC01", "echo", "2"});  // B busy at t=200
    CHECK(f.core.next_deadline() == f.clock.now() + 800ms);
    f.clock.advance(500ms);
    // A busy worker that heartbeats is alive, and from now on expired by heartbeat x liveness (300 ms) when
    // busy, the shorter of the two: B's deadline moves to t=1000.
    f.send({"B", "", "MDPW01", HEARTBEAT});
    f.send({"B", "", "MDPW01", HEARTBEAT});  // (the second in this request)
    CHECK(f.core.worker("B")->beats_while_busy);
    f.clock.advance(299ms);  // t=999
    CHECK(f.tick().empty());
    f.clock.advance(1ms);  // t=1000: A silent for busy_timeout, B for heartbeat x liveness
    CHECK(f.tick() == std::vector<S>{disconnect_to("A"), disconnect_to("B")});
    CHECK_FALSE(f.core.worker("A"));
    CHECK(f.core.worker_count() == 0);
    CHECK(f.core.stats().busy_expired == 1);
    CHECK(f.core.stats().expired == 2);
    // A late reply from a worker taken for dead is a protocol error, as from any unknown worker.
    CHECK(f.send({"A", "", "MDPW01", REPLY, "X", "", "late"}) == std::vector<S>{disconnect_to("A")});
    f.check();
}

TEST_CASE("a heartbeat from an idle worker never puts it in the idle list twice") {
    Fixture f;
    f.ready("W1", "echo");
    for (int i = 0; i < 5; ++i) f.send({"W1", "", "MDPW01", HEARTBEAT});
    CHECK(f.core.idle_count() == 1);
    CHECK(f.core.service("echo")->idle == 1);
    // An unsolicited REPLY from an idle worker is forwarded (the spec says so) but does not list it twice.
    auto out = f.send({"W1", "", "MDPW01", REPLY, "C1", "", "x"});
    CHECK(out == std::vector<S>{{"C1", "", "MDPC01", "echo", "x"}});
    CHECK(f.core.idle_count() == 1);
    f.check();
    // One request: W1 taken once; the second waits (W1 was in the list once only).
    CHECK(f.send({"C", "", "MDPC01", "echo", "1"}).size() == 1);
    CHECK(f.send({"C", "", "MDPC01", "echo", "2"}).empty());
    f.check();
}

TEST_CASE("heartbeats go to idle workers when due, one per interval, not to busy ones") {
    Fixture f;  // interval 100 ms
    f.ready("W1", "echo");
    f.ready("W2", "echo");
    f.send({"C", "", "MDPC01", "echo", "job"});  // W1 busy
    CHECK(f.tick().empty());
    CHECK(f.core.next_deadline() == f.clock.now() + 100ms);
    f.clock.advance(99ms);
    CHECK(f.tick().empty());
    f.clock.advance(1ms);
    CHECK(f.tick() == std::vector<S>{heartbeat_to("W2")});
    CHECK(f.tick().empty());  // not again until the next interval
    // Incoming traffic from W2 keeps it alive but does not push our heartbeat to it back.
    f.clock.advance(50ms);
    f.send({"W2", "", "MDPW01", HEARTBEAT});
    f.clock.advance(50ms);
    CHECK(f.tick() == std::vector<S>{heartbeat_to("W2")});
    CHECK(f.core.stats().heartbeats_sent == 2);
    f.check();
}

TEST_CASE("next_deadline is the earliest of the next heartbeat and the next expiry") {
    Fixture f;
    CHECK(f.core.next_deadline() == TimePoint::max());
    f.ready("W1", "echo");
    CHECK(f.core.next_deadline() == f.clock.now() + 100ms);
    f.send({"C", "", "MDPC01", "echo", "job"});  // busy: no heartbeat, no expiry (busy_timeout 0)
    CHECK(f.core.next_deadline() == TimePoint::max());
    Fixture g(BrokerConfig{Duration{100}, 3, 10000, 10000, Duration{1000}});
    g.ready("W1", "echo");
    g.send({"C", "", "MDPC01", "echo", "job"});  // busy, with a busy_timeout: that is the deadline
    CHECK(g.core.next_deadline() == g.clock.now() + 1000ms);
}

TEST_CASE("mmi.service answers 200/404 without creating a service, other mmi.* answer 501") {
    Fixture f;
    f.ready("W1", "echo");
    auto out = f.send({"C", "", "MDPC01", "mmi.service", "echo"});
    CHECK(out == std::vector<S>{{"C", "", "MDPC01", "mmi.service", "200"}});
    out = f.send({"C", "", "MDPC01", "mmi.service", "nosuch"});
    CHECK(out == std::vector<S>{{"C", "", "MDPC01", "mmi.service", "404"}});
    CHECK_FALSE(f.core.service("nosuch"));
    CHECK(f.core.service_count() == 1);
    // A service with requests waiting but no worker is not available.
    f.send({"C", "", "MDPC01", "later", "x"});
    out = f.send({"C", "", "MDPC01", "mmi.service", "later"});
    CHECK(out == std::vector<S>{{"C", "", "MDPC01", "mmi.service", "404"}});
    // A busy worker is still a registered worker.
    f.send({"C", "", "MDPC01", "echo", "x"});
    out = f.send({"C", "", "MDPC01", "mmi.service", "echo"});
    CHECK(out[0][4] == "200");
    out = f.send({"C", "", "MDPC01", "mmi.discovery", "x"});
    CHECK(out == std::vector<S>{{"C", "", "MDPC01", "mmi.discovery", "501"}});
    out = f.send({"C", "", "MDPC01", "mmi.", "x"});
    CHECK(out == std::vector<S>{{"C", "", "MDPC01", "mmi.", "501"}});
    // As the reference: the name is the last body frame, the code replaces it, frames before it come back
    // (our async client's correlation frame travels so).
    out = f.send({"C", "", "MDPC01", "mmi.service", "corr", "echo"});
    CHECK(out == std::vector<S>{{"C", "", "MDPC01", "mmi.service", "corr", "200"}});
    out = f.send({"C", "", "MDPC01", "mmi.service", "corr", "nosuch"});
    CHECK(out == std::vector<S>{{"C", "", "MDPC01", "mmi.service", "corr", "404"}});
    CHECK(f.core.stats().mmi_requests == 8);
    // "mmi" and "mmiservice" are ordinary service names.
    CHECK(f.send({"C", "", "MDPC01", "mmiservice", "x"}).empty());
    CHECK(f.core.service("mmiservice"));
    f.check();
}

TEST_CASE("a full service queue drops the newest request, the queued ones are still delivered") {
    Fixture f({Duration{100}, 3, 2, 10000});
    f.send({"C1", "", "MDPC01", "echo", "1"});
    f.send({"C2", "", "MDPC01", "echo", "2"});
    CHECK(f.send({"C3", "", "MDPC01", "echo", "3"}).empty());
    CHECK(f.core.queued_count() == 2);
    CHECK(f.core.stats().queue_full_drops == 1);
    f.check();
    auto out = f.send({"W1", "", "MDPW01", READY, "echo"});
    CHECK(out[0][4] == "C1");
    out = f.send({"W1", "", "MDPW01", REPLY, "C1", "", "1"});
    CHECK(out[1][4] == "C2");
    f.check();
}

TEST_CASE("the number of services is bounded: services without workers make room, served ones never do") {
    Fixture f({Duration{100}, 3, 10, 2});
    f.send({"C", "", "MDPC01", "s1", "x"});
    f.send({"C", "", "MDPC01", "s2", "x"});
    // A third name evicts the oldest service that has no worker, with its queued request.
    CHECK(f.send({"C", "", "MDPC01", "s3", "x"}).empty());
    CHECK(f.core.service_count() == 2);
    CHECK_FALSE(f.core.service("s1"));
    CHECK(f.core.stats().services_evicted == 1);
    CHECK(f.core.stats().evicted_requests == 1);
    CHECK(f.core.queued_count() == 2);
    f.check();
    // A worker for a new service is never locked out by requests for names nobody serves.
    auto out = f.send({"W1", "", "MDPW01", READY, "s4"});
    CHECK(out.empty());
    CHECK(f.core.worker("W1"));
    CHECK_FALSE(f.core.service("s2"));
    f.ready("W2", "s3");  // s3's request goes to W2
    f.check();
    // Now every service has a worker: a new service is refused.
    CHECK(f.send({"C", "", "MDPC01", "s5", "x"}).empty());
    CHECK(f.send({"W3", "", "MDPW01", READY, "s6"}) == std::vector<S>{disconnect_to("W3")});
    CHECK(f.core.stats().service_limit_drops == 2);
    CHECK(f.core.service_count() == 2);
    // A served service whose last worker leaves with requests waiting becomes evictable again.
    f.send({"C", "", "MDPC01", "s3", "y"});  // queued behind W2's job
    f.send({"W2", "", "MDPW01", DISCONNECT});
    CHECK(f.core.service("s3")->queued == 2);  // W2's job given back, and "y"
    f.send({"C", "", "MDPC01", "s7", "x"});
    CHECK_FALSE(f.core.service("s3"));
    CHECK(f.core.service("s7"));
    f.check();
}

TEST_CASE("malformed messages of every class are counted and dropped, changing nothing") {
    Fixture f;
    f.ready("W1", "echo");
    f.send({"C0", "", "MDPC01", "echo", "busy"});  // W1 busy, so a stray request would show up as queued
    using namespace std::string_literals;
    const std::vector<std::vector<std::string>> bad = {
        {"C"},                                                   // identity only
        {"C", ""},                                               // delimiter only
        {"C", "", "MDPC01"},                                     // no service
        {"C", "", "MDPC01", "echo"},                             // no body
        {"C", "", "MDPC01", "", "body"},                         // empty service name
        {"C", "x", "MDPC01", "echo", "body"},                    // delimiter not empty
        {"C", "MDPC01", "echo", "body"},                         // no delimiter (REQ-less DEALER forgot it)
        {"C", "", "MDPC02", "echo", "body"},                     // other protocol version
        {"C", "", "MDPC0", "echo", "body"},                      // truncated protocol
        {"C", "", "mdpc01", "echo", "body"},                     // wrong case
        {"W2", "", "MDPW01"},                                    // no command
        {"W2", "", "MDPW01", ""},                                // empty command frame
        {"W2", "", "MDPW01", "\x01\x01", "echo"},                // two-byte command
        {"W2", "", "MDPW01", "\0"s},                             // command 0x00
        {"W2", "", "MDPW01", "\x06"},                            // command 0x06
        {"W2", "", "MDPW01", "\xff"},                            // command 0xFF
        {"W2", "", "MDPW01", REQUEST, "C", "", "b"},             // REQUEST is broker -> worker only
        {"W2", "", "MDPW01", READY},                             // READY without service
        {"W2", "", "MDPW01", READY, ""},                         // READY with empty service
        {"W2", "", "MDPW01", READY, "echo", "extra"},            // READY with extra frames
        {"W1", "", "MDPW01", REPLY, "C0"},                       // REPLY without "" and body
        {"W1", "", "MDPW01", REPLY, "C0", ""},                   // REPLY without body
        {"W1", "", "MDPW01", REPLY, "C0", "x", "b"},             // REPLY with non-empty delimiter
        {"W1", "", "MDPW01", REPLY, "", "", "b"},                // REPLY with empty client identity
        {"W1", "", "MDPW01", HEARTBEAT, "extra"},                // HEARTBEAT with extra frames
        {"W1", "", "MDPW01", DISCONNECT, "extra"},               // DISCONNECT with extra frames
        {"J", "\xde\xad\xbe\xef", "\x00\x01\x02"s, "\xff\xfe"},  // binary junk
    };
    const auto before = f.core.stats();
    for (const auto& parts : bad) {
        Frames m;
        for (const auto& p : parts) m.add(frame(p));
        auto out = on_message(f.core, std::move(m), f.clock.now());
        CHECK_MESSAGE(out.empty(), "frames: ", parts.size(),
                      " first after identity: ", parts.size() > 1 ? parts[1] : "");
    }
    CHECK(on_message(f.core, Frames(), f.clock.now()).empty());  // no frames at all
    CHECK(f.core.stats().malformed == before.malformed + bad.size() + 1);
    CHECK(f.core.stats().protocol_errors == before.protocol_errors);
    CHECK(f.core.worker_count() == 1);
    CHECK(f.core.service_count() == 1);
    CHECK(f.core.queued_count() == 0);
    CHECK_FALSE(f.core.worker("W1")->idle);
    f.check();
    // And the broker still works.
    auto out = f.send({"W1", "", "MDPW01", REPLY, "C0", "", "done"});
    CHECK(out == std::vector<S>{{"C0", "", "MDPC01", "echo", "done"}});
}

TEST_CASE("disconnect_all says DISCONNECT to every worker and forgets them") {
    Fixture f;
    f.ready("W1", "a");
    f.ready("W2", "b");
    f.send({"C", "", "MDPC01", "a", "x"});
    OutboxVector out;
    f.core.disconnect_all(out);
    CHECK(out.items.size() == 2);
    CHECK(f.core.worker_count() == 0);
    CHECK(f.core.service_count() == 0);
    f.check();
}

TEST_CASE("workers coming and going leave no state behind") {
    Fixture f(BrokerConfig{Duration{100}, 3, 10000, 10000, Duration{500}});  // busy ones expire too
    for (int round = 0; round < 200; ++round) {
        std::string w = "W" + std::to_string(round);
        std::string svc = "svc" + std::to_string(round % 7);
        f.ready(w, svc);
        f.send({"C", "", "MDPC01", svc, "x"});
        switch (round % 4) {
            case 0:
                f.send({w, "", "MDPW01", DISCONNECT});
                break;
            case 1:
                f.send({w, "", "MDPW01", READY, svc});
                break;
            case 2:
                f.send({w, "", "MDPW01", REPLY, "C", "", "x"});
                f.send({w, "", "MDPW01", DISCONNECT});
                break;
            case 3:
                f.clock.advance(1s);
                f.tick();
                break;
        }
    }
    f.check();
    CHECK(f.core.worker_count() == 0);
    CHECK(f.core.idle_count() == 0);
    CHECK(f.core.service_count() <= 7);  // only services with requests still waiting remain
    f.clock.advance(1h);
    CHECK(f.tick().empty());
}

// ---- Vanished workers: sends that find them gone, connections that close ----

namespace {

// A fixture whose outbox can refuse messages to some identities, as ROUTER_MANDATORY does.
struct GoneFixture : Fixture {
    using Fixture::Fixture;
    RefusingOutbox box;
    std::vector<S> send_via(std::initializer_list<std::string_view> parts, int connection = -1) {
        box.messages.clear();
        core.on_message(make_frames(parts), clock.now(), box, connection);
        return all(box.messages);
    }
    std::vector<S> tick_via() {
        box.messages.clear();
        core.tick(clock.now(), box);
        return all(box.messages);
    }
    std::vector<S> closed(int connection) {
        box.messages.clear();
        core.on_connection_closed(connection, clock.now(), box);
        return all(box.messages);
    }
};

}  // namespace

TEST_CASE(
    "a REQUEST to a worker found gone: the worker is forgotten, the next idle worker takes the request") {
    for (auto refusal : {SendResult::peer_gone, SendResult::would_block}) {
        CAPTURE(name(refusal));
        GoneFixture f;
        f.ready("W1", "echo");
        f.ready("W2", "echo");
        (refusal == SendResult::peer_gone ? f.box.gone : f.box.full).push_back("W1");
        auto out = f.send_via({"C1", "", "MDPC01", "echo", "a"});
        CHECK(out == std::vector<S>{{"W2", "", "MDPW01", REQUEST, "C1", "", "a"}});
        CHECK_FALSE(f.core.worker("W1"));
        CHECK(f.core.stats().workers_vanished == 1);
        CHECK(f.core.stats().dispatched == 1);
        CHECK(f.core.service("echo")->workers == 1);
        f.check();
    }
}

TEST_CASE("a REQUEST to the only worker, found gone: the request waits at the front of its queue") {
    GoneFixture f;
    f.ready("W1", "echo");
    f.box.gone.push_back("W1");
    CHECK(f.send_via({"C1", "", "MDPC01", "echo", "first"}).empty());
    CHECK_FALSE(f.core.worker("W1"));
    CHECK(f.core.service("echo")->workers == 0);
    CHECK(f.core.service("echo")->queued == 1);
    f.check();
    // mmi.service: nobody serves it now.
    CHECK(f.send_via({"M", "", "MDPC01", "mmi.service", "echo"}) ==
          std::vector<S>{{"M", "", "MDPC01", "mmi.service", "404"}});
    CHECK(f.send_via({"C2", "", "MDPC01", "echo", "second"}).empty());
    // The next worker gets the first request first, with its frames intact.
    auto out = f.send_via({"W2", "", "MDPW01", READY, "echo"});
    CHECK(out == std::vector<S>{{"W2", "", "MDPW01", REQUEST, "C1", "", "first"}});
    f.check();
}

TEST_CASE("dispatching queued requests: a worker found gone is skipped, the request stays in front") {
    GoneFixture f;
    f.ready("W1", "echo");
    f.ready("W2", "echo");
    f.send_via({"C1", "", "MDPC01", "echo", "1"});  // W1
    f.send_via({"C2", "", "MDPC01", "echo", "2"});  // W2
    f.send_via({"C3", "", "MDPC01", "echo", "3"});  // queued
    f.send_via({"C4", "", "MDPC01", "echo", "4"});  // queued
    f.check();
    // W1 replies, then cannot be sent the next request (its connection went right after its reply).
    f.box.gone.push_back("W1");
    auto out = f.send_via({"W1", "", "MDPW01", REPLY, "C1", "", "one"});
    CHECK(out == std::vector<S>{{"C1", "", "MDPC01", "echo", "one"}});
    CHECK_FALSE(f.core.worker("W1"));
    CHECK(f.core.service("echo")->queued == 2);
    f.check();
    out = f.send_via({"W2", "", "MDPW01", REPLY, "C2", "", "two"});
    CHECK(out ==
          std::vector<S>{{"C2", "", "MDPC01", "echo", "two"}, {"W2", "", "MDPW01", REQUEST, "C3", "", "3"}});
    f.check();
}

TEST_CASE("a HEARTBEAT that cannot be sent forgets the idle worker") {
    GoneFixture f;
    f.ready("W1", "echo");
    f.ready("W2", "echo");
    f.box.gone.push_back("W1");
    f.clock.advance(100ms);
    auto out = f.tick_via();
    CHECK(out == std::vector<S>{heartbeat_to("W2")});
    CHECK_FALSE(f.core.worker("W1"));
    CHECK(f.core.worker_count() == 1);
    CHECK(f.core.stats().workers_vanished == 1);
    f.check();
}

TEST_CASE("a message to a client that is gone or not reading is dropped and counted") {
    GoneFixture f;
    f.ready("W1", "echo");
    f.send_via({"C1", "", "MDPC01", "echo", "a"});
    f.box.gone.push_back("C1");
    CHECK(f.send_via({"W1", "", "MDPW01", REPLY, "C1", "", "A"}).empty());
    CHECK(f.core.stats().unroutable == 1);
    f.box.full.push_back("C2");
    f.send_via({"C2", "", "MDPC01", "echo", "b"});
    CHECK(f.send_via({"W1", "", "MDPW01", REPLY, "C2", "", "B"}).empty());
    CHECK(f.core.stats().hwm_drops == 1);
    CHECK(f.core.worker("W1")->idle);  // the worker is not to blame
    f.check();
}

TEST_CASE("a connection that closes: its idle worker is forgotten at once, and mmi says 404") {
    GoneFixture f;
    f.send_via({"W1", "", "MDPW01", READY, "echo"}, 7);
    f.send_via({"W2", "", "MDPW01", READY, "other"}, 8);
    f.check();
    CHECK(f.closed(7).empty());  // nothing sent to a worker that is gone
    CHECK_FALSE(f.core.worker("W1"));
    CHECK_FALSE(f.core.service("echo"));
    CHECK(f.core.stats().workers_vanished == 1);
    CHECK(f.send_via({"M", "", "MDPC01", "mmi.service", "echo"}) ==
          std::vector<S>{{"M", "", "MDPC01", "mmi.service", "404"}});
    f.check();
    // A client's connection, or one already reported: nothing happens.
    CHECK(f.closed(7).empty());
    CHECK(f.closed(99).empty());
    CHECK(f.core.worker_count() == 1);
    f.check();
    // Later purges and heartbeats do not trip on it.
    f.clock.advance(1s);
    for (const auto& m : f.tick_via()) CHECK(m[0] != "W1");
    f.check();
}

TEST_CASE(
    "a connection that closes under a busy worker: its request goes back in front, the next worker serves "
    "it") {
    GoneFixture f;
    f.send_via({"W1", "", "MDPW01", READY, "echo"}, 7);
    f.send_via({"W2", "", "MDPW01", READY, "echo"}, 8);
    f.send_via({"C1", "", "MDPC01", "echo", "job", "two frames"});  // W1
    f.send_via({"C2", "", "MDPC01", "echo", "job2"});               // W2
    f.send_via({"C3", "", "MDPC01", "echo", "job3"});               // queued
    f.check();
    CHECK(f.closed(7).empty());  // W2 busy: C1's job waits, in front of C3's
    CHECK_FALSE(f.core.worker("W1"));
    CHECK(f.core.service("echo")->queued == 2);
    CHECK(f.core.stats().requests_requeued == 1);
    f.check();
    auto out = f.send_via({"W2", "", "MDPW01", REPLY, "C2", "", "JOB2"}, 8);
    CHECK(out == std::vector<S>{{"C2", "", "MDPC01", "echo", "JOB2"},
                                {"W2", "", "MDPW01", REQUEST, "C1", "", "job", "two frames"}});
    f.check();
    // With an idle worker, a request given back is dispatched at once.
    f.send_via({"W3", "", "MDPW01", READY, "echo"}, 9);   // takes C3's job
    f.send_via({"W4", "", "MDPW01", READY, "echo"}, 10);  // idle
    out = f.closed(9);
    CHECK(out == std::vector<S>{{"W4", "", "MDPW01", REQUEST, "C3", "", "job3"}});
    CHECK(f.core.stats().requests_requeued == 2);
    f.check();
    // And the reply reaches the client as if nothing had happened.
    out = f.send_via({"W4", "", "MDPW01", REPLY, "C3", "", "JOB3"}, 10);
    CHECK(out == std::vector<S>{{"C3", "", "MDPC01", "echo", "JOB3"}});
    f.check();
}

TEST_CASE("a busy worker whose connection closes, and no other worker: the request waits for the next one") {
    GoneFixture f;
    f.send_via({"W1", "", "MDPW01", READY, "echo"}, 7);
    f.send_via({"C1", "", "MDPC01", "echo", "job"});
    f.closed(7);
    CHECK(f.core.worker_count() == 0);
    CHECK(f.send_via({"M", "", "MDPC01", "mmi.service", "echo"}) ==
          std::vector<S>{{"M", "", "MDPC01", "mmi.service", "404"}});
    f.check();
    auto out = f.send_via({"W2", "", "MDPW01", READY, "echo"}, 7);  // fd 7 reused by the next connection
    CHECK(out == std::vector<S>{{"W2", "", "MDPW01", REQUEST, "C1", "", "job"}});
    f.check();
}

TEST_CASE("a READY on a connection id still bound to another worker: that worker's connection is gone") {
    GoneFixture f;
    f.send_via({"W1", "", "MDPW01", READY, "echo"}, 7);
    f.send_via({"W2", "", "MDPW01", READY, "echo"}, 7);  // fd 7 reused: W1's connection closed
    CHECK_FALSE(f.core.worker("W1"));
    CHECK(f.core.worker("W2"));
    CHECK(f.core.stats().workers_vanished == 1);
    f.check();
    f.closed(7);
    CHECK(f.core.worker_count() == 0);
    f.check();
}

TEST_CASE("queued requests are bounded in bytes across services: the newest is dropped") {
    BrokerConfig c{Duration{100}, 3, 10000, 10000};
    const std::size_t each = 100 + 2 + queued_request_overhead;  // body + client identity + overhead
    c.max_queue_bytes = 3 * each;
    GoneFixture f(c);
    const std::string body(100, 'x');
    f.send_via({"C1", "", "MDPC01", "a", body});
    f.send_via({"C2", "", "MDPC01", "b", body});
    f.send_via({"C3", "", "MDPC01", "a", body});
    CHECK(f.core.queued_bytes() == 3 * each);
    f.check();
    // A fourth, for either service or a new one, is dropped; nothing else changes.
    f.send_via({"C4", "", "MDPC01", "b", body});
    f.send_via({"C5", "", "MDPC01", "c", body});
    CHECK(f.core.stats().queue_bytes_drops == 2);
    CHECK(f.core.queued_count() == 3);
    CHECK_FALSE(f.core.service("c"));  // a service created for a dropped request is not kept
    f.check();
    // A small request still fits in what is left? No: the bound counts the overhead too.
    f.send_via({"C6", "", "MDPC01", "a", "tiny"});
    CHECK(f.core.stats().queue_bytes_drops == 3);
    // Requests that go straight to an idle worker are not queued and not bounded by it.
    f.ready("WB", "b");  // takes C2's
    CHECK(f.core.queued_bytes() == 2 * each);
    f.send_via({"C7", "", "MDPC01", "a", body});
    CHECK(f.core.queued_bytes() == 3 * each);
    f.check();
    auto out = f.send_via({"WA", "", "MDPW01", READY, "a"});
    CHECK(out == std::vector<S>{{"WA", "", "MDPW01", REQUEST, "C1", "", body}});
    f.check();
}

TEST_CASE("requests queued for a service without a worker expire after request_ttl") {
    BrokerConfig c{Duration{100}, 3, 10000, 10000};
    c.request_ttl = Duration{1000};
    GoneFixture f(c);
    f.send_via({"C1", "", "MDPC01", "nobody", "1"});
    f.clock.advance(400ms);
    f.send_via({"C2", "", "MDPC01", "nobody", "2"});
    f.send_via({"C3", "", "MDPC01", "other", "3"});
    CHECK(f.core.next_deadline() == f.clock.now() + 600ms);
    f.clock.advance(599ms);
    CHECK(f.tick_via().empty());
    CHECK(f.core.queued_count() == 3);
    f.clock.advance(1ms);  // t=1000: C1's expires, alone
    CHECK(f.tick_via().empty());
    CHECK(f.core.queued_count() == 2);
    CHECK(f.core.stats().requests_expired == 1);
    CHECK(f.core.next_deadline() == f.clock.now() + 400ms);
    f.check();
    f.clock.advance(400ms);  // t=1400: the rest
    f.tick_via();
    CHECK(f.core.queued_count() == 0);
    CHECK(f.core.queued_bytes() == 0);
    CHECK(f.core.service_count() == 0);
    CHECK(f.core.stats().requests_expired == 3);
    CHECK(f.core.next_deadline() == TimePoint::max());
    f.check();
}

TEST_CASE(
    "request_ttl: requests waiting behind busy workers keep their place, and expire if the workers go") {
    BrokerConfig c{Duration{100}, 3, 10000, 10000};
    c.request_ttl = Duration{1000};
    GoneFixture f(c);
    f.send_via({"W1", "", "MDPW01", READY, "echo"}, 7);
    f.send_via({"C1", "", "MDPC01", "echo", "busy"});  // W1 busy
    f.send_via({"C2", "", "MDPC01", "echo", "waits"});
    f.clock.advance(1000ms);  // (W1 sends nothing while busy: a Guide worker, never expired busy)
    f.tick_via();
    CHECK(f.core.queued_count() == 1);  // its service has a worker: it waits its turn
    CHECK(f.core.stats().requests_expired == 0);
    f.check();
    f.clock.advance(500ms);  // t=1500: W1 goes; its request comes back, and both wait request_ttl again
    f.closed(7);
    CHECK(f.core.queued_count() == 2);
    CHECK(f.core.next_deadline() == f.clock.now() + 1000ms);
    f.check();
    f.clock.advance(999ms);
    f.tick_via();
    CHECK(f.core.queued_count() == 2);
    f.clock.advance(1ms);
    f.tick_via();
    CHECK(f.core.queued_count() == 0);
    CHECK(f.core.stats().requests_expired == 2);
    CHECK_FALSE(f.core.service("echo"));
    f.check();
}

TEST_CASE("request_ttl 0: queued requests never expire") {
    BrokerConfig c{Duration{100}, 3, 10000, 10000};
    c.request_ttl = Duration{0};
    GoneFixture f(c);
    f.send_via({"C1", "", "MDPC01", "nobody", "1"});
    CHECK(f.core.next_deadline() == TimePoint::max());
    f.clock.advance(24h);
    f.tick_via();
    CHECK(f.core.queued_count() == 1);
    f.check();
}

TEST_CASE("vanishing workers under churn leave no state behind") {
    BrokerConfig c{Duration{100}, 3, 10000, 10000};
    c.request_ttl = Duration{500};
    GoneFixture f(c);
    int fd = 0;
    for (int round = 0; round < 300; ++round) {
        std::string w = "W" + std::to_string(round);
        std::string svc = "svc" + std::to_string(round % 5);
        const int conn = fd++ % 4;  // fds reused all the time
        f.closed(conn);             // the driver reports the old connection's close before the new READY
        f.send_via({w, "", "MDPW01", READY, svc}, conn);
        f.send_via({"C", "", "MDPC01", svc, "x"});
        switch (round % 3) {
            case 0:
                f.closed(conn);
                break;
            case 1:
                f.box.gone.push_back(w);
                f.send_via({"C", "", "MDPC01", svc, "y"});
                break;
            case 2:
                f.clock.advance(300ms);
                f.tick_via();
                break;
        }
        REQUIRE(f.core.check_invariants() == "");
    }
    for (int conn = 0; conn < 4; ++conn) f.closed(conn);
    f.clock.advance(1s);
    f.tick_via();
    CHECK(f.core.worker_count() == 0);
    CHECK(f.core.queued_count() == 0);
    CHECK(f.core.service_count() == 0);
    f.check();
}
