#include <pirates/common/backoff.hpp>

#include <algorithm>

namespace pirates {

Backoff::Backoff(BackoffPolicy policy, std::uint64_t seed)
    : policy_(policy), base_(policy.initial), rng_(seed) {
    policy_.initial = std::max(policy_.initial, Duration{0});
    policy_.max = std::max(policy_.max, policy_.initial);
    policy_.jitter = std::clamp(policy_.jitter, 0.0, 1.0);
    base_ = policy_.initial;
}

Duration Backoff::next() {
    Duration d = std::min(base_, policy_.max);
    // Double for next time, without overflowing however many failures there were.
    base_ = (base_ >= policy_.max / 2) ? policy_.max : base_ * 2;
    if (policy_.jitter <= 0.0 || d.count() == 0) return d;
    std::uniform_real_distribution<double> u(0.0, policy_.jitter);
    auto cut = static_cast<Duration::rep>(static_cast<double>(d.count()) * u(rng_));
    return d - Duration{cut};
}

}  // namespace pirates
