#pragma once
// The reference Freelance servers, one loop for the three models, on a ROUTER socket:
//   model 1: echo, REP envelope (wire-identical to a REP socket)
//   model 2: `sequence body...` -> `sequence "OK"`, REP envelope
//   model 3: ROUTER whose routing identity is its endpoint; "PING" -> "PONG", `sequence body...` ->
//            `sequence "OK"`
// A ROUTER in place of REP for models 1 and 2 so that malformed input and chaos drops are simply not answered
// (a REP would be stuck waiting to send), and slow answers do not block the loop.
#include <pirates/common/chaos.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>

namespace pirates::freelance {

// Bind `socket` (a model-3 server's ROUTER) so that its routing identity is the endpoint clients connect to:
// `identity` if given; otherwise the bound endpoint. libzmq copies socket options into a listener when it
// binds, so a ZMQ_ROUTING_ID set after bind() is NOT used on that listener's connections; with an OS-picked
// port (tcp://host:*) we therefore bind, read the port, unbind, set the identity, and bind again to that
// concrete port before announcing it (no client can know the port before the announcement). Returns the bound
// endpoint.
std::string bind_with_identity(zmq::socket_t& socket, const std::string& bind, const std::string& identity);

struct ServerConfig {
    int model = 3;
    std::string bind = "tcp://127.0.0.1:*";
    std::string identity;  // model 3: routing identity; empty = the bound endpoint
    Chaos chaos;
};

struct ServerCounters {
    std::uint64_t requests = 0;
    std::uint64_t pings = 0;
    std::uint64_t malformed = 0;
};

class Server {
  public:
    Server(zmq::context_t& context, ServerConfig config);
    // The endpoint bound (for model 3, also the routing identity unless one was given).
    const std::string& endpoint() const { return endpoint_; }
    const std::string& identity() const { return identity_; }
    // Serve until `stop` becomes true (if given) or a stop signal arrives. Chaos crash/hang end the process.
    void run(const std::atomic<bool>* stop = nullptr);
    const ServerCounters& counters() const { return counters_; }

  private:
    void handle(Frames message);
    void answer(Frames reply);
    void flush_delayed(TimePoint now);

    ServerConfig config_;
    zmq::socket_t socket_;
    std::string endpoint_;
    std::string identity_;
    std::deque<std::pair<TimePoint, Frames>> delayed_;  // constant delay: deadline order is arrival order
    ServerCounters counters_;
};

}  // namespace pirates::freelance
