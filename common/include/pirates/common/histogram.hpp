#pragma once
// A latency histogram with fixed bucket bounds, for stats() and metrics (Prometheus' histogram shape:
// cumulative counts per upper bound, plus the count and the sum of all observations). Plain data, no
// locking: the thread that owns a core observes into it; readers copy it.
#include <array>
#include <chrono>
#include <cstdint>

namespace pirates {

struct Histogram {
    // Upper bounds in seconds, as Prometheus' default buckets (5 ms .. 10 s); +Inf is implicit (count).
    static constexpr std::array<double, 11> bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    std::array<std::uint64_t, bounds.size()> buckets{};  // observations <= bounds[i] (not cumulative)
    std::uint64_t count = 0;
    double sum = 0;  // seconds

    void observe(double seconds) {
        ++count;
        sum += seconds;
        for (std::size_t i = 0; i < bounds.size(); ++i)
            if (seconds <= bounds[i]) {
                ++buckets[i];
                break;
            }
    }
    template <class Rep, class Period>
    void observe(std::chrono::duration<Rep, Period> d) {
        observe(std::chrono::duration<double>(d).count());
    }
    // Observations <= bounds[i], counting all smaller buckets too (Prometheus' `le` series).
    std::uint64_t cumulative(std::size_t i) const {
        std::uint64_t n = 0;
        for (std::size_t k = 0; k <= i && k < buckets.size(); ++k) n += buckets[k];
        return n;
    }
};

}  // namespace pirates
