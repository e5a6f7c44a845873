#pragma once
// ServerCore: the Binary Star server's socket-free core, the fail-over state machine as docs/protocols.md
// gives it (its decision table is transition() below). It knows nothing of sockets: it takes an event and
// `now`, and says what the server's state becomes and whether a client request may be served.
//
//   PRIMARY  PEER_BACKUP -> ACTIVE; PEER_ACTIVE -> PASSIVE; CLIENT_REQUEST -> ACTIVE if now >= peer expiry,
//            else refused (it may be a fail-back while the backup is active); PEER_PRIMARY fatal (*)
//   BACKUP   PEER_ACTIVE -> PASSIVE; CLIENT_REQUEST refused; PEER_BACKUP fatal (*)
//   ACTIVE   PEER_ACTIVE fatal (two actives); anything else accepted, stays ACTIVE
//   PASSIVE  PEER_PRIMARY or PEER_BACKUP -> ACTIVE (the peer restarts); PEER_PASSIVE fatal (two passives);
//            CLIENT_REQUEST -> ACTIVE if now >= peer expiry (fail-over), else refused
//   Anything not listed leaves the state as it is.
//   Every peer state received sets peer expiry = now + 2 x heartbeat.
//
// Peer expiry counts only time this server was listening: the driver calls awake(now) on every turn of its
// loop (and on a timer, so that an idle server calls it at least every half heartbeat). A gap of more than
// one heartbeat between two calls is a stall of this server (stopped, swapped out, starved of CPU), and the
// peer's silence during it proves nothing: the peer gets two more heartbeats from the end of the stall. So a
// brief local stall never turns into a take-over; the peer must still have been silent for two heartbeats of
// our listening time, and a client must still ask.
//
// With a witness (use_witness(); docs/protocols.md, Binary Star, Witness): a third process lends the right to
// be active as a lease (witness.hpp: the witness's WitnessCore, the server's LeaseCore, whose expiry the
// driver passes in with lease_until()). "Expired" is the peer expiry above; "silent" is the same without the
// stall rule's extension (the peer really was not heard for 2 heartbeats); "lease" is now < lease expiry.
// The table with a witness (rows not given are the Guide's, above):
//   PRIMARY  CLIENT_REQUEST -> ACTIVE if expired and lease, else refused
//   ACTIVE   PEER_ACTIVE -> stays ACTIVE if lease, else PASSIVE (not fatal: the lease holder wins);
//            LEASE_LOST (checked on every turn of the loop) and CLIENT_REQUEST -> PASSIVE if silent and no
//            lease (a CLIENT_REQUEST then refused), else stays ACTIVE and serves
//   PASSIVE  PEER_PASSIVE is not fatal (both may be passive after a cut heals, or after the active lost its
//            lease while the peer was briefly silent): the server configured PRIMARY -> ACTIVE (resume, as a
//            PRIMARY hearing BACKUP does; no lease needed, the peer has just spoken), the BACKUP stays PASSIVE;
//            CLIENT_REQUEST -> ACTIVE if expired and lease (take-over), or, on the PRIMARY only, if the peer is
//            not silent and its last word was PASSIVE (resume), else refused
// Who asks the witness (wants_lease(), every heartbeat): ACTIVE always; PRIMARY and PASSIVE while the peer
// is expired; BACKUP never. So an ACTIVE keeps its lease while it can reach the witness, and the passive side
// can only get it after the active's lease has run out at the witness; a server that reaches neither its
// peer nor the witness is PASSIVE within one lease TTL. An ACTIVE without a lease (witness down) stays active
// while it hears its peer: the witness is needed only for a take-over.
//
// A fatal combination is an Error value; the server stops on it (the reference does too).
// (*) Not in docs/protocols.md's table (where an unlisted event leaves the state), but asked for by the
// Binary Star issue ("two primaries" fatal): a peer that says PRIMARY can only be a server started --primary,
// so two of the same role is a misconfiguration in which neither could ever serve (each keeps the other from
// expiring). Stopping with a clear error beats refusing every request forever. No correct pair ever sends it.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/result.hpp>

#include <optional>
#include <string_view>

