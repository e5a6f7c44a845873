#pragma once
// The Titanic core (9/TSP), with no sockets: the three services and the dispatcher, over a Store.
//
// The driver feeds it what arrives and does what it returns:
//   request()/reply()/close()  one TSP request each, from a titanic.* worker connection named by a Handle;
//                              answers come back at once, or after the next commit() for what must be
//                              durable.
//   commit()                   once per reactor turn: every request, reply and close staged during the turn
//   is
//                              written with ONE fsync (group commit), then the held answers are released:
//                              "200" uuid / "200" on success, "500" if the write failed (nothing is
//                              acknowledged).
//   dispatch()                 lane commands: send a request on a lane (an MDP client connection with at most
//   one
//                              request in flight), or reset a lane whose request timed out (the driver
//                              reopens the connection, so a late reply can never be taken for the next
//                              request's).
//   lane_reply()               what a lane's MDP client received.
//   next_deadline()            when dispatch() has timed work to do (a lane timeout, a service to retry).
//
// Dispatcher rules: each service has a FIFO of pending requests and at most one of them in flight. For the
// oldest, ask mmi.service; on "200" send the request; the reply is staged and only when its commit succeeded
// is the request done (at-least-once: a crash before that dispatches it again after restart). "404", another
// code, or a timeout retries the service after its Backoff delay; a success resets the back-off.
#include <pirates/common/backoff.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/titanic/store.hpp>

#include <list>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pirates::titanic {

// TSP status codes (frames as they travel).
namespace status {
constexpr std::string_view ok = "200";
constexpr std::string_view pending = "300";
constexpr std::string_view unknown = "400";
constexpr std::string_view not_found = "404";  // mmi.service: no worker for that service
constexpr std::string_view failure = "500";
}  // namespace status

// The service names Titanic registers with the broker.
namespace services {
constexpr std::string_view request = "titanic.request";
constexpr std::string_view reply = "titanic.reply";
constexpr std::string_view close = "titanic.close";
constexpr std::string_view mmi_service = "mmi.service";
}  // namespace services

struct DispatchPolicy {
    int lanes = 4;           // requests (or mmi.service queries) in flight at once, each on its own lane
    Duration timeout{2500};  // for one mmi.service query or one request
    BackoffPolicy backoff{Duration{1000}, Duration{32000}, 0.2};  // per service, after 404 or a timeout
};

// What a driver must do on a lane.
struct LaneCommand {
    enum class Kind { send, reset };
    Kind kind = Kind::send;
    int lane = 0;
    std::string service;  // send: the MDP service to ask ("mmi.service" or the request's own service)
    Frames body;          // send: the MDP request body
};

// The driver's token for where an answer goes (a worker connection and the client it is serving).
using Handle = std::uint64_t;
struct Answer {
    Handle to;
    Frames body;
};

struct TitanicCoreStats {
    std::uint64_t requests = 0;  // titanic.request acknowledged "200"
    std::uint64_t replies_stored = 0;
    std::uint64_t closes = 0;
    std::uint64_t bad_input = 0;       // answered "400" because malformed (not merely unknown)
    std::uint64_t write_failures = 0;  // commits that failed (each answered "500")
    std::uint64_t dispatched = 0;      // requests sent to their service
    std::uint64_t unavailable = 0;     // mmi.service said something other than "200"
    std::uint64_t timeouts = 0;        // lanes reset after a timeout
    std::uint64_t stray_replies = 0;   // lane replies that matched nothing in flight (dropped)
    std::uint64_t refused_full = 0;    // titanic.request answered "500" because max_open requests are open
};
using Counters = TitanicCoreStats;  // the former name

// Requests stored and not yet closed, at most, by default (TitanicCore::set_max_open).
inline constexpr std::size_t kDefaultMaxOpen = 100000;

class Dispatcher {
  public:
    Dispatcher(Store& store, DispatchPolicy policy, std::uint64_t seed);

    // A request became pending (committed, or recovered at start-up), in submission order.
    void add(const Uuid& id, const std::string& service);
    // A request is gone (closed, or its reply is stored).
    void remove(const Uuid& id);
    void dispatch(TimePoint now, std::vector<LaneCommand>& out, TitanicCoreStats& counters);
    void lane_reply(int lane, std::string_view service, Frames body, TimePoint now,
                    std::vector<LaneCommand>& out, TitanicCoreStats& counters);
    // The staged replies were committed (ok) or not; requests whose reply is stored are done.
    void committed(bool ok, TimePoint now, TitanicCoreStats& counters);
    TimePoint next_deadline() const;

