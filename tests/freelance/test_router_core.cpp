// Model 3 core, socket-free, driven by a ManualClock.
#include <doctest/doctest.h>
#include <pirates/freelance/router.hpp>

#include "support/net.hpp"

#include <algorithm>

using namespace pirates;
using namespace pirates::freelance;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;

namespace {

RouterOptions options() {
    RouterOptions o;
    o.ping_interval = 100ms;
    o.server_ttl = 300ms;
    o.request_timeout = 1000ms;
    o.attempt_timeout = 200ms;
    o.unroutable_retry = 10ms;
    return o;
}

// What the core sent, as "endpoint|frame|frame..." strings: requests only, or pings only. Both drain the
// outbox.
std::vector<std::string> drain(RouterClientCore& core, bool want_pings) {
    std::vector<std::string> out;
    for (auto& o : core.take_outgoing()) {
        bool ping = o.frames.size() == 1 && equals(o.frames.front(), "PING");
        if (ping != want_pings) continue;
        std::string s = o.endpoint;
        for (auto& f : strings(o.frames)) s += "|" + f;
        out.push_back(s);
    }
    return out;
}
std::vector<std::string> sent(RouterClientCore& core) {
    return drain(core, false);
}
std::vector<std::string> pings(RouterClientCore& core) {
    return drain(core, true);
}

struct Fixture {
    explicit Fixture(RouterOptions o = options()) : core(o, clock.now()) {}
    ManualClock clock;
    RouterClientCore core;
    void pong(const std::string& ep) { core.on_message(ep, make_frames({"PONG"}), clock.now()); }
    void reply(const std::string& ep, std::string_view seq) {
        core.on_message(ep, make_frames({seq, "OK"}), clock.now());
    }
    void up(std::initializer_list<std::string> eps) {
        for (auto& ep : eps) {
            core.connect(ep, clock.now());
            pong(ep);
        }
        core.take_outgoing();
    }
};

}  // namespace

TEST_CASE(
    "router core: every server is pinged at once, then every interval - incoming traffic does not move it") {
    Fixture f;
    f.core.connect("A", f.clock.now());
    f.core.connect("B", f.clock.now());
    CHECK(pings(f.core) == std::vector<std::string>{"A|PING", "B|PING"});
    CHECK(f.core.next_deadline() == f.clock.now() + 100ms);
    f.clock.advance(50ms);
    f.pong("A");  // heard, but its ping schedule stays
    f.core.tick(f.clock.now());
    CHECK(pings(f.core).empty());
    f.clock.advance(49ms);
    f.core.tick(f.clock.now());
    CHECK(pings(f.core).empty());
    f.clock.advance(1ms);
    f.core.tick(f.clock.now());
    CHECK(pings(f.core) == std::vector<std::string>{"A|PING", "B|PING"});
    // A stalled driver does not get a burst of catch-up pings.
    f.clock.advance(1000ms);
    f.core.tick(f.clock.now());
    CHECK(pings(f.core) == std::vector<std::string>{"A|PING", "B|PING"});
    CHECK(f.core.stats().pings == 6);
    CHECK_FALSE(f.core.connect("A", f.clock.now()));  // already known
}

TEST_CASE("router core: a server is alive from its first answer until last heard + TTL") {
    Fixture f;
    f.core.connect("A", f.clock.now());
    CHECK_FALSE(f.core.alive("A", f.clock.now()));  // never heard
    f.clock.advance(10ms);
    f.pong("A");
    CHECK(f.core.alive("A", f.clock.now()));
    f.clock.advance(299ms);
    CHECK(f.core.alive("A", f.clock.now()));
    f.clock.advance(1ms);
    CHECK_FALSE(f.core.alive("A", f.clock.now()));
    f.pong("A");  // answers again: alive again
    CHECK(f.core.alive("A", f.clock.now()));
    CHECK(f.core.alive_count(f.clock.now()) == 1);
}

TEST_CASE("router core: a request goes to one live server, round robin, and its reply completes it") {
    Fixture f;
    f.up({"A", "B"});
    auto seq = f.core.request(make_frames({"hello"}), f.clock.now());
    REQUIRE(seq);
    CHECK(*seq == 1);
    CHECK(sent(f.core) == std::vector<std::string>{"A|1|hello"});
    CHECK_FALSE(f.core.request(make_frames({"again"}), f.clock.now()));  // one at a time
    f.reply("A", "1");
    auto done = f.core.take_completion();
    REQUIRE(done);
    REQUIRE(done->reply);
    CHECK(done->sequence == 1);
    CHECK(done->reply->server == "A");
    CHECK(strings(done->reply->body) == std::vector<std::string>{"OK"});
    CHECK_FALSE(f.core.busy());
    REQUIRE(f.core.request(make_frames({"next"}), f.clock.now()));
    CHECK(sent(f.core) == std::vector<std::string>{"B|2|next"});
}

