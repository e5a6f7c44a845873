#pragma once
// Majordomo asynchronous client: many requests in flight on one DEALER socket, each with its own timeout and
// attempts, replies matched to the request they answer.
//
// Matching. MDP 0.1 carries no request id, and with several workers replies arrive in completion order, not
// in request order, so neither FIFO nor the service frame can tell which request a reply answers. This client
// puts a correlation frame (see protocol.hpp: 16 bytes, marker + request id) in front of each request body
// and takes it off the reply. A worker must return that first frame first: echo workers do it by nature, and
// every worker built on pirates::majordomo::Worker does it for any handler (the frame is stripped before the
// handler and put back on its reply). Against workers that do neither, use the synchronous Client, which
// needs no cooperation. A reply whose id is not in flight (a late answer to a request already answered or
// given up) is discarded and counted: a retried request completes at most once.
//
// Two brokers (`connect = "A,B"`, a Binary Star pair): when an attempt of any request times out, the broker is
// presumed gone: for `settle` (Binary Star's pause) the socket stays open and a reply that still comes from
// it completes its request; new requests wait. Then the socket is replaced by one to the next broker, and
// every request still in flight is sent there (each such send is one of its attempts: a request whose
// attempts are all used gives up instead). A late or duplicate reply is discarded by its correlation frame,
// as above. With one broker: no settle, each request retried on its own, as before. The list, the settle and
// the switch are the common FailoverCore.
#include <pirates/common/clock.hpp>
#include <pirates/common/failover.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/outcome.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/stop.hpp>
#include <pirates/majordomo/client.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pirates::majordomo {

struct AsyncClientOptions {
    std::string connect;     // the broker's endpoint, or a comma-separated list ("A,B": fail over)
    Duration timeout{2500};  // per attempt of each request
    int attempts = 3;        // sends per request
    // The framing spoken: 0.1, 18/MDP 0.2 or majortomo. Under 0.2 each PARTIAL reply goes to `on_partial`
    // (request id, body without the correlation frame) as it arrives, from within recv()/on_readable();
    // the FINAL completes the request. A request retried may bring the same partials again.
    Version version = Version::v01;
    std::function<void(std::uint64_t, Frames&&)> on_partial{};
    Security security{};  // CURVE (Security::client); plaintext if empty
    // With several brokers: the pause between a timeout and the switch to the next broker. Unused with one.
    Duration settle{2000};
};
using AsyncClientConfig = AsyncClientOptions;  // the former name

// One request's outcome (reply: the reply body, correlation frame removed; gave_up after its last attempt;
// interrupted by request_stop()), and which request it was.
struct Completion : Outcome<Frames> {
    std::uint64_t id = 0;  // as returned by send()
    std::string service;
};

struct AsyncClientStats {
    std::uint64_t requests = 0;     // send() calls
    std::uint64_t replies = 0;      // answered
    std::uint64_t retries = 0;      // sends beyond the first
    std::uint64_t gave_up = 0;      // unanswered after every attempt
    std::uint64_t interrupted = 0;  // completed by request_stop()
    std::uint64_t malformed = 0;    // replies that are not MDP client replies, or carry no correlation frame
    std::uint64_t discarded = 0;    // replies for requests not in flight (late, duplicate) or another service
    std::uint64_t partials = 0;     // 0.2 PARTIAL replies handed to on_partial
    std::uint64_t failovers = 0;    // switches to the next broker (several brokers only)
    std::uint64_t moved = 0;        // requests resent to the next broker at a switch
};

class AsyncClient {
  public:
    AsyncClient(zmq::context_t& context, AsyncClientOptions options,
                const ClockSource& clock = steady_clock());

    // Queue a request; returns its id. Never blocks (a send the socket cannot take now is retried on
    // timeout). After request_stop() nothing is sent: the request completes at once as interrupted.
    std::uint64_t send(std::string_view service, Frames body);
    // The next completion (answered, given up after its last attempt, or interrupted), waiting up to
    // `timeout`. Every request sent completes exactly once. nullopt if none came in time, or once a stopped
    // client has handed out every completion.
    std::optional<Completion> recv(Duration timeout);
    std::size_t in_flight() const { return pending_.size(); }

    // Thread-safe. recv() then returns promptly (within 100 ms): every request still in flight completes as
    // `interrupted`, and nothing is sent any more.
    void request_stop() { stop_->request_stop(); }
    bool stop_requested() const { return stop_->stop_requested(); }

    // For a caller's own poll loop: poll socket(); call on_readable() when readable and on_timer() at
    // next_deadline(); then take completions with recv(Duration{0}). With several brokers on_timer() may
    // replace the socket (a fail-over): take socket() afresh for each poll.
    zmq::socket_t& socket() { return socket_; }
    const std::vector<std::string>& endpoints() const { return endpoints_; }
    std::size_t current() const { return failover_.current(); }
    bool settling() const { return failover_.settling(); }
    TimePoint next_deadline() const;
    void on_readable();
    void on_timer();

    const AsyncClientStats& stats() const { return stats_; }
    const AsyncClientOptions& options() const { return options_; }

  private:
    struct Pending {
        std::string service;
        Frames body;  // kept for resending
        int attempts = 0;
    };
    struct Deadline {
        TimePoint when;
        std::uint64_t id;
        int attempt;
    };
    void transmit(std::uint64_t id, Pending& p, TimePoint now);
    void complete(std::uint64_t id, Pending&& p, Outcome<Frames> outcome);
    void interrupt_all();
    void open();
    void switch_over(TimePoint now);

    zmq::context_t& context_;
    AsyncClientOptions options_;
    std::vector<std::string> endpoints_;
    FailoverCore failover_;
    zmq::socket_t socket_;
    const ClockSource& clock_;
    std::unique_ptr<StopSource> stop_ = std::make_unique<StopSource>();  // on the heap: movable
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, Pending> pending_;
    std::deque<Deadline> deadlines_;  // in deadline order (same timeout for all); stale entries skipped
    std::deque<Completion> completed_;
    AsyncClientStats stats_;
};

}  // namespace pirates::majordomo