    std::size_t pending() const { return where_.size(); }
    std::size_t services() const { return services_.size(); }
    int lanes_busy() const;
    // Empty when lanes, queues, the schedule and the index of waiting requests agree; else what is wrong.
    std::string check_invariants() const;

  private:
    struct Queue {
        std::string name;
        std::list<Uuid> waiting;
        Backoff backoff;
        TimePoint not_before{};
        bool busy = false;  // a lane works on its oldest request, or that request's reply is being stored
        bool scheduled = false;
        std::multimap<TimePoint, Queue*>::iterator slot;
    };
    struct Lane {
        enum class Stage { idle, querying, requesting } stage = Stage::idle;
        Queue* queue = nullptr;
        Uuid id;
        TimePoint deadline{};
    };

    void schedule(Queue& q);
    void unschedule(Queue& q);
    void release(Queue& q);
    void erase_waiting(const Uuid& id);  // not busy any more: reschedule, or forget the queue if it is empty
    void retry_later(Queue& q, TimePoint now);
    void free_lane(int lane);

    Store& store_;
    DispatchPolicy policy_;
    std::mt19937_64 seeds_;
    std::unordered_map<std::string, Queue> services_;
    std::unordered_map<Uuid, std::pair<Queue*, std::list<Uuid>::iterator>, UuidHash> where_;
    std::multimap<TimePoint, Queue*> schedule_;  // services with waiting requests and no lane, by next try
    std::vector<Lane> lanes_;
    std::vector<int> free_lanes_;
    std::vector<std::pair<Queue*, Uuid>> storing_;  // replies staged, waiting for the commit
};

class TitanicCore {
  public:
    // Recovers the dispatcher's queue from the store (requests without a stored reply, oldest first).
    TitanicCore(Store& store, DispatchPolicy policy, std::uint64_t seed = std::random_device{}());

    // titanic.request: body = service request... -> "200" uuid after commit, "400" if malformed, "500" at
    // once (nothing stored, counted in refused_full) when max_open requests are open already: stored and not
    // closed, answered or not, those of this turn's batch included.
    void request(Handle from, Frames body, std::vector<Answer>& out);
    // titanic.reply: body = uuid -> "200" reply... | "300" | "400" (at once).
    void reply(Handle from, Frames body, std::vector<Answer>& out);
    // titanic.close: body = uuid -> "200" (after commit if there was something to forget) | "400".
    void close(Handle from, Frames body, std::vector<Answer>& out);
    // Group commit of everything staged; releases the held answers.
    void commit(TimePoint now, std::vector<Answer>& out);
    bool has_staged() const { return store_.staged() > 0; }
    // Bound on open requests (default kDefaultMaxOpen). Lowering it below what the store holds refuses new
    // requests until closes bring the count under it.
    void set_max_open(std::size_t max_open) { max_open_ = max_open; }
    std::size_t max_open() const { return max_open_; }
    // Requests open now: in the store and not closed, plus those staged in this turn.
    std::size_t open_requests() const { return store_.stats().open + staged_requests_; }

    void dispatch(TimePoint now, std::vector<LaneCommand>& out) { dispatcher_.dispatch(now, out, counters_); }
    // A reply on a lane may start the next step at once (the request after mmi.service said "200").
    void lane_reply(int lane, std::string_view service, Frames body, TimePoint now,
                    std::vector<LaneCommand>& out) {
        dispatcher_.lane_reply(lane, service, std::move(body), now, out, counters_);
    }
    TimePoint next_deadline() const { return dispatcher_.next_deadline(); }

    const TitanicCoreStats& stats() const { return counters_; }
    const Dispatcher& dispatcher() const { return dispatcher_; }
    Store& store() { return store_; }
    // The dispatcher's check_invariants(), plus the held answers against the staged requests.
    std::string check_invariants() const;

  private:
    struct Held {
        enum class Kind { request, close } kind;
        Handle to;
        Uuid id;
        std::string service;
    };
    void answer(std::vector<Answer>& out, Handle to, std::string_view code);

    Store& store_;
    Dispatcher dispatcher_;
    TitanicCoreStats counters_;
    std::vector<Held> held_;
    std::size_t staged_requests_ = 0;  // held_ entries of kind request
    std::size_t max_open_ = kDefaultMaxOpen;
    bool full_ = false;  // the bound was hit and has not been left since (one warning per episode)
};

}  // namespace pirates::titanic
