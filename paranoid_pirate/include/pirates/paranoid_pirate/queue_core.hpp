#pragma once
// The Paranoid Pirate queue as a plain state machine: no sockets, no clock. The driver hands it what its two
// ROUTER sockets received (on_message, with the channel) and the current time; the core sends through an
// Outbox and says when it next has work (next_deadline, then tick).
//
// Facts it keeps, each in one place:
//  - idle workers, least recently heard first, in a std::list; a hash map from identity to the list node.
//    A worker is idle (in both) or unknown (in neither): a worker given a request is forgotten until it
//    speaks again, exactly as 6/PPP does.
//  - every message from a worker (READY, HEARTBEAT, reply, even a malformed one) moves it to the tail with
//    expiry = now + interval x liveness. The list is therefore in expiry order and the purge stops at the
//    first live worker. A worker heard again is moved, never added twice.
//  - one heartbeat timer: when due, HEARTBEAT to each idle worker (the only scan, once per interval).
//  - a send that finds a worker gone (SendResult::peer_gone) forgets it; a request that could not be given to
//    its worker (gone or full) goes to the next idle worker, or is dropped (the client retries). A reply that
//    finds its client gone or not reading is dropped and counted.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/heartbeat.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/outbox.hpp>
#include <pirates/common/security.hpp>

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pirates::paranoid_pirate {

// The queue's two sockets, as Outbox channels.
inline constexpr Channel kFrontend = 0;  // clients
inline constexpr Channel kBackend = 1;   // workers

struct QueueOptions {
    Duration heartbeat{1000};
    int liveness = 3;
    // For the driver (Queue), not the core:
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // larger inbound frames: the peer is dropped
    int hwm = 1000;  // messages per peer and direction (ZMQ_SNDHWM and ZMQ_RCVHWM), both sockets
    // On request_stop(), first stop reading clients and keep forwarding replies to requests workers hold,
    // for up to this long (until none is held); 0: stop at once.
    Duration drain{0};
    Security security{};  // CURVE on both ROUTERs (security.hpp); plaintext if empty
};
using QueueConfig = QueueOptions;

struct QueueStats {
    std::uint64_t requests = 0;                // client requests dispatched to a worker
    std::uint64_t replies = 0;                 // worker replies forwarded to the frontend (sent or not)
    std::uint64_t readies = 0;                 // READY received
    std::uint64_t heartbeats_received = 0;     // HEARTBEAT received
    std::uint64_t heartbeats_sent = 0;         // HEARTBEAT sent
    std::uint64_t expired = 0;                 // idle workers purged for silence
    std::uint64_t unroutable = 0;              // workers the backend could not route to (gone)
    std::uint64_t malformed = 0;               // malformed messages dropped, from workers and clients
    std::uint64_t malformed_from_workers = 0;  // of which from workers (backend)
    std::uint64_t no_worker = 0;  // client requests given while no worker was idle (driver bug), dropped
    std::uint64_t replies_to_gone_clients = 0;  // replies dropped: the client had gone
    std::uint64_t replies_would_block = 0;      // replies dropped: the client's pipe was full (not reading)
};

class QueueCore {
  public:
    QueueCore(QueueOptions options, TimePoint now);

    // One message as the `channel` socket received it:
    //   kBackend:  [worker-id] then what the worker sent;
    //   kFrontend: [client-id] "" request... Read the frontend only while has_idle_worker(): the request goes
    //              to the least recently used idle worker.
    void on_message(Channel channel, Frames&& message, TimePoint now, Outbox& out);
    // Send due heartbeats and purge expired workers. Call at next_deadline() (calling earlier is harmless).
    void tick(TimePoint now, Outbox& out);
    // Drop the idle workers whose expiry has passed (tick and on_message do it too). The driver calls it
    // before reading the frontend, so that it never takes a request it would have no live worker for.
    void expire(TimePoint now) { purge(now); }
    // The backend learnt otherwise than by a send that this worker has gone: forget it. (Sends through the
    // Outbox report gone workers themselves.)
    void on_unroutable(std::string_view worker_id);

    TimePoint next_deadline() const;
    bool has_idle_worker() const { return !idle_.empty(); }
    std::size_t idle_count() const { return idle_.size(); }
    // Identities of the idle workers, least recently used first (for tests and diagnostics).
    std::vector<std::string> idle_workers() const;
    std::optional<TimePoint> expiry_of(std::string_view worker_id) const;
    const QueueStats& stats() const { return stats_; }
    const QueueOptions& options() const { return options_; }
    const QueueOptions& config() const { return options_; }
    // Empty when the idle list and its index agree (one node per worker, expiry order); else what is wrong.
    std::string check_invariants() const;

  private:
    struct Idle {
        std::string id;
        TimePoint expiry;
    };
    void on_worker_message(Frames& message, TimePoint now, Outbox& out);
    void on_client_message(Frames& message, TimePoint now, Outbox& out);
    void reply(Frames& message, Outbox& out);
    void refresh(std::string id, TimePoint now);
    void purge(TimePoint now);
    void forget(std::string_view id);

    QueueOptions options_;
    Duration ttl_;
    HeartbeatTimer heartbeat_;
    std::list<Idle> idle_;  // head: least recently heard (earliest expiry)
    std::unordered_map<std::string, std::list<Idle>::iterator> index_;
    QueueStats stats_;
};

}  // namespace pirates::paranoid_pirate
