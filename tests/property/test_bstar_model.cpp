// The Binary Star server core against a model of the rules in docs/protocols.md ("Binary Star"):
//  - each state received from the peer sets peer expiry = now + 2 x heartbeat, then the transition table runs;
//  - the table: PRIMARY: PEER_BACKUP -> ACTIVE, PEER_ACTIVE -> PASSIVE, CLIENT_REQUEST -> ACTIVE if the peer has
//    expired, else refused; BACKUP: PEER_ACTIVE -> PASSIVE, CLIENT_REQUEST refused; ACTIVE: PEER_ACTIVE fatal,
//    all else accepted; PASSIVE: PEER_PRIMARY/PEER_BACKUP -> ACTIVE, PEER_PASSIVE fatal, CLIENT_REQUEST ->
//    ACTIVE if the peer has expired, else refused; anything not listed leaves the state as it is;
//  - two of the same role (PEER_PRIMARY to a PRIMARY, PEER_BACKUP to a BACKUP) are fatal too (our addition);
//  - a server that finds itself stalled for more than a heartbeat gives the peer two more heartbeats.
// After a fatal combination the server stops: the sequence ends there, and the core must have said so too.
#include "property.hpp"

#include <pirates/binary_star/server_core.hpp>

#include <optional>
#include <tuple>
#include <vector>

using namespace pirates;
using namespace pirates::binary_star;

namespace {

struct Model {
    State state;
    Duration heartbeat;
    TimePoint peer_expiry;
    std::optional<TimePoint> last_awake;

    bool awake(TimePoint now) {
        const bool stalled = last_awake && now - *last_awake > heartbeat;
        last_awake = now;
        if (stalled) peer_expiry = std::max(peer_expiry, now + 2 * heartbeat);
        return stalled;
    }

    // nullopt: fatal. Otherwise (next state, accepted).
    std::optional<std::pair<State, bool>> on(Event e, TimePoint now) {
        if (e != Event::client_request) peer_expiry = now + 2 * heartbeat;
        const bool expired = now >= peer_expiry;
        const auto keep = std::make_pair(state, true);
        auto go = [&](State s) { return std::make_optional(std::make_pair(s, true)); };
        std::optional<std::pair<State, bool>> r = keep;
        switch (state) {
            case State::primary:
                if (e == Event::peer_primary) r = std::nullopt;
                if (e == Event::peer_backup) r = go(State::active);
                if (e == Event::peer_active) r = go(State::passive);
                if (e == Event::client_request)
                    r = expired ? go(State::active) : std::make_pair(state, false);
                break;
            case State::backup:
                if (e == Event::peer_backup) r = std::nullopt;
                if (e == Event::peer_active) r = go(State::passive);
                if (e == Event::client_request) r = std::make_pair(state, false);
                break;
            case State::active:
                if (e == Event::peer_active) r = std::nullopt;
                break;
            case State::passive:
                if (e == Event::peer_primary || e == Event::peer_backup) r = go(State::active);
                if (e == Event::peer_passive) r = std::nullopt;
                if (e == Event::client_request)
                    r = expired ? go(State::active) : std::make_pair(state, false);
                break;
        }
        if (r) state = r->first;
        return r;
    }
};

}  // namespace

TEST_CASE("property: the Binary Star server core follows the fail-over table step by step") {
    PIRATES_PROPERTY("Binary Star ServerCore == model", [] {
        const auto heartbeat = Duration{*rc::gen::inRange(1, 100)};
        const State role = *rc::gen::element(State::primary, State::backup);
        // The peer counts as alive for `grace` from the start (our server passes 2 heartbeats; 0 = the
        // reference, already expired).
        const auto grace = Duration{*rc::gen::inRange(0, 300)};
        // One step: (event 1..5, time to move first in ms, whether the loop says it is awake first).
        const auto steps = *rc::gen::container<std::vector<std::tuple<int, int, bool>>>(rc::gen::tuple(
            rc::gen::inRange(1, 6),
            rc::gen::weightedOneOf<int>({{6, rc::gen::inRange(0, 60)}, {1, rc::gen::inRange(60, 400)}}),
            rc::gen::arbitrary<bool>()));

        ManualClock clock;
        ServerCore core(role, heartbeat, clock.now() + grace);
        Model model{role, heartbeat, clock.now() + grace, std::nullopt};
        for (const auto& [event_number, advance, awake_first] : steps) {
            clock.advance(Duration{advance});
            const TimePoint now = clock.now();
            if (awake_first) RC_ASSERT(core.awake(now) == model.awake(now));
            const auto event = static_cast<Event>(event_number);
            const auto step = core.on_event(event, now);
            const auto expected = model.on(event, now);
            RC_ASSERT(static_cast<bool>(step) == expected.has_value());
            if (!expected) {
                RC_ASSERT(core.state() == model.state);  // a fatal event leaves the state as it was
                return;                                  // and the server stops
            }
            RC_ASSERT(step->next == expected->first);
            RC_ASSERT(step->accepted == expected->second);
            RC_ASSERT(core.state() == model.state);
            RC_ASSERT(core.peer_expiry() == model.peer_expiry);
        }
    });
}

TEST_CASE("property: a server never serves a client while its peer is heard ACTIVE") {
    // Safety of the pair, from the model's rules: whatever the sequence, a CLIENT_REQUEST accepted at time t
    // means no PEER_ACTIVE was received in (t - 2 heartbeats, t] while this server was not already ACTIVE.
    PIRATES_PROPERTY("no take-over within two heartbeats of hearing PEER_ACTIVE", [] {
        const auto heartbeat = Duration{*rc::gen::inRange(1, 100)};
        const State role = *rc::gen::element(State::primary, State::backup);
        const auto steps = *rc::gen::container<std::vector<std::pair<int, int>>>(
            rc::gen::pair(rc::gen::inRange(1, 6), rc::gen::inRange(0, 150)));
        ManualClock clock;
        ServerCore core(role, heartbeat, clock.now() + 2 * heartbeat);
        std::optional<TimePoint> heard_active;
        for (const auto& [event_number, advance] : steps) {
            clock.advance(Duration{advance});
            const TimePoint now = clock.now();
            core.awake(now);
            const State before = core.state();
            const auto event = static_cast<Event>(event_number);
            const auto step = core.on_event(event, now);
            if (!step) return;  // fatal: the server stops
            if (event == Event::peer_active) heard_active = now;
            if (event == Event::client_request && step->accepted && before != State::active && heard_active)
                RC_ASSERT(now >= *heard_active + 2 * heartbeat);
        }
    });
}
