#include "rss.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace pirates::soak {

void RssWatch::sample(double at_s, const std::string& role, std::size_t kb) {
    if (kb == 0) return;
    auto& s = samples_[role];
    if (!s.empty() && s.back().first == at_s)
        s.back().second = std::max(s.back().second, kb);
    else
        s.emplace_back(at_s, kb);
}

RssWatch::Verdict RssWatch::judge(double run_s) const {
    Verdict v;
    const double warm_up = std::min(20.0, run_s / 6);
    for (const auto& [role, s] : samples_) {
        std::size_t early = 0, late = 0, all = 0;
        for (const auto& [t, kb] : s) {
            all = std::max(all, kb);
            if (t >= warm_up && t <= run_s / 3) early = std::max(early, kb);
            if (t >= run_s * 2 / 3 && t <= run_s) late = std::max(late, kb);
        }
        v.peak[role] = all;
        if (early == 0 || late == 0) continue;
        if (late > 2 * early + 8 * 1024) {
            v.ok = false;
            v.reason +=
                fmt::format("{}{} grew from {} KB to {} KB", v.reason.empty() ? "" : ", ", role, early, late);
        }
    }
    return v;
}

}  // namespace pirates::soak
