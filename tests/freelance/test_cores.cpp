// Model 1 attempt order and model 2 sequence matching, without sockets.
#include <doctest/doctest.h>
#include <pirates/freelance/shotgun.hpp>
#include <pirates/freelance/simple.hpp>

#include "support/net.hpp"

using namespace pirates;
using namespace pirates::freelance;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;

TEST_CASE(
    "model 1 order: each server in turn, retries per server, the Guide's default of 3 on a single server") {
    TryOrder several(3, 0);
    std::vector<std::size_t> got;
    while (auto i = several.next()) got.push_back(*i);
    CHECK(got == std::vector<std::size_t>{0, 1, 2});
    TryOrder single(1, 0);
    got.clear();
    while (auto i = single.next()) got.push_back(*i);
    CHECK(got == std::vector<std::size_t>{0, 0, 0});
    TryOrder two_each(2, 2);
    got.clear();
    while (auto i = two_each.next()) got.push_back(*i);
    CHECK(got == std::vector<std::size_t>{0, 0, 1, 1});
    TryOrder none(0, 1);
    CHECK_FALSE(none.next());
}

TEST_CASE(
    "model 2 core: the first reply with the sequence in flight wins - late, duplicate, stale replies do "
    "not") {
    ManualClock clock;
    ShotgunClientCore core(2500ms);
    std::string s1 = core.begin(clock.now());
    CHECK(s1 == "1");
    auto m = make_frames({"", "1", "OK"});
    CHECK(core.on_reply(m) == ShotgunClientCore::Verdict::answer);
    CHECK(strings(m) == std::vector<std::string>{"OK"});
    auto dup = make_frames({"", "1", "OK"});  // the slower server's reply to the same request
    CHECK(core.on_reply(dup) == ShotgunClientCore::Verdict::stale);
    std::string s2 = core.begin(clock.now());
    CHECK(s2 == "2");
    auto late = make_frames({"", "1", "OK"});  // still arriving during request 2
    CHECK(core.on_reply(late) == ShotgunClientCore::Verdict::stale);
    auto future = make_frames({"", "3", "OK"});
    CHECK(core.on_reply(future) == ShotgunClientCore::Verdict::stale);
    auto no_delimiter = make_frames({"2", "OK"});
    CHECK(core.on_reply(no_delimiter) == ShotgunClientCore::Verdict::malformed);
    auto short_one = make_frames({""});
    CHECK(core.on_reply(short_one) == ShotgunClientCore::Verdict::malformed);
    CHECK(core.in_flight());
    CHECK(core.stats().stale == 3);
    CHECK(core.stats().malformed == 2);
}

TEST_CASE("model 2 core: after the global timeout the request is abandoned and its replies are stale") {
    ManualClock clock;
    ShotgunClientCore core(100ms);
    core.begin(clock.now());
    clock.advance(99ms);
    CHECK_FALSE(core.expired(clock.now()));
    clock.advance(1ms);
    CHECK(core.expired(clock.now()));
    core.time_out();
    CHECK_FALSE(core.in_flight());
    auto m = make_frames({"", "1", "OK"});
    CHECK(core.on_reply(m) == ShotgunClientCore::Verdict::stale);
    CHECK(core.stats().timeouts == 1);
}
