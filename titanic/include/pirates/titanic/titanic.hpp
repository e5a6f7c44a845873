#pragma once
// The Titanic driver: owns the sockets, feeds TitanicCore, does what it returns.
//
// - Worker connections (pirates::majordomo::Worker, multiplexed on one thread): `pool` for titanic.request,
//   `pool` for titanic.close, two for titanic.reply. MDP gives a worker one request at a time, so the pool is
//   what lets several requests wait on the same fsync.
// - Each turn: one Reactor poll of every socket, take what is readable (at most one request per worker
//   connection, every reply on the lanes), then ONE commit for everything staged in the turn (group commit), then answer every held request, then let the
//   dispatcher start work. Requests arriving while a commit's fsync runs are taken together on the next turn,
//   so batches grow with the load.
// - Dispatcher lanes: each lane is a plain MDP client on a DEALER socket (majordomo's codec, no extra frames:
//   the service receives exactly the request body that was stored), with at most one request in flight. A
//   lane whose request timed out is closed (linger 0) and reopened, so a late reply cannot be taken for the
//   next.
#include <pirates/common/clock.hpp>
#include <pirates/common/histogram.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/result.hpp>
#include <pirates/common/security.hpp>
#include <pirates/titanic/core.hpp>
#include <pirates/titanic/store.hpp>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pirates::majordomo {
class Worker;
struct Request;
}  // namespace pirates::majordomo

namespace pirates::titanic {

struct TitanicOptions {
    std::string broker;        // endpoint of the Majordomo broker
    std::string dir;           // store directory (required; created if missing)
    Duration heartbeat{2500};  // MDP worker heartbeat
    int liveness = 3;
    Duration reconnect{2500};  // first worker reconnect delay (doubled up to 32 s)
    int pool = 8;              // worker connections for titanic.request (and for titanic.close)
    DispatchPolicy dispatch;   // lanes, timeout, per-service back-off
    std::uint64_t compact_min_bytes = 4u << 20;
    FileIo* io = nullptr;                    // store I/O (tests inject faults); nullptr: POSIX
    std::size_t max_open = kDefaultMaxOpen;  // open requests; titanic.request beyond it is answered "500"
    // Every socket to the broker (worker connections and lanes): a larger inbound frame makes libzmq drop
    // that connection (ZMQ_MAXMSGSIZE), which then reconnects.
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;
    // CURVE on every socket to the broker (Security::client: Titanic is a worker and a client of it).
    Security security{};
};

struct TitanicStats {
    std::uint64_t turns = 0;
    std::uint64_t batches = 0;         // commits with at least one titanic.request in them
    std::uint64_t largest_batch = 0;   // titanic.request answered by one commit
    std::uint64_t lane_malformed = 0;  // replies on a lane that were not MDP client replies
    Histogram commit_duration;         // seconds per commit that wrote the log (its fdatasync included)
};

class Titanic {
  public:
    static Result<std::unique_ptr<Titanic>> open(zmq::context_t& context, TitanicOptions options,
                                                 const ClockSource& clock = steady_clock());
    ~Titanic();
    Titanic(const Titanic&) = delete;
    Titanic& operator=(const Titanic&) = delete;

    // Serve until request_stop().
    void run();
    // One turn, waiting at most `max_wait` (at most 100 ms) for input.
    void turn(Duration max_wait);
    // Thread-safe: run() returns within one turn. A stop never cuts a turn short: what the turn took is
    // committed (fsync) and answered before run() returns, so a request acknowledged is on disk.
    void request_stop() { reactor_.request_stop(); }
    // Thread-safe: the running loop logs summary() after its current turn (SIGUSR1 in the titanic program).
    void request_summary() { reactor_.request_summary(); }
    void stop() { request_stop(); }

    // Read these only from the thread running run(), or after it returned.
    const TitanicCore& core() const { return *core_; }
    const TitanicStats& stats() const { return stats_; }
    StoreStats store_stats() const { return store_->stats(); }
    std::string summary() const;
    // Calls fn every `interval` on the loop's thread (it may read core() and the stats): how a metrics
    // exporter gets its snapshots. Call before run(), from the thread that will run it.
    void every(Duration interval, std::function<void()> fn) {
        reactor_.add_repeating(interval, std::move(fn));
    }

  private:
    enum class Kind { request, reply, close };
    struct Slot;
    struct Held;
    Titanic(zmq::context_t& context, TitanicOptions options, const ClockSource& clock);
    // Registers the worker connections' sockets with the reactor (again when one was replaced).
    void watch_workers();
    void take(Slot& slot, majordomo::Request&& request, TimePoint now);
    void deliver(std::vector<Answer>& answers);
    void execute(std::vector<LaneCommand>& commands);
    void open_lane(std::size_t lane);

    zmq::context_t& context_;
    TitanicOptions config_;
    const ClockSource& clock_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<TitanicCore> core_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<zmq::socket_t> lanes_;
    std::unordered_map<Handle, std::unique_ptr<Held>> held_;
    Handle next_handle_ = 1;
    std::vector<Answer> answers_;
    std::vector<LaneCommand> commands_;
    Reactor reactor_;
    TitanicStats stats_;
};

// The former names.
using Server = Titanic;
using ServerConfig = TitanicOptions;
using ServerStats = TitanicStats;

}  // namespace pirates::titanic
