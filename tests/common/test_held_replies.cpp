// HeldReplies: late answers held in order until due, bounded in bytes (the newest one over the bound goes).
#include <doctest/doctest.h>
#include <pirates/common/held_replies.hpp>

#include "support/net.hpp"

using namespace pirates;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;

TEST_CASE("held replies: released in order once due, bytes counted per frame and given back on release") {
    ManualClock clock;
    HeldReplies held(100);
    CHECK(held.hold(make_frames({"id1", "", "0123456789"}), clock.now() + 50ms));  // 3 + 0 + 10 bytes
    clock.advance(10ms);
    CHECK(held.hold(make_frames({"id2", "", "abc"}), clock.now() + 50ms));  // 6 bytes
    CHECK(held.size() == 2);
    CHECK(held.bytes() == 19);
    CHECK(held.next_deadline() == clock.now() + 40ms);

    std::vector<Frames> out;
    clock.advance(39ms);
    held.take_due(clock.now(), out);
    CHECK(out.empty());
    clock.advance(1ms);
    held.take_due(clock.now(), out);
    REQUIRE(out.size() == 1);
    CHECK(strings(out[0]) == std::vector<std::string>{"id1", "", "0123456789"});
    CHECK(held.bytes() == 6);
    CHECK(held.next_deadline() == clock.now() + 10ms);
    clock.advance(10ms);
    held.take_due(clock.now(), out);
    REQUIRE(out.size() == 2);
    CHECK(strings(out[1]) == std::vector<std::string>{"id2", "", "abc"});
    CHECK(held.bytes() == 0);
    CHECK_FALSE(held.next_deadline());
    CHECK(held.dropped() == 0);
}

TEST_CASE(
    "held replies: a reply that would go over the byte bound is refused and counted, exactly at the bound") {
    ManualClock clock;
    HeldReplies held(10);
    CHECK(held.hold(make_frames({"1234", "123456"}), clock.now() + 5ms));  // 10 bytes: exactly the bound
    CHECK(held.bytes() == 10);
    CHECK_FALSE(held.hold(make_frames({"x"}), clock.now() + 5ms));  // one more byte: refused
    CHECK(held.dropped() == 1);
    CHECK(held.size() == 1);
    CHECK(held.bytes() == 10);
    CHECK(held.hold(make_frames({""}), clock.now() + 5ms));  // an empty frame weighs nothing
    CHECK(held.bytes() == 10);

    // Once the held ones are released, there is room again.
    std::vector<Frames> out;
    clock.advance(5ms);
    held.take_due(clock.now(), out);
    CHECK(out.size() == 2);
    CHECK(held.bytes() == 0);
    CHECK_FALSE(held.hold(make_frames({"0123456789a"}), clock.now() + 5ms));  // larger than the bound alone
    CHECK(held.dropped() == 2);
    CHECK(held.hold(make_frames({"0123456789"}), clock.now() + 5ms));
    CHECK(held.bytes() == 10);
}
