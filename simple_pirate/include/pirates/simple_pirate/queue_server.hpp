#pragma once
// The Simple Pirate queue's driver: two ROUTER sockets (frontend for clients, backend for workers, both
// bound) around a Queue core, in a Reactor. The frontend is polled only while a worker is idle.
//
// Both ROUTERs set ZMQ_ROUTER_MANDATORY, so a message for a peer that has gone is reported instead of
// silently dropped: a request for a worker that has gone is re-routed to the next idle worker; a reply for a
// client that has gone is counted and dropped. Nothing blocks: every send is non-blocking.
#include <pirates/common/reactor.hpp>
#include <pirates/simple_pirate/queue.hpp>

#include <cstdint>
#include <string>

namespace pirates::simple_pirate {

struct QueueConfig {
    std::string frontend = "tcp://*:5555";
    std::string backend = "tcp://*:5556";
    std::size_t max_held = 10000;
};

class QueueServer {
  public:
    // Binds both sockets, announcing "bound frontend <ep>" and "bound backend <ep>".
    QueueServer(zmq::context_t& context, QueueConfig config);
    const std::string& frontend_endpoint() const { return frontend_endpoint_; }
    const std::string& backend_endpoint() const { return backend_endpoint_; }

    void run();
    void stop() { reactor_.stop(); }
    Reactor& reactor() { return reactor_; }

    const Queue& core() const { return core_; }
    std::uint64_t replies_to_gone_clients() const { return replies_to_gone_clients_; }

  private:
    bool on_frontend();
    bool on_backend();
    void flush();

    zmq::socket_t frontend_;
    zmq::socket_t backend_;
    std::string frontend_endpoint_;
    std::string backend_endpoint_;
    Queue core_;
    Reactor reactor_;
    std::vector<Outgoing> out_;
    std::uint64_t replies_to_gone_clients_ = 0;
};

// Send a ROUTER message without blocking. False, with `message` left whole, when the peer named by the first
// frame is unknown or gone (EHOSTUNREACH) or cannot take more (EAGAIN). Needs ZMQ_ROUTER_MANDATORY.
bool try_route(zmq::socket_t& router, Frames& message);

}  // namespace pirates::simple_pirate
