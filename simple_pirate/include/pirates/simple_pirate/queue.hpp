#pragma once
// The Simple Pirate queue's logic, without a socket: idle workers in least-recently-used order, client
// requests routed to the least recently used idle worker, replies routed back to their client.
//
// Messages are given exactly as the two ROUTER sockets receive them, and come back (in `out`) exactly as the
// ROUTERs must send them:
//   backend in:   [worker-id] "" 0x01                            READY: the worker joins the tail of the idle
//   list
//                 [worker-id] "" [client-id] "" reply...         reply: to the frontend, the worker joins the
//                 tail
//   frontend in:  [client-id] "" request...
//   backend out:  [worker-id] "" [client-id] "" request...       to the head (least recently used) idle
//   worker frontend out: [client-id] "" reply...
// A request given while no worker is idle is held (FIFO) until one is, bounded in count (max_held) and in
// bytes (max_held_bytes, the byte_size() of each held message): a request that would go over either bound is
// dropped and counted. The driver reads the frontend only while accepting() (a worker is idle), as the
// protocol says, so holding is the exception (a request re-routed after its worker was found gone), not the
// rule: requests that wait for a worker wait in libzmq's pipes, bounded by the frontend's high-water mark.
//
// Simple Pirate has no heartbeat: the queue learns that a worker has gone only when a request cannot be
// delivered to it (the driver reports it with on_undeliverable(); the request goes to the next idle worker).
//
// Every operation is O(1) in the number of workers and clients. Frames are moved, never copied.
#include <pirates/common/frames.hpp>
#include <pirates/common/limits.hpp>

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace pirates::simple_pirate {

inline constexpr unsigned char kReady = 0x01;

struct Outgoing {
    enum class To { frontend, backend };
    To to;
    Frames frames;
};

struct QueueCounters {
    std::uint64_t requests = 0;    // valid client requests received
    std::uint64_t dispatched = 0;  // requests sent to a worker (a re-route after a lost worker counts again)
    std::uint64_t replies = 0;     // worker replies forwarded to the frontend
    std::uint64_t ready = 0;       // READY messages
    std::uint64_t held = 0;        // requests that had to wait for a worker
    std::uint64_t dropped_overflow = 0;  // requests dropped because the hold queue was full (count or bytes)
    std::uint64_t invalid_frontend = 0;  // malformed client messages, dropped
    std::uint64_t invalid_backend = 0;   // malformed worker messages, dropped
    std::uint64_t protocol_errors = 0;   // a message from a worker already idle (a REQ worker cannot do that)
    std::uint64_t workers_lost = 0;      // workers found gone when a request was sent to them
};

class Queue {
  public:
    explicit Queue(std::size_t max_held = 10000, std::size_t max_held_bytes = kDefaultMaxQueueBytes)
        : max_held_(max_held), max_held_bytes_(max_held_bytes) {}

    void on_backend(Frames message, std::vector<Outgoing>& out);
    void on_frontend(Frames message, std::vector<Outgoing>& out);
    // A backend message from `out` could not be delivered: its worker has gone. The worker is forgotten (it
    // was already out of the idle list) and the request goes to the next idle worker, or back to the head of
    // the hold queue.
    void on_undeliverable(Frames dispatch, std::vector<Outgoing>& out);

    // Read the frontend? (A worker is idle.)
    bool accepting() const { return !idle_.empty(); }
    std::size_t idle_workers() const { return idle_.size(); }
    std::size_t held_requests() const { return held_.size(); }
    std::size_t held_bytes() const { return held_bytes_; }
    bool is_idle(std::string_view worker) const { return index_.count(std::string(worker)) != 0; }
    // Idle workers, least recently used first (for tests and logs).
    std::vector<std::string> idle_order() const { return {idle_.begin(), idle_.end()}; }
    const QueueCounters& counters() const { return counters_; }

  private:
    void worker_idle(std::string id, std::vector<Outgoing>& out);
    // Route a client message [client-id] "" request...: to the LRU idle worker, or hold it.
    void route(Frames request, bool oldest, std::vector<Outgoing>& out);
    void hold(Frames request, bool oldest);

    std::size_t max_held_;
    std::size_t max_held_bytes_;
    std::list<std::string> idle_;  // head: least recently used
    std::unordered_map<std::string, std::list<std::string>::iterator> index_;
    std::deque<Frames> held_;
    std::size_t held_bytes_ = 0;  // byte_size() of everything in held_
    QueueCounters counters_;
};

}  // namespace pirates::simple_pirate