TEST_CASE(
    "router core: silence fails the request over to another live server - the silent one is not used again "
    "until it answers") {
    Fixture f;
    f.up({"A", "B"});
    REQUIRE(f.core.request(make_frames({"x"}), f.clock.now()));
    CHECK(sent(f.core) == std::vector<std::string>{"A|1|x"});
    f.clock.advance(199ms);
    f.core.tick(f.clock.now());
    CHECK(sent(f.core).empty());
    f.clock.advance(1ms);
    f.core.tick(f.clock.now());
    CHECK(sent(f.core) == std::vector<std::string>{"B|1|x"});  // same sequence
    CHECK(f.core.stats().failovers == 1);
    CHECK_FALSE(f.core.alive("A", f.clock.now()));
    f.reply("B", "1");
    REQUIRE(f.core.take_completion());
    // A's late reply to the same request is stale now; it proves A alive again though.
    f.reply("A", "1");
    CHECK_FALSE(f.core.take_completion());
    CHECK(f.core.stats().stale == 1);
    CHECK(f.core.alive("A", f.clock.now()));
}

TEST_CASE(
    "router core: a server that expires while it holds the request is failed over before the attempt "
    "timeout") {
    Fixture f;
    f.up({"A", "B"});
    f.clock.advance(250ms);
    f.pong("B");  // B heard recently, A 250 ms ago (TTL 300)
    pings(f.core);
    REQUIRE(f.core.request(make_frames({"x"}), f.clock.now()));
    CHECK(sent(f.core) == std::vector<std::string>{"A|1|x"});
    CHECK(f.core.next_deadline() == f.clock.now() + 50ms);  // A's expiry, before the attempt timeout
    f.clock.advance(50ms);
    f.core.tick(f.clock.now());
    auto out = sent(f.core);
    CHECK(std::find(out.begin(), out.end(), "B|1|x") != out.end());
}

TEST_CASE("router core: an unroutable request fails over at once - an unroutable ping is retried soon") {
    Fixture f;
    f.up({"A", "B"});
    REQUIRE(f.core.request(make_frames({"x"}), f.clock.now()));
    CHECK(sent(f.core) == std::vector<std::string>{"A|1|x"});
    f.core.on_unroutable("A", f.clock.now());
    CHECK(sent(f.core) == std::vector<std::string>{"B|1|x"});
    CHECK(f.core.stats().failovers == 1);
    CHECK_FALSE(f.core.alive("A", f.clock.now()));
    CHECK(f.core.next_deadline() == f.clock.now() + 10ms);  // A's retry ping
    f.clock.advance(10ms);
    f.core.tick(f.clock.now());
    CHECK(pings(f.core) == std::vector<std::string>{"A|PING"});
    f.core.on_unroutable("nobody", f.clock.now());  // unknown: ignored
    CHECK(f.core.stats().unroutable == 1);
}

TEST_CASE("router core: with every server silent the request fails after the global timeout, as a value") {
    RouterOptions o = options();
    o.server_ttl = 5000ms;  // only the attempts' silence fails servers over here
    Fixture f(o);
    f.up({"A", "B", "C"});
    REQUIRE(f.core.request(make_frames({"x"}), f.clock.now()));
    for (int i = 0; i < 100 && !f.core.take_completion(); ++i) {
        CHECK(f.core.busy());
        f.clock.advance(20ms);
        f.core.tick(f.clock.now());
        if (auto done = f.core.take_completion()) {
            CHECK_FALSE(done->reply);
            CHECK(done->reply.reason.find("no reply within 1000 ms") != std::string::npos);
            break;
        }
    }
    CHECK_FALSE(f.core.busy());
    CHECK(f.core.stats().failures == 1);
    CHECK(f.core.stats().failovers == 3);  // A, B, C each tried once and given up on
    // A reply arriving after the failure is stale, never a completion.
    f.reply("C", "1");
    CHECK_FALSE(f.core.take_completion());
    CHECK(f.core.stats().stale == 1);
}

TEST_CASE(
    "router core: a request with no live server waits - a server added at run time is used as soon as it "
    "answers a ping") {
    Fixture f;
    f.up({"A"});
    f.clock.advance(300ms);  // A expired
    f.core.tick(f.clock.now());
    sent(f.core);
    REQUIRE(f.core.request(make_frames({"x"}), f.clock.now()));
    CHECK(sent(f.core).empty());
    f.clock.advance(100ms);
    f.core.connect("D", f.clock.now());
    auto first = pings(f.core);
    CHECK(std::find(first.begin(), first.end(), "D|PING") != first.end());
    f.core.on_unroutable("D", f.clock.now());  // not connected yet
    f.clock.advance(10ms);
    f.core.tick(f.clock.now());
    CHECK(pings(f.core) == std::vector<std::string>{"D|PING"});
    f.pong("D");
    CHECK(sent(f.core) == std::vector<std::string>{"D|1|x"});
    f.reply("D", "1");
    auto done = f.core.take_completion();
    REQUIRE(done);
    REQUIRE(done->reply);
    CHECK(done->reply->server == "D");
}

