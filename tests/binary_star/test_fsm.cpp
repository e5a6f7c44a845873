// The Binary Star state machine against a table written from docs/protocols.md (Binary Star, "Transitions"),
// not from the code: every state x every event, with the peer expired and not expired.
#include <doctest/doctest.h>
#include <pirates/binary_star/server_core.hpp>

#include "support/net.hpp"

#include <string>
#include <vector>

using namespace pirates;
using namespace pirates::binary_star;
using namespace std::chrono_literals;

namespace {

// Expected outcome: "ACTIVE" (moved or stayed there, accepted), "PRIMARY refused" (stays, request not
// answered), "FATAL".
struct Row {
    const char* state;
    const char* event;
    bool peer_expired;
    const char* expect;
};

// docs/protocols.md:
//   PRIMARY: PEER_BACKUP -> ACTIVE; PEER_ACTIVE -> PASSIVE; CLIENT_REQUEST -> ACTIVE if now >= peer expiry,
//            otherwise refused.
//   BACKUP:  PEER_ACTIVE -> PASSIVE; CLIENT_REQUEST refused.
//   ACTIVE:  PEER_ACTIVE is fatal; all else accepted, stays ACTIVE.
//   PASSIVE: PEER_PRIMARY -> ACTIVE; PEER_BACKUP -> ACTIVE; PEER_PASSIVE fatal;
//            CLIENT_REQUEST -> ACTIVE if now >= peer expiry, otherwise refused.
//   Anything not listed leaves the state as it is.
// The issue adds: two primaries are fatal (PRIMARY hearing PEER_PRIMARY), and so, for the same reason, are
// two backups (BACKUP hearing PEER_BACKUP): a misconfigured pair in which neither could ever serve.
const std::vector<Row> table = {
    {"PRIMARY", "PEER_PRIMARY", false, "FATAL"},
    {"PRIMARY", "PEER_PRIMARY", true, "FATAL"},
    {"PRIMARY", "PEER_BACKUP", false, "ACTIVE"},
    {"PRIMARY", "PEER_BACKUP", true, "ACTIVE"},
    {"PRIMARY", "PEER_ACTIVE", false, "PASSIVE"},
    {"PRIMARY", "PEER_ACTIVE", true, "PASSIVE"},
    {"PRIMARY", "PEER_PASSIVE", false, "PRIMARY"},
    {"PRIMARY", "PEER_PASSIVE", true, "PRIMARY"},
    {"PRIMARY", "CLIENT_REQUEST", false, "PRIMARY refused"},
    {"PRIMARY", "CLIENT_REQUEST", true, "ACTIVE"},

    {"BACKUP", "PEER_PRIMARY", false, "BACKUP"},
    {"BACKUP", "PEER_PRIMARY", true, "BACKUP"},
    {"BACKUP", "PEER_BACKUP", false, "FATAL"},
    {"BACKUP", "PEER_BACKUP", true, "FATAL"},
    {"BACKUP", "PEER_ACTIVE", false, "PASSIVE"},
    {"BACKUP", "PEER_ACTIVE", true, "PASSIVE"},
    {"BACKUP", "PEER_PASSIVE", false, "BACKUP"},
    {"BACKUP", "PEER_PASSIVE", true, "BACKUP"},
    {"BACKUP", "CLIENT_REQUEST", false, "BACKUP refused"},
    {"BACKUP", "CLIENT_REQUEST", true, "BACKUP refused"},

    {"ACTIVE", "PEER_PRIMARY", false, "ACTIVE"},
    {"ACTIVE", "PEER_PRIMARY", true, "ACTIVE"},
    {"ACTIVE", "PEER_BACKUP", false, "ACTIVE"},
    {"ACTIVE", "PEER_BACKUP", true, "ACTIVE"},
    {"ACTIVE", "PEER_ACTIVE", false, "FATAL"},
    {"ACTIVE", "PEER_ACTIVE", true, "FATAL"},
    {"ACTIVE", "PEER_PASSIVE", false, "ACTIVE"},
    {"ACTIVE", "PEER_PASSIVE", true, "ACTIVE"},
    {"ACTIVE", "CLIENT_REQUEST", false, "ACTIVE"},
    {"ACTIVE", "CLIENT_REQUEST", true, "ACTIVE"},

    {"PASSIVE", "PEER_PRIMARY", false, "ACTIVE"},
    {"PASSIVE", "PEER_PRIMARY", true, "ACTIVE"},
    {"PASSIVE", "PEER_BACKUP", false, "ACTIVE"},
    {"PASSIVE", "PEER_BACKUP", true, "ACTIVE"},
    {"PASSIVE", "PEER_ACTIVE", false, "PASSIVE"},
    {"PASSIVE", "PEER_ACTIVE", true, "PASSIVE"},
    {"PASSIVE", "PEER_PASSIVE", false, "FATAL"},
    {"PASSIVE", "PEER_PASSIVE", true, "FATAL"},
    {"PASSIVE", "CLIENT_REQUEST", false, "PASSIVE refused"},
    {"PASSIVE", "CLIENT_REQUEST", true, "ACTIVE"},
};

State state_named(std::string s) {
    if (s == "PRIMARY") return State::primary;
    if (s == "BACKUP") return State::backup;
    if (s == "ACTIVE") return State::active;
    if (s == "PASSIVE") return State::passive;
    FAIL("bad state in table: " << s);
    return State::primary;
}

Event event_named(std::string s) {
    if (s == "PEER_PRIMARY") return Event::peer_primary;
    if (s == "PEER_BACKUP") return Event::peer_backup;
    if (s == "PEER_ACTIVE") return Event::peer_active;
    if (s == "PEER_PASSIVE") return Event::peer_passive;
    if (s == "CLIENT_REQUEST") return Event::client_request;
    FAIL("bad event in table: " << s);
    return Event::client_request;
}

std::string outcome(const Result<Step>& r) {
    if (!r) return "FATAL";
    return std::string(name(r->next)) + (r->accepted ? "" : " refused");
}

constexpr Duration hb = 100ms;

// A state machine brought into `state` by events only (as a server gets there), with the clock at a point
// where the peer has expired or not. Returns the clock's time.
ServerCore make(State state, bool expired, ManualClock& clock) {
    const State role = (state == State::backup || state == State::passive) ? State::backup : State::primary;
    ServerCore fsm(role, hb, clock.now() + 2 * hb);
    if (state == State::active)
        REQUIRE(fsm.on_event(Event::peer_backup, clock.now()).ok());  // PRIMARY->ACTIVE
    if (state == State::passive)
        REQUIRE(fsm.on_event(Event::peer_active, clock.now()).ok());  // BACKUP->PASSIVE
    REQUIRE(fsm.state() == state);
    REQUIRE(fsm.peer_expiry() == clock.now() + 2 * hb);
    // Expiry is "now >= peer expiry": exactly at it the peer has expired, a millisecond before it has not.
    clock.advance(expired ? 2 * hb : 2 * hb - 1ms);
    REQUIRE(fsm.peer_expired(clock.now()) == expired);
    return fsm;
}

}  // namespace

