#pragma once
// Majordomo synchronous client (7/MDP 0.1 client side, DEALER socket sending the empty delimiter itself).
//
// request(service, body) sends one request and waits up to `timeout` for the reply. On silence it closes the
// socket (linger 0), opens a new one and sends again, up to `attempts` sends in all, then gives up: the
// outcome is a value (Status::gave_up), never an exception. Because the socket is replaced after every silent
// attempt and only one request is ever in flight on a socket, a late reply to an earlier request can never be
// taken for the answer to the current one. A reply whose service frame is not the service asked is discarded
// (and the wait goes on). The attempts and their deadlines are the common RetryCore; Client is its driver.
//
// Two brokers (a Binary Star pair, `connect = "A,B"`): a silent attempt closes the socket, waits `settle`
// (Binary Star's pause: the backup takes over only after two missed heartbeats), then connects to the next
// broker in the list and resends there, up to `attempts` sends in all (common FailoverCore). A request stays
// on the broker that answered it. With one endpoint there is no settle: the Lazy Pirate rule above.
#include <pirates/common/clock.hpp>
#include <pirates/common/failover.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/outcome.hpp>
#include <pirates/common/retry.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/stop.hpp>
#include <pirates/majordomo/protocol.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pirates::majordomo {

struct ClientOptions {
    std::string connect;     // the broker's endpoint, or a comma-separated list ("A,B": fail over)
    Duration timeout{2500};  // per attempt
    int attempts = 3;        // sends per request (the reference's "retries"), over all brokers
    // The framing spoken: 0.1, 18/MDP 0.2 (a worker may answer with PARTIALs before its FINAL), majortomo.
    Version version = Version::v01;
    Security security{};  // CURVE (Security::client); plaintext if empty
    // With several brokers: the pause between a silent attempt and the switch to the next broker (Binary
    // Star's; keep it >= 2 of the pair's heartbeats). Unused with one broker.
    Duration settle{2000};
};
using ClientConfig = ClientOptions;  // the former name

struct ClientStats {
    std::uint64_t requests = 0;     // request() calls
    std::uint64_t replies = 0;      // answered
    std::uint64_t retries = 0;      // sends beyond the first
    std::uint64_t reconnects = 0;   // sockets closed and reopened (retries, and after giving up)
    std::uint64_t gave_up = 0;      // unanswered after every attempt
    std::uint64_t interrupted = 0;  // cut short by request_stop()
    std::uint64_t malformed = 0;    // replies that are not MDP client replies
    std::uint64_t discarded = 0;    // well-formed replies for another service
    std::uint64_t partials = 0;     // 0.2 PARTIAL replies handed to the caller
    std::uint64_t failovers = 0;    // switches to the next broker (several brokers only)
};

class Client {
  public:
    Client(zmq::context_t& context, ClientOptions options, const ClockSource& clock = steady_clock());

    // `reply` with the reply body, `gave_up` after `attempts` silent attempts, or `interrupted`.
    // Under 0.2, each PARTIAL reply goes to `on_partial` as it arrives (on this thread), and the FINAL is the
    // outcome's reply; the deadline of an attempt is not moved by partials, and a retry may bring the same
    // partials again.
    using PartialHandler = std::function<void(Frames&&)>;
    [[nodiscard]] Outcome<Frames> request(std::string_view service, Frames body,
                                          const PartialHandler& on_partial = {});

    // Thread-safe. A request waiting returns `interrupted` within 100 ms; from then on every request returns
    // `interrupted` at once, without sending.
    void request_stop() { stop_->request_stop(); }
    bool stop_requested() const { return stop_->stop_requested(); }

    const ClientStats& stats() const { return stats_; }
    const ClientOptions& options() const { return options_; }
    // The brokers (options().connect split) and the one in use.
    const std::vector<std::string>& endpoints() const { return endpoints_; }
    std::size_t current() const { return failover_.current(); }
    const std::string& current_endpoint() const { return endpoints_[failover_.current()]; }

  private:
    void reopen();
    bool fail_over();
    void transmit(std::string_view service);
    Outcome<Frames> give_up();
    Outcome<Frames> interrupt();

    zmq::context_t& context_;
    ClientOptions options_;
    const ClockSource& clock_;
    RetryCore retry_;
    std::vector<std::string> endpoints_;
    FailoverCore failover_;
    zmq::socket_t socket_;
    std::unique_ptr<StopSource> stop_ = std::make_unique<StopSource>();  // on the heap: Client stays movable
    ClientStats stats_;
};

}  // namespace pirates::majordomo
