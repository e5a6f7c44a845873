#pragma once
// Witness: the driver of a Binary Star pair's witness (bstarwitness), on the common Reactor. A ROUTER that
// binds; each lease request (witness.hpp) goes to a WitnessCore and its decision goes back to the sender.
// Malformed requests, and requests for a lease longer than the maximum, are logged and dropped (no reply).
// Each new lease holder is logged at info level ("lease: PRIMARY -> BACKUP (300 ms)").
#include <pirates/binary_star/witness.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/reactor.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace pirates::binary_star {

struct WitnessOptions {
    std::string bind;           // endpoint to bind for the pair's servers
    Duration max_lease{10000};  // the longest lease granted, and the quiet time after start
};

struct WitnessStats {
    std::uint64_t granted = 0;
    std::uint64_t denied = 0;
    std::uint64_t new_holders = 0;  // grants that were not renewals
    std::uint64_t malformed = 0;    // not a lease request: dropped
    std::uint64_t refused = 0;      // a lease longer than the maximum: dropped
    std::uint64_t unroutable = 0;   // replies to servers gone
};

class Witness {
  public:
    Witness(zmq::context_t& context, WitnessOptions options, const ClockSource& clock = steady_clock());
    Witness(const Witness&) = delete;
    Witness& operator=(const Witness&) = delete;

    // Bind (logging "bound witness EP") and start the quiet time. Called by run() if not called before.
    void start();
    void run();
    void request_stop() { reactor_.request_stop(); }
    void request_summary() { reactor_.request_summary(); }
    void on_summary(std::function<void()> fn) { reactor_.on_summary(std::move(fn)); }
    void every(Duration interval, std::function<void()> fn) {
        reactor_.add_repeating(interval, std::move(fn));
    }

    const WitnessStats& stats() const { return stats_; }
    std::optional<State> holder() const { return core_.holder(clock_.now()); }
    const std::string& endpoint() const { return endpoint_; }

  private:
    bool on_request();

    WitnessOptions options_;
    const ClockSource& clock_;
    Reactor reactor_;
    zmq::socket_t socket_;
    WitnessCore core_;
    std::string endpoint_;
    WitnessStats stats_;
    bool started_ = false;
};

}  // namespace pirates::binary_star