TEST_CASE("the table covers every state x every event x peer expired or not, once") {
    CHECK(table.size() == 4 * 5 * 2);
    for (std::size_t i = 0; i < table.size(); ++i)
        for (std::size_t j = i + 1; j < table.size(); ++j) {
            const bool same = std::string(table[i].state) == table[j].state &&
                              std::string(table[i].event) == table[j].event &&
                              table[i].peer_expired == table[j].peer_expired;
            CHECK_FALSE(same);
        }
}

TEST_CASE("transition(): every row of the docs/protocols.md table") {
    for (const Row& row : table) {
        CAPTURE(row.state);
        CAPTURE(row.event);
        CAPTURE(row.peer_expired);
        auto r = transition(state_named(row.state), event_named(row.event), row.peer_expired);
        CHECK(outcome(r) == row.expect);
        if (!r) CHECK(r.error().reason.find("fatal") != std::string::npos);
    }
}

TEST_CASE("Fsm: every row, reached by events, with the expiry from the clock") {
    for (const Row& row : table) {
        CAPTURE(row.state);
        CAPTURE(row.event);
        CAPTURE(row.peer_expired);
        ManualClock clock;
        const State state = state_named(row.state);
        const Event event = event_named(row.event);
        ServerCore fsm = make(state, row.peer_expired, clock);
        const TimePoint expiry_before = fsm.peer_expiry();
        auto r = fsm.on_event(event, clock.now());
        std::string expect = row.expect;
        // A peer event refreshes the expiry before the table is consulted; no peer-event row depends on
        // expiry, so the table's answer holds for both columns.
        CHECK(outcome(r) == expect);
        if (!r)
            CHECK(fsm.state() == state);  // a fatal event leaves the state as it was
        else
            CHECK(fsm.state() == r->next);
        if (event == Event::client_request)
            CHECK(fsm.peer_expiry() == expiry_before);
        else
            CHECK(fsm.peer_expiry() == clock.now() + 2 * hb);
    }
}

