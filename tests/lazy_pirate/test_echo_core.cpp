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
    EchoCore core;
    auto d = core.on_request(make_frames({"client", "", "hello"}), clock.now());
    REQUIRE(d);
    CHECK(d->action == Chaos::Action::answer);
    CHECK(strings(d->reply) == std::vector<std::string>{"client", "", "hello"});
    CHECK_FALSE(core.on_request(make_frames({"client", "hello"}), clock.now()));
    CHECK_FALSE(core.on_request(make_frames({"client", ""}), clock.now()));
    CHECK(core.requests() == 1);
    CHECK(core.invalid() == 2);
}

TEST_CASE(
    "echo core: late answers are held until due, in bytes up to the bound - the newest over it is dropped") {
    ManualClock clock;
    Chaos chaos;
    chaos.slow_after = 1;  // the first request is answered at once, every later one 100 ms late
    chaos.delay = 100ms;
    EchoCore core(chaos, 20);  // 20 bytes of late answers at most

    auto first = core.on_request(make_frames({"c1", "", "0123456789"}), clock.now());
    REQUIRE(first);
    CHECK(first->action == Chaos::Action::answer);
    CHECK(core.held_bytes() == 0);

    // Request 2: 2 + 0 + 10 = 12 bytes held.
    auto second = core.on_request(make_frames({"c1", "", "abcdefghij"}), clock.now());
    REQUIRE(second);
    CHECK(second->action == Chaos::Action::delay_then_answer);
    CHECK(second->delay == 100ms);
    CHECK(core.held() == 1);
    CHECK(core.held_bytes() == 12);
    CHECK(core.next_deadline() == clock.now() + 100ms);

    // Request 3 (12 more bytes) would make 24 > 20: dropped, counted, nothing more held.
    clock.advance(30ms);
    auto third = core.on_request(make_frames({"c2", "", "ABCDEFGHIJ"}), clock.now());
    REQUIRE(third);
    CHECK(third->action == Chaos::Action::drop);
    CHECK(third->overflow);
    CHECK(core.dropped_overflow() == 1);
    CHECK(core.held_bytes() == 12);

    // Request 4 fits exactly (12 + 8 = 20).
    auto fourth = core.on_request(make_frames({"c2", "", "123456"}), clock.now());
    REQUIRE(fourth);
    CHECK(fourth->action == Chaos::Action::delay_then_answer);
    CHECK(core.held_bytes() == 20);

    // Released when due, oldest first; their bytes are freed.
    std::vector<Frames> out;
    clock.advance(69ms);
    core.take_due(clock.now(), out);
    CHECK(out.empty());
    clock.advance(1ms);
    core.take_due(clock.now(), out);
    REQUIRE(out.size() == 1);
    CHECK(strings(out[0]) == std::vector<std::string>{"c1", "", "abcdefghij"});
    CHECK(core.held_bytes() == 8);
    CHECK(core.next_deadline() == clock.now() + 30ms);
    clock.advance(30ms);
    core.take_due(clock.now(), out);
    REQUIRE(out.size() == 2);
    CHECK(strings(out[1]) == std::vector<std::string>{"c2", "", "123456"});
    CHECK(core.held_bytes() == 0);
    CHECK_FALSE(core.next_deadline());
    CHECK(core.requests() == 4);
}
