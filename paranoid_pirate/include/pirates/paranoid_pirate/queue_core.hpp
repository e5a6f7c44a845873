#pragma once
// The Paranoid Pirate queue as a plain state machine: no sockets, no clock. The driver hands it what its two
// ROUTER sockets received and the current time; it answers with the messages to send and its next deadline.
//
// Facts it keeps, each in one place:
//  - idle workers, least recently heard first, in a std::list; a hash map from identity to the list node.
//    A worker is idle (in both) or unknown (in neither): a worker given a request is forgotten until it
//    speaks again, exactly as 6/PPP does.
//  - every message from a worker (READY, HEARTBEAT, reply, even a malformed one) moves it to the tail with
//    expiry = now + interval x liveness. The list is therefore in expiry order and the purge stops at the
//    first live worker. A worker heard again is moved, never added twice.
//  - one heartbeat timer: when due, HEARTBEAT to each idle worker (the only scan, once per interval).
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/heartbeat.hpp>
#include <pirates/common/limits.hpp>

#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pirates::paranoid_pirate {

struct QueueConfig {
    Duration heartbeat{1000};
    int liveness = 3;
    // For the driver (Queue), not the core:
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // larger inbound frames: the peer is dropped
    int hwm = 1000;  // messages per peer and direction (ZMQ_SNDHWM and ZMQ_RCVHWM), both sockets
};

struct QueueStats {
    std::uint64_t requests = 0;        // client requests dispatched to a worker
    std::uint64_t replies = 0;         // worker replies forwarded to the frontend
    std::uint64_t readies = 0;         // READY received
    std::uint64_t heartbeats_in = 0;   // HEARTBEAT received
    std::uint64_t heartbeats_out = 0;  // HEARTBEAT sent
    std::uint64_t expired = 0;         // idle workers purged for silence
    std::uint64_t unreachable = 0;     // workers the backend could not route to
    std::uint64_t invalid_worker = 0;  // malformed worker messages dropped
    std::uint64_t invalid_client = 0;  // malformed client messages dropped
    std::uint64_t no_worker = 0;       // client requests given while no worker was idle (driver bug), dropped
};

class QueueCore {
  public:
    enum class To { frontend, backend };
    struct Output {
        To to;
        Frames message;  // first frame: the identity the ROUTER routes by
    };
    using Outbox = std::vector<Output>;

    QueueCore(QueueConfig config, TimePoint now);

    // A message from the backend ROUTER: [worker-id] then what the worker sent.
    void on_worker_message(Frames message, TimePoint now, Outbox& out);
    // A message from the frontend ROUTER: [client-id] "" request... Read the frontend only while
    // has_idle_worker(): the request goes to the least recently used idle worker.
    void on_client_message(Frames message, TimePoint now, Outbox& out);
    // Send due heartbeats and purge expired workers. Call at next_deadline() (calling earlier is harmless).
    void on_tick(TimePoint now, Outbox& out);
    // Drop the idle workers whose expiry has passed (on_tick and on_client_message do it too). The driver
    // calls it before reading the frontend, so that it never takes a request it would have no live worker
    // for.
    void expire(TimePoint now) { purge(now); }
    // The backend could not route to this worker (it disconnected): forget it.
    void on_unreachable(std::string_view worker_id);

    TimePoint next_deadline() const;
    bool has_idle_worker() const { return !idle_.empty(); }
    std::size_t idle_count() const { return idle_.size(); }
    // Identities of the idle workers, least recently used first (for tests and diagnostics).
    std::vector<std::string> idle_workers() const;
    std::optional<TimePoint> expiry_of(std::string_view worker_id) const;
    const QueueStats& stats() const { return stats_; }
    const QueueConfig& config() const { return config_; }

  private:
    struct Idle {
        std::string id;
        TimePoint expiry;
    };
    void refresh(std::string id, TimePoint now);
    void purge(TimePoint now);
    void forget(std::string_view id);

    QueueConfig config_;
    Duration ttl_;
    HeartbeatTimer heartbeat_;
    std::list<Idle> idle_;  // head: least recently heard (earliest expiry)
    std::unordered_map<std::string, std::list<Idle>::iterator> index_;
    QueueStats stats_;
};

}  // namespace pirates::paranoid_pirate
