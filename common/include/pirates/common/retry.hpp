#pragma once
// Retry policy for request-reply clients: how long one attempt may take, and how many attempts there are.
#include <pirates/common/clock.hpp>

namespace pirates {

struct RetryPolicy {
    Duration timeout{2500};
    int attempts = 3;
};

// Tracks one request's attempts against a policy.
class RetryState {
  public:
    explicit RetryState(RetryPolicy policy) : policy_(policy) {}
    // Begin an attempt at `now`. Returns false when every attempt is used up.
    bool begin_attempt(TimePoint now) {
        if (used_ >= policy_.attempts) return false;
        ++used_;
        deadline_ = now + policy_.timeout;
        return true;
    }
    bool timed_out(TimePoint now) const { return now >= deadline_; }
    bool exhausted() const { return used_ >= policy_.attempts; }
    int attempts_used() const { return used_; }
    int retries() const { return used_ > 0 ? used_ - 1 : 0; }
    TimePoint deadline() const { return deadline_; }
    const RetryPolicy& policy() const { return policy_; }

  private:
    RetryPolicy policy_;
    int used_ = 0;
    TimePoint deadline_{};
};

}  // namespace pirates
