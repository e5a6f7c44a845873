#pragma once
// The reference Freelance servers, one loop for the three models, on a ROUTER socket:
//   model 1: echo, REP envelope (wire-identical to a REP socket)
//   model 2: `sequence body...` -> `sequence "OK"`, REP envelope
//   model 3: ROUTER whose routing identity is its endpoint; "PING" -> "PONG", `sequence body...` ->
//            `sequence "OK"`
// A ROUTER in place of REP for models 1 and 2 so that malformed input and chaos drops are simply not answered
// (a REP would be stuck waiting to send), and slow answers do not block the loop.
//
// Memory is bounded in bytes: libzmq disconnects a client that sends a frame over max_message_bytes
// (ZMQ_MAXMSGSIZE); a client's pipe holds at most `hwm` answers (ZMQ_ROUTER_MANDATORY + send_routed(): an
// answer to a client that has gone, or that does not read its answers, is dropped and counted, never
// blocking); late answers (--slow-after) are held up to max_queue_bytes.
#include <pirates/common/chaos.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/held_replies.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/security.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pirates::freelance {

// Bind `socket` (a model-3 server's ROUTER) so that its routing identity is the endpoint clients connect to:
// `identity` if given; otherwise the bound endpoint. libzmq copies socket options into a listener when it
// binds, so a ZMQ_ROUTING_ID set after bind() is NOT used on that listener's connections; with an OS-picked
// port (tcp://host:*) we therefore bind, read the port, unbind, set the identity, and bind again to that
// concrete port before announcing it (no client can know the port before the announcement). Returns the bound
// endpoint.
std::string bind_with_identity(zmq::socket_t& socket, const std::string& bind, const std::string& identity);

struct ServerOptions {
    int model = 3;
    std::string bind = "tcp://127.0.0.1:*";
    std::string identity;  // model 3: routing identity; empty = the bound endpoint
    Chaos chaos;
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // larger inbound frames: the client is dropped
    std::size_t max_queue_bytes = kDefaultMaxQueueBytes;      // late answers held (--slow-after)
    int hwm = 1000;       // messages per client and direction (ZMQ_SNDHWM and ZMQ_RCVHWM)
    Security security{};  // CURVE (security.hpp); plaintext if empty
};

struct ServerStats {
    std::uint64_t requests = 0;
    std::uint64_t pings = 0;
    std::uint64_t malformed = 0;
    std::uint64_t peer_gone = 0;         // answers to clients that had gone, dropped
    std::uint64_t would_block = 0;       // answers to clients whose pipe was full (not reading), dropped
    std::uint64_t dropped_overflow = 0;  // late answers dropped because max_queue_bytes were held
};

// What a server makes of one message from its ROUTER (the client's identity first), before chaos and sending:
// a ping (reply: identity "PONG"), a request (reply: the model's answer, envelope included) or a malformed
// message (`why`, no reply). Pure, so that tests/fuzz can feed it arbitrary bytes.
struct DecodedRequest {
    enum class Kind { ping, request, malformed };
    Kind kind = Kind::malformed;
    Frames reply;
    std::string_view why;  // for malformed: a fixed text
};
DecodedRequest decode_request(int model, Frames message);

using ServerConfig = ServerOptions;  // the former names
using ServerCounters = ServerStats;

class Server {
  public:
    Server(zmq::context_t& context, ServerOptions options, const ClockSource& clock = steady_clock());
    // The endpoint bound (for model 3, also the routing identity unless one was given).
    const std::string& endpoint() const { return endpoint_; }
    const std::string& identity() const { return identity_; }
    // Serve until request_stop() (or `stop` becomes true, if given: seen within 10 ms); a stop requested before
    // run() makes it return at once. Chaos crash/hang end the process.
    void run(const std::atomic<bool>* stop = nullptr);
    // Thread-safe (a StopSignalHook, another thread): run() returns within one poll slice.
    void request_stop() { reactor_.request_stop(); }
    // Thread-safe (a SummarySignalHook): the running loop calls the on_summary() function on its own thread
    // within one poll slice.
    void request_summary() { reactor_.request_summary(); }
    void on_summary(std::function<void()> fn) { reactor_.on_summary(std::move(fn)); }
    const ServerStats& stats() const { return counters_; }
    // Calls fn every `interval` on the loop's thread (it may read stats()): how a metrics exporter
    // gets its snapshots. Call before run(), from the thread that will run it.
    void every(Duration interval, std::function<void()> fn) {
        reactor_.add_repeating(interval, std::move(fn));
    }

  private:
    void handle(Frames message);
    void answer(Frames reply);
    void flush_delayed(TimePoint now);
    // Keep a timer at the first held answer's deadline.
    void arm_flush();

    ServerOptions config_;
    const ClockSource& clock_;
    Reactor reactor_;
    std::optional<Reactor::TimerId> flush_timer_;
    zmq::socket_t socket_;
    std::string endpoint_;
    std::string identity_;
    HeldReplies delayed_;
    std::vector<Frames> due_;
    ServerStats counters_;
};

}  // namespace pirates::freelance
