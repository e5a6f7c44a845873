#include <doctest/doctest.h>
#include <pirates/common/backoff.hpp>
#include <pirates/common/retry.hpp>

#include <set>

using namespace pirates;
using namespace std::chrono_literals;

TEST_CASE("without jitter the back-off doubles up to the cap: the Guide's sequence") {
    Backoff b({1000ms, 32000ms, 0.0});
    std::vector<long> seq;
    for (int i = 0; i < 8; ++i) seq.push_back(static_cast<long>(b.next().count()));
    CHECK(seq == std::vector<long>{1000, 2000, 4000, 8000, 16000, 32000, 32000, 32000});
}

TEST_CASE("with jitter every delay lies in [base x (1 - jitter), base] and never above the cap") {
    for (std::uint64_t seed = 1; seed <= 50; ++seed) {
        Backoff b({100ms, 1000ms, 0.25}, seed);
        Duration base = 100ms;
        for (int i = 0; i < 10; ++i) {
            Duration d = b.next();
            CHECK(d <= base);
            CHECK(d >= Duration{base.count() * 3 / 4});
            CHECK(d <= 1000ms);
            base = std::min(base * 2, Duration{1000});
        }
    }
}

TEST_CASE("jitter spreads delays: different seeds give different first delays") {
    std::set<long> firsts;
    for (std::uint64_t seed = 1; seed <= 20; ++seed)
        firsts.insert(Backoff({1000ms, 32000ms, 0.5}, seed).next().count());
    CHECK(firsts.size() > 10);
}

TEST_CASE("reset after success starts the sequence again") {
    Backoff b({10ms, 80ms, 0.0});
    b.next();
    b.next();
    b.next();
    CHECK(b.next() == 80ms);
    b.reset();
    CHECK(b.next() == 10ms);
    CHECK(b.next() == 20ms);
}

TEST_CASE("the back-off does not overflow after very many failures") {
    Backoff b({1ms, 32000ms, 0.0});
    for (int i = 0; i < 10000; ++i) b.next();
    CHECK(b.next() == 32000ms);
}

TEST_CASE("retry state: a deadline per attempt and a bounded number of attempts") {
    ManualClock clock;
    RetryState r({250ms, 3});
    REQUIRE(r.begin_attempt(clock.now()));
    CHECK(r.deadline() == clock.now() + 250ms);
    clock.advance(249ms);
    CHECK_FALSE(r.timed_out(clock.now()));
    clock.advance(1ms);
    CHECK(r.timed_out(clock.now()));
    REQUIRE(r.begin_attempt(clock.now()));
    REQUIRE(r.begin_attempt(clock.now()));
    CHECK(r.exhausted());
    CHECK(r.retries() == 2);
    CHECK_FALSE(r.begin_attempt(clock.now()));
    CHECK(r.attempts_used() == 3);
}
