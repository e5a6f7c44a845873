// Unit tests of lpserver's core: REP envelope rules, and late answers (--slow-after) bounded in bytes, with a
// manual clock.
#include <doctest/doctest.h>
#include <pirates/lazy_pirate/echo_server.hpp>

#include "support/net.hpp"

using namespace pirates;
using namespace pirates::lazy_pirate;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;

TEST_CASE("echo core: a request comes back with its envelope - no delimiter or no body is invalid") {
    ManualClock clock;
    EchoServerCore core;
    OutboxVector out;
    auto d = core.on_message(make_frames({"client", "", "hello"}), clock.now(), out);
    REQUIRE(d);
    CHECK(d->action == Chaos::Action::answer);
    REQUIRE(out.items.size() == 1);
    CHECK(strings(out.items[0].message) == std::vector<std::string>{"client", "", "hello"});
    CHECK_FALSE(core.on_message(make_frames({"client", "hello"}), clock.now(), out));
    CHECK_FALSE(core.on_message(make_frames({"client", ""}), clock.now(), out));
    CHECK(out.items.size() == 1);
    CHECK(core.stats().requests == 1);
    CHECK(core.stats().replies == 1);
    CHECK(core.stats().malformed == 2);
}

TEST_CASE(
    "echo core: late answers are held until due, in bytes up to the bound - the newest over it is dropped") {
    ManualClock clock;
    Chaos chaos;
    chaos.slow_after = 1;  // the first request is answered at once, every later one 100 ms late
    chaos.delay = 100ms;
    EchoServerCore core(chaos, 20);
    OutboxVector sent;  // 20 bytes of late answers at most

    auto first = core.on_message(make_frames({"c1", "", "0123456789"}), clock.now(), sent);
    REQUIRE(first);
    CHECK(first->action == Chaos::Action::answer);
    CHECK(core.held_bytes() == 0);

    // Request 2: 2 + 0 + 10 = 12 bytes held.
    auto second = core.on_message(make_frames({"c1", "", "abcdefghij"}), clock.now(), sent);
    REQUIRE(second);
    CHECK(second->action == Chaos::Action::delay_then_answer);
    CHECK(second->delay == 100ms);
    CHECK(core.held() == 1);
    CHECK(core.held_bytes() == 12);
    CHECK(core.next_deadline() == clock.now() + 100ms);

    // Request 3 (12 more bytes) would make 24 > 20: dropped, counted, nothing more held.
    clock.advance(30ms);
    auto third = core.on_message(make_frames({"c2", "", "ABCDEFGHIJ"}), clock.now(), sent);
    REQUIRE(third);
    CHECK(third->action == Chaos::Action::drop);
    CHECK(third->overflow);
    CHECK(core.stats().dropped_overflow == 1);
    CHECK(core.stats().dropped == 1);
    CHECK(core.held_bytes() == 12);

    // Request 4 fits exactly (12 + 8 = 20).
    auto fourth = core.on_message(make_frames({"c2", "", "123456"}), clock.now(), sent);
    REQUIRE(fourth);
    CHECK(fourth->action == Chaos::Action::delay_then_answer);
    CHECK(core.held_bytes() == 20);

    // Released when due, oldest first; their bytes are freed.
    CHECK(sent.take_messages().size() == 1);  // the first request's answer
    OutboxVector late;
    clock.advance(69ms);
    core.tick(clock.now(), late);
    CHECK(late.items.empty());
    clock.advance(1ms);
    core.tick(clock.now(), late);
    auto out = late.take_messages();
    REQUIRE(out.size() == 1);
    CHECK(strings(out[0]) == std::vector<std::string>{"c1", "", "abcdefghij"});
    CHECK(core.held_bytes() == 8);
    CHECK(core.next_deadline() == clock.now() + 30ms);
    clock.advance(30ms);
    core.tick(clock.now(), late);
    out = late.take_messages();
    REQUIRE(out.size() == 1);
    CHECK(strings(out[0]) == std::vector<std::string>{"c2", "", "123456"});
    CHECK(core.held_bytes() == 0);
    CHECK(core.next_deadline() == TimePoint::max());
    CHECK(core.stats().requests == 4);
    CHECK(core.stats().replies == 3);
}
