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
// given up) is discarded and counted as stale: a retried request completes at most once.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/majordomo/client.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pirates::majordomo {

struct AsyncClientConfig {
    std::string broker;
    Duration timeout{2500};  // per attempt of each request
    int attempts = 3;        // sends per request
};

struct Completion {
    std::uint64_t id = 0;  // as returned by send()
    Status status = Status::timeout;
    std::string service;
    Frames body;  // the reply body (correlation frame removed) when ok
    int attempts = 0;
    bool ok() const { return status == Status::ok; }
};

struct AsyncClientStats {
    std::uint64_t sent = 0;  // requests
    std::uint64_t answered = 0;
    std::uint64_t retries = 0;  // sends beyond the first
    std::uint64_t gave_up = 0;
    std::uint64_t stale = 0;      // replies for requests not in flight
    std::uint64_t discarded = 0;  // malformed or uncorrelated replies
};

class AsyncClient {
  public:
    AsyncClient(zmq::context_t& context, AsyncClientConfig config, const ClockSource& clock = steady_clock());

    // Queue a request; returns its id. Never blocks (a send the socket cannot take now is retried on
    // timeout).
    std::uint64_t send(std::string_view service, Frames body);
    // The next completion (an answered request, or one given up after its last attempt), waiting up to
    // `timeout`. nullopt if none came in time or a stop signal arrived.
    std::optional<Completion> recv(Duration timeout);
    std::size_t in_flight() const { return pending_.size(); }

    // For a caller's own poll loop: poll socket(); call on_readable() when readable and on_timer() at
    // next_deadline(); then take completions with recv(Duration{0}).
    zmq::socket_t& socket() { return socket_; }
    TimePoint next_deadline() const;
    void on_readable();
    void on_timer();

    const AsyncClientStats& stats() const { return stats_; }

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

    zmq::socket_t socket_;
    AsyncClientConfig config_;
    const ClockSource& clock_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, Pending> pending_;
    std::deque<Deadline> deadlines_;  // in deadline order (same timeout for all); stale entries skipped
    std::deque<Completion> completed_;
    AsyncClientStats stats_;
};

}  // namespace pirates::majordomo
