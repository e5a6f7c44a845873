#pragma once
// The Simple Pirate queue's driver: two ROUTER sockets (frontend for clients, backend for workers, both
// bound) around a Queue core, in a Reactor. The frontend is polled only while a worker is idle.
//
// Both ROUTERs set ZMQ_ROUTER_MANDATORY and every send goes through send_routed(), so a message for a peer
// that has gone, or whose pipe is full, is reported instead of silently dropped: a request for such a worker
// is re-routed to the next idle worker; a reply for a client that has gone, or that does not read its replies
// (its pipe holds `hwm` of them), is counted and dropped. Nothing blocks: every send is non-blocking.
//
// Memory bounds: libzmq disconnects a peer that sends a frame over max_message_bytes (ZMQ_MAXMSGSIZE); per
// connection and direction libzmq queues at most `hwm` messages (while no worker is idle, requests wait in
// the clients' frontend pipes, not in the queue); the core's hold queue is bounded by max_held requests and
// max_queue_bytes.
#include <pirates/common/limits.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/simple_pirate/queue.hpp>

#include <cstdint>
#include <string>

namespace pirates::simple_pirate {

struct QueueConfig {
    std::string frontend = "tcp://*:5555";
    std::string backend = "tcp://*:5556";
    std::size_t max_held = 10000;
    std::size_t max_queue_bytes = kDefaultMaxQueueBytes;      // bytes the hold queue may hold
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // larger inbound frames: the peer is dropped
    int hwm = 1000;  // messages per peer and direction (ZMQ_SNDHWM and ZMQ_RCVHWM), both sockets
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
    // Replies dropped because the client's pipe was full (it does not read its replies).
    std::uint64_t replies_would_block() const { return replies_would_block_; }

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
    std::uint64_t replies_would_block_ = 0;
};

}  // namespace pirates::simple_pirate
