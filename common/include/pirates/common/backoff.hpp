#pragma once
// Reconnect back-off: exponential from `initial`, doubled after each failure, capped at `max`, with jitter so
// that a hundred workers do not reconnect in the same millisecond after a broker restart.
#include <pirates/common/clock.hpp>

#include <cstdint>
#include <random>

namespace pirates {

struct BackoffPolicy {
    Duration initial{1000};
    Duration max{32000};
    // Fraction of each delay that is random: a delay d is drawn uniformly from [d x (1 - jitter), d].
    // 0 gives the Guide's exact sequence. Never exceeds the cap.
    double jitter = 0.2;
};

class Backoff {
  public:
    explicit Backoff(BackoffPolicy policy, std::uint64_t seed = std::random_device{}());
    // The delay to wait before the next attempt; each call doubles the base for the following one.
    Duration next();
    // The peer answered: start again from `initial`.
    void reset() { base_ = policy_.initial; }
    Duration base() const { return base_; }
    const BackoffPolicy& policy() const { return policy_; }

  private:
    BackoffPolicy policy_;
    Duration base_;
    std::mt19937_64 rng_;
};

}  // namespace pirates
