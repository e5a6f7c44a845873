#pragma once
// The fault schedule: every 1-5 s (seeded), one fault picked at random:
//   kill-worker   SIGKILL a worker, start it again
//   kill-titanic  SIGKILL titanic, start it again on the same store
//   kill-broker   SIGKILL or SIGTERM the broker, start it again (the proxies follow its new port)
//   drop          blackhole a link (titanic's or a worker's) for 0.5-3 s, then heal it
//   cut           close a link's connections and refuse new ones for 0.5-3 s, then heal it
//   delay         delay a link's bytes by 100-500 ms for 1-4 s, then heal it
#include "topology.hpp"

#include <array>
#include <cstdint>
#include <random>
#include <string>

namespace pirates::soak {

enum class Fault { kill_worker, kill_titanic, kill_broker, drop, cut, delay };
inline constexpr std::size_t fault_kinds = 6;
const char* name(Fault f);

class FaultSchedule {
  public:
    FaultSchedule(Topology& topology, std::uint64_t seed);
    // The first fault is due 1-5 s from now (call when the topology serves).
    void start();
    // Inject the fault that is due, heal the links whose fault has run its time.
    void tick();
    // No more faults; every link healed.
    void heal_all();
    const std::array<int, fault_kinds>& counts() const { return counts_; }

  private:
    void inject(Fault f);
    Duration between(int min_ms, int max_ms);

    Topology& topology_;
    std::mt19937_64 rng_;
    Duration first_;  // drawn first, so that a seed gives the same sequence whenever start() is called
    TimePoint next_;
    std::vector<TimePoint> heal_at_;  // per link; TimePoint{} when healthy
    std::array<int, fault_kinds> counts_{};
};

}  // namespace pirates::soak