TEST_CASE(
    "router core: stale, duplicate, malformed and unknown-peer messages are counted and never complete a "
    "request") {
    Fixture f;
    f.up({"A"});
    REQUIRE(f.core.request(make_frames({"x"}), f.clock.now()));
    sent(f.core);
    f.reply("A", "0");  // older sequence
    f.reply("A", "7");  // a sequence never sent
    CHECK_FALSE(f.core.take_completion());
    CHECK(f.core.stats().stale == 2);
    f.core.on_message("A", Frames{}, f.clock.now());
    f.core.on_message("A", make_frames({"PONG", "extra"}), f.clock.now());
    f.core.on_message("A", make_frames({"1x", "OK"}), f.clock.now());
    f.core.on_message("A", make_frames({"\xff\x00\x01", "OK"}), f.clock.now());
    f.core.on_message("A", make_frames({""}), f.clock.now());
    CHECK(f.core.stats().malformed == 5);
    f.core.on_message("Z", make_frames({"1", "OK"}), f.clock.now());
    CHECK(f.core.stats().unknown == 1);
    CHECK_FALSE(f.core.take_completion());
    f.reply("A", "1");
    REQUIRE(f.core.take_completion());
    f.reply("A", "1");  // duplicate
    CHECK_FALSE(f.core.take_completion());
    CHECK(f.core.stats().stale == 3);
    CHECK(f.core.stats().answers == 1);
}

TEST_CASE("router core: malformed input does not make a dead server alive") {
    Fixture f;
    f.core.connect("A", f.clock.now());
    f.core.on_message("A", make_frames({"garbage"}), f.clock.now());
    CHECK_FALSE(f.core.alive("A", f.clock.now()));
}

TEST_CASE(
    "router core: a server unroutable for reconnect_after is reconnected, again and again, until it "
    "answers") {
    RouterOptions o = options();
    o.reconnect_after = 100ms;
    Fixture f(o);
    f.core.connect("A", f.clock.now());
    f.core.on_unroutable("A", f.clock.now());
    CHECK(f.core.next_deadline() == f.clock.now() + 10ms);  // the retry ping comes first
    for (int i = 0; i < 9; ++i) {
        f.clock.advance(10ms);
        f.core.tick(f.clock.now());
        CHECK(f.core.take_reconnects().empty());
        f.core.on_unroutable("A", f.clock.now());  // each retry ping bounces too
    }
    f.clock.advance(10ms);
    f.core.tick(f.clock.now());
    CHECK(f.core.take_reconnects() == std::vector<std::string>{"A"});
    f.clock.advance(100ms);
    f.core.tick(f.clock.now());
    CHECK(f.core.take_reconnects() == std::vector<std::string>{"A"});
    f.pong("A");
    f.clock.advance(500ms);
    f.core.tick(f.clock.now());
    CHECK(f.core.take_reconnects().empty());
    CHECK(f.core.stats().reconnects == 2);
}

TEST_CASE("router core: cancel() ends the request in flight at once, as an error - its late reply is stale") {
    Fixture f;
    CHECK_FALSE(f.core.cancel());  // nothing in flight
    f.up({"A"});
    REQUIRE(f.core.request(make_frames({"hello"}), f.clock.now()));
    CHECK(sent(f.core) == std::vector<std::string>{"A|1|hello"});
    f.clock.advance(10ms);
    CHECK(f.core.cancel());
    CHECK_FALSE(f.core.busy());
    auto done = f.core.take_completion();
    REQUIRE(done);
    CHECK(done->sequence == 1);
    REQUIRE_FALSE(done->reply);
    CHECK(done->reply.reason == "interrupted");
    CHECK(f.core.stats().cancelled == 1);
    CHECK(f.core.stats().failures == 0);  // not a timeout
    CHECK_FALSE(f.core.cancel());

    // The reply arrives late: stale, it completes nothing; the server is still alive and used next.
    f.reply("A", "1");
    CHECK_FALSE(f.core.take_completion());
    CHECK(f.core.stats().stale == 1);
    REQUIRE(f.core.request(make_frames({"next"}), f.clock.now()));
    CHECK(sent(f.core) == std::vector<std::string>{"A|2|next"});

    // A request waiting for a live server (request 2 timed out, A expired meanwhile) is cancelled the same
    // way.
    f.clock.advance(1000ms);
    f.core.tick(f.clock.now());
    REQUIRE(f.core.take_completion());  // request 2: the global timeout
    f.core.take_outgoing();
    CHECK(f.core.alive_count(f.clock.now()) == 0);
    REQUIRE(f.core.request(make_frames({"waiting"}), f.clock.now()));
    CHECK(f.core.cancel());
    done = f.core.take_completion();
    REQUIRE(done);
    CHECK_FALSE(done->reply);
}