TEST_CASE("a passive server never takes over on a request before its peer has been silent for 2 heartbeats") {
    ManualClock clock;
    ServerCore fsm(State::backup, hb, clock.now());
    REQUIRE(fsm.on_event(Event::peer_active, clock.now()).ok());
    REQUIRE(fsm.state() == State::passive);
    for (int i = 0; i < 10; ++i) {  // the active peer keeps publishing every heartbeat: requests stay refused
        clock.advance(hb);
        REQUIRE(fsm.on_event(Event::peer_active, clock.now()).ok());
        clock.advance(hb / 2);
        auto r = fsm.on_event(Event::client_request, clock.now());
        REQUIRE(r.ok());
        CHECK_FALSE(r->accepted);
        CHECK(fsm.state() == State::passive);
    }
    // The peer falls silent: refused up to 2 heartbeats after the last state heard, taken over from then on.
    const TimePoint last = clock.now() - hb / 2;
    clock.set(last + 2 * hb - 1ms);
    CHECK_FALSE(fsm.on_event(Event::client_request, clock.now())->accepted);
    clock.set(last + 2 * hb);
    auto r = fsm.on_event(Event::client_request, clock.now());
    CHECK(r->accepted);
    CHECK(fsm.state() == State::active);
}

TEST_CASE("awake(): a gap of more than one heartbeat is our own stall, and the peer is not judged on it") {
    ManualClock clock;
    ServerCore fsm(State::backup, hb, clock.now());
    CHECK_FALSE(fsm.awake(clock.now()));  // the first call starts the watch
    REQUIRE(fsm.on_event(Event::peer_active, clock.now()).ok());
    REQUIRE(fsm.state() == State::passive);
    const TimePoint heard = clock.now();
    // Running normally (awake every half heartbeat): no stall, the expiry stays where the peer put it.
    for (int i = 0; i < 3; ++i) {
        clock.advance(hb / 2);
        CHECK_FALSE(fsm.awake(clock.now()));
    }
    clock.advance(hb / 2);  // exactly one heartbeat since the last call: not a stall
    CHECK_FALSE(fsm.awake(clock.now()));
    CHECK(fsm.peer_expiry() == heard + 2 * hb);

    // We stall for 5 heartbeats (the peer's states queue up unread). The first thing after it: a client
    // request. Without the stall rule the peer would look expired and the request would make us active.
    clock.advance(5 * hb);
    CHECK(fsm.peer_expired(clock.now()));
    CHECK(fsm.awake(clock.now()));
    CHECK(fsm.peer_expiry() == clock.now() + 2 * hb);
    auto r = fsm.on_event(Event::client_request, clock.now());
    REQUIRE(r.ok());
    CHECK_FALSE(r->accepted);
    CHECK(fsm.state() == State::passive);

    // The peer really is gone: after two heartbeats of listening (awake every half heartbeat), we take over.
    const TimePoint resumed = clock.now();
    for (Duration step : {hb / 2, hb / 2, hb / 2, hb / 2 - 1ms}) {
        clock.advance(step);
        CHECK_FALSE(fsm.awake(clock.now()));
        CHECK_FALSE(fsm.on_event(Event::client_request, clock.now())->accepted);
    }
    CHECK(clock.now() == resumed + 2 * hb - 1ms);
    clock.advance(1ms);
    CHECK_FALSE(fsm.awake(clock.now()));
    CHECK(fsm.on_event(Event::client_request, clock.now())->accepted);
    CHECK(fsm.state() == State::active);
}

