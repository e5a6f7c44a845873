#pragma once
// Time for cores and drivers. Cores never read a clock: they take `now` as an argument. Drivers read a
// SteadyClock; tests drive the same code with a ManualClock they advance by hand.
#include <chrono>

namespace pirates {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

// Milliseconds from now until `deadline`, never negative: the form zmq::poll wants.
inline Duration until(TimePoint now, TimePoint deadline) {
    if (deadline <= now) return Duration{0};
    return std::chrono::ceil<Duration>(deadline - now);
}

class ClockSource {
  public:
    virtual ~ClockSource() = default;
    virtual TimePoint now() const = 0;
};

class SteadyClock final : public ClockSource {
  public:
    TimePoint now() const override { return Clock::now(); }
};

// A clock that moves only when told to. Starts at an arbitrary fixed point, far from zero.
class ManualClock final : public ClockSource {
  public:
    ManualClock() : now_(TimePoint{} + std::chrono::hours(1000)) {}
    TimePoint now() const override { return now_; }
    void advance(Duration by) { now_ += by; }
    void set(TimePoint to) { now_ = to; }

  private:
    TimePoint now_;
};

// The process-wide steady clock, for drivers that take a ClockSource&.
const ClockSource& steady_clock();

}  // namespace pirates
