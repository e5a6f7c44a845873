// Unit tests of RetryCore, the retry machine of every synchronous client: attempts, deadlines and reply
// checks with a manual clock.
#include <doctest/doctest.h>
#include <pirates/common/retry.hpp>

#include "support/net.hpp"

using namespace pirates;

using namespace std::chrono_literals;
using Action = RetryCore::Action;

TEST_CASE("retry core: first send, then a resend per timeout, then give up after the last attempt") {
    ManualClock clock;
    RetryCore a({100ms, 3});
    CHECK(a.start(test::make_frames({"1"}), clock.now()) == Action::send);
    CHECK(a.in_flight());
    CHECK(a.attempts_used() == 1);
    CHECK(a.deadline() == clock.now() + 100ms);

    clock.advance(99ms);
    CHECK(a.on_timeout(clock.now()) == Action::wait);  // not yet
    clock.advance(1ms);
    CHECK(a.on_timeout(clock.now()) == Action::resend);
    CHECK(a.attempts_used() == 2);
    CHECK(a.deadline() == clock.now() + 100ms);  // a fresh timeout for the new attempt

    clock.advance(100ms);
    CHECK(a.on_timeout(clock.now()) == Action::resend);
    CHECK(a.attempts_used() == 3);
    clock.advance(100ms);
    CHECK(a.on_timeout(clock.now()) == Action::give_up);
    CHECK_FALSE(a.in_flight());
    CHECK(a.attempts_used() == 3);
    // Nothing more happens once it is over.
    clock.advance(1000ms);
    CHECK(a.on_timeout(clock.now()) == Action::wait);
}

TEST_CASE("retry core: a reply ends the request - the next request starts with fresh attempts") {
    ManualClock clock;
    RetryCore a({100ms, 2}, echo_check());
    a.start(test::make_frames({"7"}), clock.now());
    clock.advance(150ms);
    CHECK(a.on_timeout(clock.now()) == Action::resend);
    CHECK(a.on_reply(test::make_frames({"7"}), clock.now()) == Action::deliver);
    CHECK_FALSE(a.in_flight());
    CHECK(test::strings(a.take_request()) == std::vector<std::string>{"7"});

    CHECK(a.start(test::make_frames({"8"}), clock.now()) == Action::send);
    CHECK(a.attempts_used() == 1);
    CHECK(a.discarded() == 0);
}

TEST_CASE("retry core: a reply that does not answer the request is discarded, never delivered") {
    ManualClock clock;
    RetryCore a({100ms, 3}, echo_check());
    a.start(test::make_frames({"5"}), clock.now());
    CHECK(a.on_reply(test::make_frames({"4"}), clock.now()) == Action::resend);  // stale or malformed
    CHECK(a.discarded() == 1);
    CHECK(a.in_flight());
    CHECK(a.on_reply(test::make_frames({"5", "extra"}), clock.now()) == Action::resend);
    CHECK(a.on_reply(test::make_frames({""}), clock.now()) == Action::give_up);  // third wrong reply: done
    CHECK(a.discarded() == 3);
    CHECK_FALSE(a.in_flight());
    // A reply arriving when nothing is in flight is discarded too.
    CHECK(a.on_reply(test::make_frames({"5"}), clock.now()) == Action::wait);
    CHECK(a.discarded() == 4);
}

TEST_CASE("retry core: without a check any reply answers - multi-frame echo compares every frame") {
    ManualClock clock;
    RetryCore any({100ms, 3});
    any.start(test::make_frames({"q"}), clock.now());
    CHECK(any.on_reply(test::make_frames({"anything", "at all"}), clock.now()) == Action::deliver);

    CHECK(same_frames(test::make_frames({"a", "", "c"}), test::make_frames({"a", "", "c"})));
    CHECK_FALSE(same_frames(test::make_frames({"a", "", "c"}), test::make_frames({"a", "c"})));
    CHECK_FALSE(same_frames(test::make_frames({"a"}), test::make_frames({"b"})));
    CHECK(same_frames(Frames{}, Frames{}));
}

TEST_CASE("retry core: a policy with no attempt gives up at once") {
    ManualClock clock;
    RetryCore a({100ms, 0});
    CHECK(a.start(test::make_frames({"x"}), clock.now()) == Action::give_up);
    CHECK_FALSE(a.in_flight());
}

TEST_CASE("retry core: rearm moves the deadline of the attempt in flight to count from when it was sent") {
    ManualClock clock;
    RetryCore a({100ms, 2});
    a.start(test::make_frames({"1"}), clock.now());
    clock.advance(100ms);
    REQUIRE(a.on_timeout(clock.now()) == Action::resend);
    clock.advance(250ms);  // the driver paused (a settle delay) before sending the resend
    CHECK(a.on_timeout(clock.now()) == Action::give_up);  // without rearm the pause ate the whole attempt
    a.start(test::make_frames({"2"}), clock.now());
    clock.advance(100ms);
    REQUIRE(a.on_timeout(clock.now()) == Action::resend);
    clock.advance(250ms);
    a.rearm(clock.now());
    CHECK(a.deadline() == clock.now() + 100ms);
    CHECK(a.attempts_used() == 2);
    clock.advance(99ms);
    CHECK(a.on_timeout(clock.now()) == Action::wait);
    clock.advance(1ms);
    CHECK(a.on_timeout(clock.now()) == Action::give_up);
    // Over: rearm changes nothing.
    const TimePoint was = a.deadline();
    a.rearm(clock.now() + 1000ms);
    CHECK(a.deadline() == was);
    CHECK_FALSE(a.in_flight());
}

TEST_CASE("share copies a message for sending and leaves the original intact") {
    std::string big(1000, 'x');
    Frames original = test::make_frames({"small", big});
    Frames copy = share(original);
    CHECK(test::strings(copy) == test::strings(original));
    copy.clear();
    CHECK(test::strings(original) == std::vector<std::string>{"small", big});
}
