#pragma once
// Memory growth: the resident set (VmRSS) of every running child, sampled once a second, kept per role (the
// largest of a role's processes at each sample: the workers are one role).
//
// The rule, per role: the peak of the last third of the fault phase must not exceed twice the peak of the first
// third (after a warm-up of min(20 s, a sixth of the run)) plus 8 MB. A process that grows steadily fails it
// once what it adds over a third of the run exceeds its early peak plus 8 MB (a slow leak needs a long run);
// one that settles after start-up, or is restarted by a fault (which only lowers its RSS), passes. A role
// without samples in either window (a run too short) is not judged.
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pirates::soak {

class RssWatch {
  public:
    // `at_s`: seconds since the fault phase began.
    void sample(double at_s, const std::string& role, std::size_t kb);

    struct Verdict {
        bool ok = true;
        std::string reason;                       // the roles that grew, with their figures
        std::map<std::string, std::size_t> peak;  // whole run, KB
    };
    Verdict judge(double run_s) const;

  private:
    std::map<std::string, std::vector<std::pair<double, std::size_t>>> samples_;
};

}  // namespace pirates::soak
