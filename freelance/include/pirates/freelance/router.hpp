#pragma once
// Freelance model 3, the router client (the one to pick): a ROUTER connected to every server, whose routing
// identities are their endpoints. The client pings every server every `ping_interval`; a server is alive
// while it was heard within `server_ttl` (expiry = last heard + TTL) and has not failed us since. Each
// request goes to ONE live server (round robin); if that server stays silent for `attempt_timeout`, expires,
// or turns out not to be connected, the request fails over to the next live one. After `request_timeout` the
// request fails, as a value.
//
// RouterClientCore (formerly RouterCore) is the logic without sockets (driven with `now`, tested with a
// ManualClock). RouterClient is the driver: a background agent thread owning the ROUTER, behind a small
// blocking API (see docs/freelance.md for why).
#include <pirates/common/clock.hpp>
#include <pirates/common/result.hpp>
#include <pirates/common/security.hpp>
#include <pirates/freelance/answer.hpp>

#include <pirates/common/stop.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace pirates::freelance {

struct RouterOptions {
    Duration ping_interval{2000};
    Duration server_ttl{6000};
    Duration request_timeout{3000};  // global, per request
    Duration attempt_timeout{1000};  // silence from the chosen server before failing over
    // How soon to ping again a server whose PING could not be routed (not connected yet): a server added at
    // run time is used as soon as it is connected and answers, not a whole ping interval later.
    Duration unroutable_retry{20};
    // A server that stayed unroutable this long is disconnected and connected again. This un-sticks the
    // client when its TCP connection is stuck somewhere useless (on loopback, a connect to a port nobody
    // listens on can end connected to itself, and libzmq then never tries again).
    Duration reconnect_after{6000};
    Security security{};  // CURVE (security.hpp); plaintext if empty
};

struct RouterClientStats {
    std::uint64_t pings = 0;
    std::uint64_t pongs = 0;
    std::uint64_t answers = 0;
    std::uint64_t failures = 0;   // requests failed after the global timeout
    std::uint64_t failovers = 0;  // attempts abandoned for another server
    std::uint64_t stale = 0;      // replies whose sequence is not the request in flight (late, duplicate)
    std::uint64_t malformed = 0;  // empty messages, a sequence that is not a decimal number
    std::uint64_t unknown = 0;    // messages from a peer we never connected to
    std::uint64_t unroutable = 0;
    std::uint64_t reconnects = 0;
    std::uint64_t cancelled = 0;  // requests abandoned by cancel() (RouterClient::request_stop)
};
using RouterCounters = RouterClientStats;  // the former name

// A message for the driver to send: the server's endpoint (its routing identity) then `frames`.
struct Outgoing {
    std::string endpoint;
    Frames frames;  // "PING", or sequence body...
};

// A finished request.
struct Completion {
    std::uint64_t sequence = 0;
    Reply reply;
};

class RouterClientCore {
  public:
    RouterClientCore(RouterOptions options, TimePoint now);

    // A server to use. Pinged at once. False if it was already known.
    bool connect(std::string endpoint, TimePoint now);
    // Start a request. An Error if one is already in flight (one at a time). Returns the sequence number.
    Result<std::uint64_t> request(Frames body, TimePoint now);
    // A message from `endpoint` (the frames after the routing identity).
    void on_message(std::string_view endpoint, Frames message, TimePoint now);
    // The driver could not send to `endpoint` (ROUTER_MANDATORY: not connected, or its pipe is full).
    void on_unroutable(std::string_view endpoint, TimePoint now);
    // Abandon the request in flight: it completes at once with the Error "interrupted" (its late reply, if
    // any, is stale). False if there was none.
    bool cancel();
    // Timers: pings due, fail-over on silence, global timeout.
    void tick(TimePoint now);
    // When tick() next has something to do.
    TimePoint next_deadline() const;

    // Drain what to send, and the finished request if any.
    std::vector<Outgoing> take_outgoing();
    std::optional<Completion> take_completion();
    // Endpoints the driver should disconnect and connect again (see RouterOptions::reconnect_after).
    std::vector<std::string> take_reconnects();

    bool busy() const { return pending_.has_value(); }
    bool known(std::string_view endpoint) const { return index_.contains(std::string(endpoint)); }
    bool alive(std::string_view endpoint, TimePoint now) const;
    std::size_t alive_count(TimePoint now) const;
    std::size_t server_count() const { return servers_.size(); }
    const RouterClientStats& stats() const { return counters_; }
    const RouterOptions& options() const { return options_; }
    // Empty when the servers, their index, the round-robin cursor and the request in flight agree.
    std::string check_invariants() const;

  private:
    struct Server {
        std::string endpoint;
        TimePoint ping_at;
        TimePoint expiry;
        bool alive = false;  // heard at least once, and not failed since
        std::optional<TimePoint> unroutable_since;
    };
    struct Pending {
        std::uint64_t sequence = 0;
        std::string sequence_text;
        Frames body;
        TimePoint deadline;
        std::optional<std::size_t> server;  // where the current attempt went
        TimePoint attempt_deadline;
        int attempts = 0;  // sends of this request so far
    };

    Server* find(std::string_view endpoint);
    bool usable(const Server& s, TimePoint now) const { return s.alive && now < s.expiry; }
    void heard(Server& s, TimePoint now);
    void dispatch(TimePoint now);
    void finish(Reply reply);
    void run_timers(TimePoint now);

    RouterOptions options_;
    std::vector<Server> servers_;
    std::unordered_map<std::string, std::size_t> index_;
    std::size_t cursor_ = 0;  // round robin
    std::uint64_t sequence_ = 0;
    std::optional<Pending> pending_;
    std::vector<Outgoing> outbox_;
    std::optional<Completion> done_;
    std::vector<std::string> reconnects_;
    RouterClientStats counters_;
};
using RouterCore = RouterClientCore;  // the former name

// The driver: an agent thread owns the ROUTER (with ROUTER_MANDATORY) and the core; the API talks to it over
// an inproc PAIR. The agent keeps pinging while the caller is idle, so liveness is current when a request
// comes.
class RouterClient {
  public:
    explicit RouterClient(zmq::context_t& context, RouterOptions options = {});
    ~RouterClient();
    RouterClient(const RouterClient&) = delete;
    RouterClient& operator=(const RouterClient&) = delete;

    // Add a server (its endpoint is also its routing identity). Used as soon as it answers a ping. False (and
    // a warning logged) if the endpoint is invalid or already connected.
    bool connect(const std::string& endpoint);
    // Send a request to one live server; the reply, or an Error after request_timeout ("interrupted" once
    // request_stop() was called).
    Reply request(Frames body);
    // From any thread (a StopSignalHook, say): the request in flight, if any, fails at once with the Error
    // "interrupted" (within a few ms: the waiting caller looks every 10 ms), and so does every later request.
    // connect() and stats() go on working.
    void request_stop() { stop_.request_stop(); }
    // The agent's counters (a snapshot).
    RouterClientStats stats();

  private:
    // Send a command to the agent and wait for its answer. An interruptible call (a REQUEST) stopped by
    // request_stop() sends CANCEL and waits for the (then prompt) answer.
    Frames call(Frames command, bool interruptible = false);

    StopSource stop_;
    zmq::socket_t pipe_;
    std::thread agent_;
};

}  // namespace pirates::freelance