TEST_CASE("awake(): a stall never shortens the expiry, and a clock that steps back is no stall") {
    ManualClock clock;
    ServerCore fsm(State::primary, hb, clock.now() + 10 * hb);  // the peer counts as alive for 10 heartbeats
    fsm.awake(clock.now());
    clock.advance(3 * hb);
    CHECK(fsm.awake(clock.now()));
    CHECK(fsm.peer_expiry() == clock.now() + 7 * hb);  // already later than now + 2 heartbeats: kept
    const TimePoint t = clock.now();
    clock.set(t - hb);  // an earlier `now` (one read before another, used after it)
    CHECK_FALSE(fsm.awake(clock.now()));
    clock.set(t + hb);
    CHECK_FALSE(fsm.awake(clock.now()));  // measured from the latest time seen
}

TEST_CASE("the whole life of a pair: start, fail-over, primary restarts passive, then backup restarts") {
    ManualClock clock;
    ServerCore primary(State::primary, hb, clock.now() + 2 * hb);
    ServerCore backup(State::backup, hb, clock.now() + 2 * hb);
    auto exchange = [&] {  // one heartbeat each way
        const State p = primary.state(), b = backup.state();
        REQUIRE(backup.on_event(peer_event(p), clock.now()).ok());
        REQUIRE(primary.on_event(peer_event(b), clock.now()).ok());
    };
    exchange();
    exchange();
    CHECK(primary.state() == State::active);
    CHECK(backup.state() == State::passive);
    CHECK(primary.on_event(Event::client_request, clock.now())->accepted);
    CHECK_FALSE(backup.on_event(Event::client_request, clock.now())->accepted);

    // Primary dies: the backup hears nothing; a client request after the expiry makes it active.
    clock.advance(2 * hb);
    CHECK(backup.on_event(Event::client_request, clock.now())->accepted);
    CHECK(backup.state() == State::active);

    // Primary restarts: until it hears the peer it refuses requests (its expiry starts 2 heartbeats ahead),
    // and the first state it hears (ACTIVE) makes it passive: it does not take over.
    primary = ServerCore(State::primary, hb, clock.now() + 2 * hb);
    CHECK_FALSE(primary.on_event(Event::client_request, clock.now())->accepted);
    REQUIRE(primary.on_event(Event::peer_active, clock.now()).ok());
    CHECK(primary.state() == State::passive);
    REQUIRE(backup.on_event(Event::peer_passive, clock.now()).ok());
    CHECK(backup.state() == State::active);
    CHECK_FALSE(primary.on_event(Event::client_request, clock.now())->accepted);
}

TEST_CASE("fatal combinations are values, with a reason, and do not change the state") {
    ManualClock clock;
    ServerCore a(State::primary, hb, clock.now());
    REQUIRE(a.on_event(Event::peer_backup, clock.now()).ok());
    auto r = a.on_event(Event::peer_active, clock.now());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().reason.find("dual actives") != std::string::npos);
    CHECK(a.state() == State::active);

    ServerCore p(State::backup, hb, clock.now());
    REQUIRE(p.on_event(Event::peer_active, clock.now()).ok());
    auto q = p.on_event(Event::peer_passive, clock.now());
    REQUIRE_FALSE(q.ok());
    CHECK(q.error().reason.find("dual passives") != std::string::npos);
    CHECK(p.state() == State::passive);
}

TEST_CASE("state frames: one frame, decimal ASCII 1..4, anything else is an error value") {
    CHECK(view(encode_state(State::primary)) == "1");
    CHECK(view(encode_state(State::backup)) == "2");
    CHECK(view(encode_state(State::active)) == "3");
    CHECK(view(encode_state(State::passive)) == "4");
    CHECK(peer_event(State::active) == Event::peer_active);
    CHECK(static_cast<int>(Event::client_request) == 5);

    const std::pair<const char*, State> good[] = {
        {"1", State::primary}, {"2", State::backup}, {"3", State::active}, {"4", State::passive}};
    for (auto [text, state] : good) {
        auto r = decode_state(test::make_frames({text}));
        REQUIRE(r.ok());
        CHECK(*r == state);
    }
    for (std::string_view bad : {"", "0", "5", "9", "11", "3 ", "a", "\x03", "\x01", "-1"}) {
        CAPTURE(std::string(bad));
        CHECK_FALSE(decode_state(test::make_frames({bad})).ok());
    }
    CHECK_FALSE(decode_state(Frames{}).ok());
    CHECK_FALSE(decode_state(test::make_frames({"3", "3"})).ok());
    CHECK_FALSE(decode_state(test::make_frames({"", "3"})).ok());
}