namespace pirates::binary_star {

// The numbers are the wire values (decimal ASCII, one frame).
enum class State { primary = 1, backup = 2, active = 3, passive = 4 };
// lease_lost is internal (never on the wire): the driver's check, with a witness, of an ACTIVE's lease.
enum class Event {
    peer_primary = 1,
    peer_backup = 2,
    peer_active = 3,
    peer_passive = 4,
    client_request = 5,
    lease_lost = 6
};

std::string_view name(State s);  // "PRIMARY", ...
std::string_view name(Event e);  // "PEER_PRIMARY", ..., "CLIENT_REQUEST"

// The event a peer's published state is (PEER_x has the number of x).
constexpr Event peer_event(State s) {
    return static_cast<Event>(static_cast<int>(s));
}

// What one event does.
struct Step {
    State next;
    // For CLIENT_REQUEST: serve it (true) or refuse it, i.e. do not answer (false). Peer events: always true.
    bool accepted = true;
    bool operator==(const Step&) const = default;
};

// The transition table itself, with "has the peer expired" given: a pure function.
Result<Step> transition(State current, Event event, bool peer_expired);

// What the table with a witness depends on (see the top of this file).
struct WitnessFacts {
    bool peer_expired = false;  // peer expiry passed (with the stall rule)
    bool peer_silent = false;   // not heard for 2 heartbeats (without the stall rule)
    bool lease = false;         // we hold the witness's lease now
    std::optional<State> peer;  // the peer's last word, if it was ever heard
    bool primary = false;       // this server was configured PRIMARY
};
// The table with a witness: a pure function.
Result<Step> witnessed_transition(State current, Event event, const WitnessFacts& facts);

// The core of a Binary Star server (Server is its driver). It does not follow the Outbox shape of other
// cores: it emits no messages (the driver publishes state() on its heartbeat timer and the user's handler
// makes the replies), it only decides. Formerly `Fsm` (the alias is kept).
class ServerCore {
  public:
    // `initial` is PRIMARY or BACKUP (the configured role). `peer_expiry` is when the peer counts as gone if
    // it is never heard: the reference starts at 0 (already expired); our server passes start + 2 x
    // heartbeat, so that a primary restarting next to an active backup hears it before it can take a client
    // request.
    ServerCore(State initial, Duration heartbeat, TimePoint peer_expiry = TimePoint{});

    // The driver runs at `now` (see the top of this file). Returns true when the gap since the previous call
    // was a stall (more than one heartbeat): then peer expiry is at least now + 2 x heartbeat. The first call
    // only starts the watch.
    bool awake(TimePoint now);

    // Feed one event. A peer event first moves the peer expiry, then runs the table. On a fatal combination
    // the state is left as it was and the Error says why.
    Result<Step> on_event(Event event, TimePoint now);

    // Follow the table with a witness from now on (once, before any event).
    void use_witness() { witnessed_ = true; }
    bool witnessed() const { return witnessed_; }
    // The lease we hold runs until `expiry` (LeaseCore::expiry(); the past: none).
    void lease_until(TimePoint expiry) { lease_expiry_ = expiry; }
    bool lease_held(TimePoint now) const { return now < lease_expiry_; }
    // With a witness: whether to ask it for the lease now (see the top of this file).
    bool wants_lease(TimePoint now) const;
    WitnessFacts facts(TimePoint now) const;

    State state() const { return state_; }
    TimePoint peer_expiry() const { return peer_expiry_; }
    bool peer_silent(TimePoint now) const { return now >= heard_expiry_; }
    std::optional<State> peer_state() const { return peer_; }
    bool peer_expired(TimePoint now) const { return now >= peer_expiry_; }
    Duration heartbeat() const { return heartbeat_; }

  private:
    State state_;
    State role_;  // the configured role
    Duration heartbeat_;
    TimePoint peer_expiry_;
    TimePoint heard_expiry_;  // last heard + 2 x heartbeat (no stall rule)
    std::optional<TimePoint> last_awake_;
    std::optional<State> peer_;
    bool witnessed_ = false;
    TimePoint lease_expiry_{};
};

using Fsm = ServerCore;  // the former name

// Wire form of a state: one frame, the decimal ASCII number ("1".."4").
Frame encode_state(State s);
// A message from the peer's publisher: exactly one frame holding "1".."4". Anything else is an Error.
Result<State> decode_state(const Frames& message);

}  // namespace pirates::binary_star
