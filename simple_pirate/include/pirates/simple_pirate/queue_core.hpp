#pragma once
// The Simple Pirate queue's logic, without a socket: idle workers in least-recently-used order, client
// requests routed to the least recently used idle worker, replies routed back to their client.
//
// Messages are given exactly as the two ROUTER sockets receive them (on_message with the channel they came
// from), and leave through the Outbox exactly as the ROUTERs must send them:
//   backend in:   [worker-id] "" 0x01                            READY: the worker joins the tail of the idle
//                                                                list
//                 [worker-id] "" [client-id] "" reply...         reply: to the frontend, the worker joins the
//                                                                tail
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
// delivered to it (the Outbox's send result is not `sent`): the worker is forgotten and the request goes to
// the next idle worker, or back to the head of the hold queue. A reply that cannot be delivered (client gone,
// or not reading) is dropped and counted.
//
// Every operation is O(1) in the number of workers and clients. Frames are moved, never copied.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/outbox.hpp>

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <unordered_map>
#include <vector>

namespace pirates::simple_pirate {

inline constexpr unsigned char kReady = 0x01;

// The queue's two sockets, as Outbox channels.
inline constexpr Channel kFrontend = 0;  // clients
inline constexpr Channel kBackend = 1;   // workers

struct QueueStats {
    std::uint64_t requests = 0;    // valid client requests received
    std::uint64_t dispatched = 0;  // requests sent to a worker (a re-route after a lost worker counts again)
    std::uint64_t replies = 0;     // worker replies forwarded to the frontend (sent or not)
    std::uint64_t readies = 0;     // READY messages
    std::uint64_t held = 0;        // requests that had to wait for a worker
    std::uint64_t dropped_overflow = 0;  // requests dropped because the hold queue was full (count or bytes)
    std::uint64_t malformed = 0;         // malformed messages dropped, from clients and workers
    std::uint64_t malformed_from_workers = 0;  // of which from workers (backend)
    std::uint64_t protocol_errors = 0;  // a message from a worker already idle (a REQ worker cannot do that)
    std::uint64_t unroutable = 0;       // sends that found the peer gone or full (workers and clients)
    std::uint64_t workers_lost = 0;     // workers found gone (or full) when a request was sent to them
    std::uint64_t replies_to_gone_clients = 0;  // replies dropped: the client had gone
    std::uint64_t replies_would_block = 0;      // replies dropped: the client's pipe was full (not reading)
};

class QueueCore {
  public:
    explicit QueueCore(std::size_t max_held = 10000, std::size_t max_held_bytes = kDefaultMaxQueueBytes)
        : max_held_(max_held), max_held_bytes_(max_held_bytes) {}

    // One message as the `channel` socket (kFrontend, kBackend) received it. Read the frontend only while
    // accepting(). `now` is unused (Simple Pirate has no timers) and there for the core contract.
    void on_message(Channel channel, Frames&& message, TimePoint now, Outbox& out);
    // No timers: nothing to do (the core contract).
    void tick(TimePoint, Outbox&) {}
    TimePoint next_deadline() const { return TimePoint::max(); }

    // Read the frontend? (A worker is idle.)
    bool accepting() const { return !idle_.empty(); }
    std::size_t idle_workers() const { return idle_.size(); }
    std::size_t held_requests() const { return held_.size(); }
    std::size_t held_bytes() const { return held_bytes_; }
    bool is_idle(std::string_view worker) const { return index_.count(std::string(worker)) != 0; }
    // Idle workers, least recently used first (for tests and logs).
    std::vector<std::string> idle_order() const { return {idle_.begin(), idle_.end()}; }
    const QueueStats& stats() const { return stats_; }
    // Empty when the idle list, its index and the held bytes agree.
    std::string check_invariants() const;

  private:
    void on_backend(Frames& message, Outbox& out);
    void on_frontend(Frames& message, Outbox& out);
    void worker_idle(std::string id, Outbox& out);
    // Route a client message [client-id] "" request...: to the LRU idle worker, or hold it.
    void route(Frames& request, bool oldest, Outbox& out);
    void hold(Frames& request, bool oldest);

    std::size_t max_held_;
    std::size_t max_held_bytes_;
    std::list<std::string> idle_;  // head: least recently used
    std::unordered_map<std::string, std::list<std::string>::iterator> index_;
    std::deque<Frames> held_;
    std::size_t held_bytes_ = 0;  // byte_size() of everything in held_
    QueueStats stats_;
};

// The earlier name of the counters.
using QueueCounters = QueueStats;

}  // namespace pirates::simple_pirate
