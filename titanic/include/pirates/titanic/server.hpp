#pragma once
// The Titanic driver: owns the sockets, feeds TitanicCore, does what it returns.
//
// - Worker connections (pirates::majordomo::Worker, multiplexed on one thread): `pool` for titanic.request,
//   `pool` for titanic.close, two for titanic.reply. MDP gives a worker one request at a time, so the pool is
//   what lets several requests wait on the same fsync.
// - Each turn: poll every socket once, take what is readable (at most one request per worker connection),
// then
//   ONE commit for everything staged in the turn (group commit), then answer every held request, then let the
//   dispatcher start work. Requests arriving while a commit's fsync runs are taken together on the next turn,
//   so batches grow with the load.
// - Dispatcher lanes: each lane is a plain MDP client on a DEALER socket (majordomo's codec, no extra frames:
//   the service receives exactly the request body that was stored), with at most one request in flight. A
//   lane whose request timed out is closed (linger 0) and reopened, so a late reply cannot be taken for the
//   next.
#include <pirates/common/clock.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/result.hpp>
#include <pirates/titanic/core.hpp>
#include <pirates/titanic/store.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace pirates::majordomo {
class Worker;
struct Request;
}  // namespace pirates::majordomo

namespace pirates::titanic {

struct ServerConfig {
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
};

struct ServerStats {
    std::uint64_t turns = 0;
    std::uint64_t batches = 0;         // commits with at least one titanic.request in them
    std::uint64_t largest_batch = 0;   // titanic.request answered by one commit
    std::uint64_t lane_malformed = 0;  // replies on a lane that were not MDP client replies
};

class Server {
  public:
    static Result<std::unique_ptr<Server>> open(zmq::context_t& context, ServerConfig config,
                                                const ClockSource& clock = steady_clock());
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Serve until stop() (from any thread) or SIGINT/SIGTERM.
    void run();
    // One turn, waiting at most `max_wait` for input.
    void turn(Duration max_wait);
    void stop() { stop_ = true; }

    const TitanicCore& core() const { return *core_; }
    const ServerStats& stats() const { return stats_; }
    StoreStats store_stats() const { return store_->stats(); }
    std::string summary() const;

  private:
    enum class Kind { request, reply, close };
    struct Slot;
    struct Held;
    Server(zmq::context_t& context, ServerConfig config, const ClockSource& clock);
    void take(Slot& slot, majordomo::Request&& request, TimePoint now);
    void deliver(std::vector<Answer>& answers);
    void execute(std::vector<LaneCommand>& commands);
    void open_lane(std::size_t lane);

    zmq::context_t& context_;
    ServerConfig config_;
    const ClockSource& clock_;
    std::unique_ptr<Store> store_;
    std::unique_ptr<TitanicCore> core_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<zmq::socket_t> lanes_;
    std::unordered_map<Handle, std::unique_ptr<Held>> held_;
    Handle next_handle_ = 1;
    std::vector<Answer> answers_;
    std::vector<LaneCommand> commands_;
    std::atomic<bool> stop_{false};
    ServerStats stats_;
};

}  // namespace pirates::titanic
