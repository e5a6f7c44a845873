// The witness of a Binary Star pair, socket-free, with a manual clock: the witness's WitnessCore, the server's
// LeaseCore, the wire form, the table with a witness (server_core.hpp) and whole scenarios of two ServerCores
// and a witness (peer dead, channel cut, witness dead, witness cut from one side, restarts, stalls).
#include <doctest/doctest.h>
#include <pirates/binary_star/server_core.hpp>
#include <pirates/binary_star/witness.hpp>

#include <array>
#include <optional>
#include <random>

using namespace pirates;
using namespace pirates::binary_star;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + std::chrono::hours(1000);
constexpr Duration max_ttl{1000};

LeaseRequest req(State role, Duration ttl, std::uint64_t seq) {
    return LeaseRequest{role, ttl, seq};
}

}  // namespace

TEST_CASE("witness core: nothing granted in the quiet time after start (a lease from before may still run)") {
    WitnessCore w(max_ttl, t0);
    auto d = w.on_request(req(State::primary, 300ms, 1), t0 + 999ms);
    REQUIRE(d);
    CHECK_FALSE(d->reply.granted);
    CHECK(d->reply.remaining == 1ms);
    CHECK(d->reply.seq == 1);
    d = w.on_request(req(State::primary, 300ms, 2), t0 + max_ttl);
    REQUIRE(d);
    CHECK(d->reply.granted);
    CHECK(d->reply.remaining == 300ms);
    CHECK(d->new_grant);
    CHECK_FALSE(d->previous.has_value());
    CHECK(w.holder(t0 + max_ttl) == State::primary);
}

TEST_CASE("witness core: the holder renews, the other is denied while the lease runs, granted after it") {
    const TimePoint start = t0 + max_ttl;
    WitnessCore w(max_ttl, t0);
    REQUIRE(w.on_request(req(State::primary, 300ms, 1), start)->reply.granted);
    // Renewal at +200: runs to +500, not a new grant.
    auto renew = w.on_request(req(State::primary, 300ms, 2), start + 200ms);
    REQUIRE(renew);
    CHECK(renew->reply.granted);
    CHECK_FALSE(renew->new_grant);
    CHECK(renew->reply.remaining == 300ms);
    // The backup is denied until +500, and told how long is left.
    auto denied = w.on_request(req(State::backup, 300ms, 1), start + 400ms);
    REQUIRE(denied);
    CHECK_FALSE(denied->reply.granted);
    CHECK(denied->reply.remaining == 100ms);
    CHECK_FALSE(w.on_request(req(State::backup, 300ms, 2), start + 499ms)->reply.granted);
    // At +500 the primary's lease has run out: the backup gets it, and the primary is now denied.
    auto taken = w.on_request(req(State::backup, 300ms, 3), start + 500ms);
    REQUIRE(taken);
    CHECK(taken->reply.granted);
    CHECK(taken->new_grant);
    CHECK(taken->previous == State::primary);
    CHECK(w.holder(start + 500ms) == State::backup);
    CHECK_FALSE(w.on_request(req(State::primary, 300ms, 3), start + 600ms)->reply.granted);
    // A renewal never shortens a lease.
    REQUIRE(w.on_request(req(State::backup, 50ms, 4), start + 600ms)->reply.granted);
    CHECK(w.holder(start + 799ms) == State::backup);
    CHECK_FALSE(w.holder(start + 800ms).has_value());
}

TEST_CASE("witness core: a lease longer than the maximum or a role that is not PRIMARY/BACKUP is an Error") {
    WitnessCore w(max_ttl, t0);
    CHECK_FALSE(w.on_request(req(State::primary, 1001ms, 1), t0 + 2s));
    CHECK_FALSE(w.on_request(req(State::active, 300ms, 1), t0 + 2s));
    CHECK_FALSE(w.holder(t0 + 2s).has_value());
}

TEST_CASE("lease core: a grant runs from when the request was SENT, stale and unknown replies are ignored") {
    LeaseCore lease(300ms);
    CHECK_FALSE(lease.held(t0));
    const auto r1 = lease.request(State::backup, t0);
    CHECK(r1.seq == 1);
    CHECK(r1.ttl == 300ms);
    CHECK(r1.role == State::backup);
    const auto r2 = lease.request(State::backup, t0 + 100ms);
    // The reply to r2 arrives late (+250): the lease still runs from +100, to +400.
    CHECK(lease.on_reply(LeaseReply{true, 300ms, r2.seq}));
    CHECK(lease.held(t0 + 399ms));
    CHECK_FALSE(lease.held(t0 + 400ms));
    // r1's reply, older than one answered, is ignored (it would not shorten the lease anyway, but a stale
    // grant must not count); so is a reply to a request never sent.
    CHECK_FALSE(lease.on_reply(LeaseReply{true, 300ms, r1.seq}));
    CHECK_FALSE(lease.on_reply(LeaseReply{true, 300ms, 99}));
    // A denial does not cut a running lease short, and does not extend it.
    const auto r3 = lease.request(State::backup, t0 + 200ms);
    CHECK(lease.on_reply(LeaseReply{false, 100ms, r3.seq}));
    CHECK(lease.expiry() == t0 + 400ms);
    // A reply cannot be applied twice.
    CHECK_FALSE(lease.on_reply(LeaseReply{false, 100ms, r3.seq}));
}

TEST_CASE("lease core: only the last kRemembered requests are remembered") {
    LeaseCore lease(300ms);
    const auto first = lease.request(State::primary, t0);
    for (std::size_t i = 0; i < LeaseCore::kRemembered; ++i) (void)lease.request(State::primary, t0);
    CHECK_FALSE(lease.on_reply(LeaseReply{true, 300ms, first.seq}));
    CHECK(lease.on_reply(LeaseReply{true, 300ms, lease.last_seq()}));
}

TEST_CASE("lease: the server's view ends no later than the witness's, whatever the delays") {
    std::mt19937 rng(17);
    std::uniform_int_distribution<int> delay(0, 80);
    for (int run = 0; run < 200; ++run) {
        WitnessCore w(max_ttl, t0);
        LeaseCore lease(300ms);
        TimePoint now = t0 + max_ttl;
        for (int i = 0; i < 20; ++i) {
            now += Duration{delay(rng) * 3};
            const auto r = lease.request(State::primary, now);
            const TimePoint arrives = now + Duration{delay(rng)};
            auto d = w.on_request(r, arrives);
            REQUIRE(d);
            REQUIRE(d->reply.granted);
            (void)lease.on_reply(d->reply);
            // The witness's view of our lease (arrival + remaining) is never earlier than ours.
            CHECK(lease.expiry() <= arrives + d->reply.remaining);
        }
    }
}

TEST_CASE("witness wire: requests and replies round-trip, anything else is an Error") {
    auto r = decode_lease_request(encode_lease_request(req(State::backup, 300ms, 42)));
    REQUIRE(r);
    CHECK(r->role == State::backup);
    CHECK(r->ttl == 300ms);
    CHECK(r->seq == 42);
    auto p = decode_lease_reply(encode_lease_reply(LeaseReply{true, 250ms, 7}));
    REQUIRE(p);
    CHECK(p->granted);
    CHECK(p->remaining == 250ms);
    CHECK(p->seq == 7);
    CHECK_FALSE(decode_lease_reply(encode_lease_reply(LeaseReply{false, 0ms, 7}))->granted);

    auto msg = [](std::vector<std::string> frames) {
        Frames m;
        for (const auto& f : frames) m.add(frame(f));
        return m;
    };
    CHECK(decode_lease_request(msg({"BSTARW1", "LEASE", "1", "300", "1"})));
    for (const auto& bad : std::vector<std::vector<std::string>>{
             {},
             {"BSTARW1", "LEASE", "1", "300"},
             {"BSTARW1", "LEASE", "1", "300", "1", "x"},
             {"BSTARW2", "LEASE", "1", "300", "1"},
             {"BSTARW1", "GRANT", "1", "300", "1"},
             {"BSTARW1", "LEASE", "3", "300", "1"},
             {"BSTARW1", "LEASE", "", "300", "1"},
             {"BSTARW1", "LEASE", "1", "0", "1"},
             {"BSTARW1", "LEASE", "1", "-5", "1"},
             {"BSTARW1", "LEASE", "1", "30x", "1"},
             {"BSTARW1", "LEASE", "1", "99999999999999999999", "1"},
             {"BSTARW1", "LEASE", "1", "300", "0"},
             {"BSTARW1", "LEASE", "1", "300", " 1"},
         }) {
        CAPTURE(bad.size());
        CHECK_FALSE(decode_lease_request(msg(bad)));
    }
    CHECK(decode_lease_reply(msg({"BSTARW1", "DENIED", "0", "3"})));
    for (const auto& bad : std::vector<std::vector<std::string>>{
             {"BSTARW1", "GRANTED", "300"},
             {"BSTARW1", "MAYBE", "300", "1"},
             {"BSTARW1", "GRANTED", "abc", "1"},
             {"BSTARW1", "GRANTED", "300", "0"},
             {"X", "GRANTED", "300", "1"},
         })
        CHECK_FALSE(decode_lease_reply(msg(bad)));
}

// The table with a witness, every row server_core.hpp lists, and the Guide's rows it keeps.
TEST_CASE("table with a witness") {
    auto run = [](State s, Event e, bool expired, bool silent, bool lease, std::optional<State> peer = {},
                  bool primary = false) {
        return witnessed_transition(s, e, WitnessFacts{expired, silent, lease, peer, primary});
    };
    auto ok = [](Result<Step> r) {
        REQUIRE(r);
        return r.value();
    };
    using S = State;
    using E = Event;
    // PRIMARY: a client request makes it active only with the peer expired AND the lease.
    CHECK(ok(run(S::primary, E::client_request, true, true, true)) == Step{S::active, true});
    CHECK(ok(run(S::primary, E::client_request, true, true, false)) == Step{S::primary, false});
    CHECK(ok(run(S::primary, E::client_request, false, false, true)) == Step{S::primary, false});
    CHECK(ok(run(S::primary, E::peer_backup, false, false, false)) == Step{S::active, true});
    CHECK(ok(run(S::primary, E::peer_active, false, false, false)) == Step{S::passive, true});
    CHECK_FALSE(run(S::primary, E::peer_primary, false, false, true));
    // BACKUP: the Guide's.
    CHECK(ok(run(S::backup, E::client_request, true, true, true)) == Step{S::backup, false});
    CHECK(ok(run(S::backup, E::peer_active, false, false, false)) == Step{S::passive, true});
    CHECK_FALSE(run(S::backup, E::peer_backup, false, false, false));
    // ACTIVE: two actives are no longer fatal, the lease holder stays.
    CHECK(ok(run(S::active, E::peer_active, false, false, true)) == Step{S::active, true});
    CHECK(ok(run(S::active, E::peer_active, false, false, false)) == Step{S::passive, true});
    // The lease check: only a silent peer and no lease make it passive.
    CHECK(ok(run(S::active, E::lease_lost, true, true, false)) == Step{S::passive, true});
    CHECK(ok(run(S::active, E::lease_lost, true, true, true)) == Step{S::active, true});
    CHECK(ok(run(S::active, E::lease_lost, false, false, false)) == Step{S::active, true});
    // The stall rule does not keep an active without a lease: silent counts, not expired.
    CHECK(ok(run(S::active, E::lease_lost, false, true, false)) == Step{S::passive, true});
    CHECK(ok(run(S::active, E::client_request, true, true, false)) == Step{S::passive, false});
    CHECK(ok(run(S::active, E::client_request, false, false, false)) == Step{S::active, true});
    CHECK(ok(run(S::active, E::client_request, true, true, true)) == Step{S::active, true});
    CHECK(ok(run(S::active, E::peer_passive, false, false, false)) == Step{S::active, true});
    // PASSIVE: two passives are not fatal; the lease holder takes a request.
    CHECK(ok(run(S::passive, E::peer_passive, false, false, false, S::passive, false)) ==
          Step{S::passive, true});
    CHECK(ok(run(S::passive, E::peer_passive, false, false, false, S::passive, true)) ==
          Step{S::active, true});
    CHECK(ok(run(S::passive, E::client_request, true, true, true)) == Step{S::active, true});
    CHECK(ok(run(S::passive, E::client_request, true, true, false)) == Step{S::passive, false});
    // Both passive and hearing each other: the primary resumes (no lease needed), the backup does not, lease
    // or not.
    CHECK(ok(run(S::passive, E::client_request, false, false, false, S::passive, true)) ==
          Step{S::active, true});
    CHECK(ok(run(S::passive, E::client_request, false, false, true, S::passive, false)) ==
          Step{S::passive, false});
    CHECK(ok(run(S::passive, E::client_request, false, false, false, S::passive, false)) ==
          Step{S::passive, false});
    // Not if the peer is silent (that needs the lease), nor next to an active peer.
    CHECK(ok(run(S::passive, E::client_request, false, true, false, S::passive, true)) ==
          Step{S::passive, false});
    CHECK(ok(run(S::passive, E::client_request, false, false, true, S::active, true)) ==
          Step{S::passive, false});
    CHECK(ok(run(S::passive, E::peer_primary, false, false, false)) == Step{S::active, true});
    CHECK(ok(run(S::passive, E::peer_backup, false, false, false)) == Step{S::active, true});
    CHECK(ok(run(S::passive, E::lease_lost, true, true, false)) == Step{S::passive, true});
}

TEST_CASE("without a witness the Guide's rules hold: two passives and two actives are fatal") {
    ServerCore core(State::primary, 100ms, t0);
    REQUIRE(core.on_event(Event::peer_backup, t0));
    CHECK(core.state() == State::active);
    CHECK_FALSE(core.on_event(Event::peer_active, t0));
    ServerCore passive(State::backup, 100ms, t0);
    REQUIRE(passive.on_event(Event::peer_active, t0));
    CHECK_FALSE(passive.on_event(Event::peer_passive, t0));
    CHECK_FALSE(core.wants_lease(t0));
    // LEASE_LOST means nothing without a witness.
    CHECK(core.on_event(Event::lease_lost, t0 + 1h)->next == State::active);
}

TEST_CASE("who asks the witness: ACTIVE always, PRIMARY/PASSIVE if the peer expired, BACKUP never") {
    ServerCore a(State::primary, 100ms, t0 + 200ms);
    a.use_witness();
    CHECK_FALSE(a.wants_lease(t0));
    CHECK(a.wants_lease(t0 + 200ms));  // a primary alone
    REQUIRE(a.on_event(Event::peer_backup, t0));
    CHECK(a.state() == State::active);
    CHECK(a.wants_lease(t0));
    ServerCore b(State::backup, 100ms, t0 + 200ms);
    b.use_witness();
    CHECK_FALSE(b.wants_lease(t0 + 1h));
    REQUIRE(b.on_event(Event::peer_active, t0));
    CHECK_FALSE(b.wants_lease(t0 + 100ms));
    CHECK(b.wants_lease(t0 + 200ms));  // the peer expired
    REQUIRE(b.on_event(Event::peer_passive, t0 + 300ms));
    CHECK_FALSE(b.wants_lease(t0 + 300ms));  // both passive, hearing each other: the primary resumes
}

namespace {

// Two ServerCores and a witness on one manual clock; every heartbeat each server publishes its state over the
// (cuttable) state channel and asks the (cuttable) witness when it wants the lease. Messages are delivered at
// once. Clients send requests to the sides they reach. After every step: never two servers serving.
struct World {
    static constexpr Duration hb = 100ms;
    TimePoint now = t0;
    std::optional<WitnessCore> witness;
    std::array<ServerCore, 2> core{ServerCore(State::primary, hb, t0 + 2 * hb),
                                   ServerCore(State::backup, hb, t0 + 2 * hb)};
    std::array<LeaseCore, 2> lease{LeaseCore(3 * hb), LeaseCore(3 * hb)};
    std::array<bool, 2> alive{true, true};
    std::array<bool, 2> hears{true, true};         // hears[i]: server i hears its peer
    std::array<bool, 2> reaches{true, true};       // reaches[i]: server i and the witness reach each other
    std::array<bool, 2> has_clients{true, false};  // clients send to server i
    std::array<long, 2> served{0, 0};
    bool fatal = false;

    explicit World(bool with_witness = true) {
        if (with_witness) {
            witness.emplace(max_ttl, t0 - max_ttl);  // started long ago: no quiet time
            for (auto& c : core) c.use_witness();
        }
        for (auto& c : core) c.awake(now);
    }
    State state(int i) const { return core[i].state(); }
    void restart(int i) {
        core[i] = ServerCore(i == 0 ? State::primary : State::backup, hb, now + 2 * hb);
        if (witness) core[i].use_witness();
        core[i].awake(now);
        lease[i] = LeaseCore(3 * hb);
        alive[i] = true;
    }
    void event(int i, Event e) {
        auto step = core[i].on_event(e, now);
        if (!step) fatal = true;
    }
    // One heartbeat, in 10 ms steps: awake + lease check every step, states and witness every heartbeat,
    // a client request to each side that has clients every step.
    void heartbeat() {
        for (int tick = 0; tick < 10; ++tick) {
            now += 10ms;
            std::array<bool, 2> serving{false, false};
            for (int i = 0; i < 2; ++i) {
                if (!alive[i]) continue;
                core[i].awake(now);
                core[i].lease_until(lease[i].expiry());
                if (core[i].state() == State::active) event(i, Event::lease_lost);
                if (tick == 9) {
                    const int peer = 1 - i;
                    if (alive[peer] && hears[peer]) event(peer, peer_event(core[i].state()));
                    if (witness && reaches[i] && core[i].wants_lease(now)) {
                        auto d = witness->on_request(
                            lease[i].request(i == 0 ? State::primary : State::backup, now), now);
                        REQUIRE(d);
                        (void)lease[i].on_reply(d->reply);
                        core[i].lease_until(lease[i].expiry());
                    }
                }
                if (has_clients[i]) {
                    auto step = core[i].on_event(Event::client_request, now);
                    REQUIRE(step);
                    if (step->accepted) {
                        serving[i] = true;
                        ++served[i];
                    }
                }
            }
            CHECK_FALSE((serving[0] && serving[1]));
            CHECK_FALSE((alive[0] && alive[1] && state(0) == State::active && state(1) == State::active));
        }
    }
    void run(int heartbeats) {
        for (int n = 0; n < heartbeats; ++n) heartbeat();
    }
};

}  // namespace

TEST_CASE("scenario: the pair settles and the active holds the lease") {
    World w;
    w.run(5);
    CHECK(w.state(0) == State::active);
    CHECK(w.state(1) == State::passive);
    CHECK(w.core[0].lease_held(w.now));
    CHECK_FALSE(w.core[1].lease_held(w.now));
    CHECK(w.served[0] > 0);
}

TEST_CASE("scenario: the state channel cut, clients on both sides: never two actives, the primary serves") {
    World w;
    w.run(5);
    w.hears = {false, false};
    w.has_clients = {true, true};
    w.run(50);
    CHECK(w.state(0) == State::active);
    CHECK(w.state(1) == State::passive);
    CHECK(w.served[1] == 0);
    CHECK_FALSE(w.fatal);
    // Healed: nothing changes.
    w.hears = {true, true};
    w.run(5);
    CHECK(w.state(0) == State::active);
    CHECK(w.state(1) == State::passive);
    CHECK_FALSE(w.fatal);
}

TEST_CASE("scenario: the same cut without a witness makes two actives (the Guide's hole)") {
    World w(false);
    w.run(5);
    w.hears = {false, false};
    w.has_clients = {true, true};
    for (int n = 0; n < 10; ++n) {
        for (int tick = 0; tick < 10; ++tick) {
            w.now += 10ms;
            for (int i = 0; i < 2; ++i) {
                w.core[i].awake(w.now);
                (void)w.core[i].on_event(Event::client_request, w.now);
            }
        }
    }
    CHECK(w.state(0) == State::active);
    CHECK(w.state(1) == State::active);
}

TEST_CASE("scenario: the active dies: the backup takes over once the active's lease has run out") {
    World w;
    w.run(5);
    w.alive[0] = false;
    w.has_clients = {false, true};
    const TimePoint died = w.now;
    TimePoint took_over{};
    for (int n = 0; n < 20 && w.state(1) != State::active; ++n) {
        w.heartbeat();
        took_over = w.now;
    }
    REQUIRE(w.state(1) == State::active);
    // Not before the lease the primary last renewed (at `died`, 3 heartbeats) has run out.
    CHECK(took_over - died >= 3 * World::hb);
    CHECK(took_over - died <= 5 * World::hb);
}

TEST_CASE("scenario: the active cut from both its peer and the witness goes passive, the backup takes over") {
    World w;
    w.run(5);
    w.hears = {false, false};
    w.reaches[0] = false;
    w.has_clients = {true, true};
    w.run(10);
    CHECK(w.state(0) == State::passive);
    CHECK(w.state(1) == State::active);
    CHECK(w.core[1].lease_held(w.now));
    // Healed: the former primary hears ACTIVE and stays passive.
    w.hears = {true, true};
    w.reaches[0] = true;
    w.run(5);
    CHECK(w.state(0) == State::passive);
    CHECK(w.state(1) == State::active);
    CHECK_FALSE(w.fatal);
}

TEST_CASE(
    "scenario: the witness cut from the passive side only: nothing changes, even with the channel cut") {
    World w;
    w.run(5);
    w.reaches[1] = false;
    w.has_clients = {true, true};
    w.run(5);
    w.hears = {false, false};
    w.run(20);
    CHECK(w.state(0) == State::active);
    CHECK(w.state(1) == State::passive);
    CHECK(w.served[1] == 0);
}

TEST_CASE("scenario: the witness down while the pair is healthy: nothing changes") {
    World w;
    w.run(5);
    w.reaches = {false, false};
    w.has_clients = {true, true};
    w.run(30);
    CHECK(w.state(0) == State::active);
    CHECK(w.state(1) == State::passive);
    CHECK_FALSE(w.core[0].lease_held(w.now));
    CHECK(w.served[1] == 0);
    CHECK_FALSE(w.fatal);
}

TEST_CASE("scenario: the witness down and the channel cut: both passive - healed: the primary resumes") {
    World w;
    w.run(5);
    w.reaches = {false, false};
    w.hears = {false, false};
    w.has_clients = {true, true};
    w.run(10);
    CHECK(w.state(0) == State::passive);
    CHECK(w.state(1) == State::passive);
    // The channel heals, the witness still down: two passives are not fatal; they hear each other, and the
    // primary resumes.
    w.hears = {true, true};
    w.run(5);
    CHECK_FALSE(w.fatal);
    CHECK(w.state(0) == State::active);
    CHECK(w.state(1) == State::passive);
    // The witness back: nothing changes, the active gets the lease.
    w.reaches = {true, true};
    w.run(5);
    CHECK_FALSE(w.fatal);
    CHECK(w.state(0) == State::active);
    CHECK(w.core[0].lease_held(w.now));
}

TEST_CASE("scenario: the witness down and the channel cut: both passive - the witness back: one takes over") {
    World w;
    w.run(5);
    w.reaches = {false, false};
    w.hears = {false, false};
    w.has_clients = {true, true};
    w.run(10);
    REQUIRE(w.state(0) == State::passive);
    REQUIRE(w.state(1) == State::passive);
    w.reaches = {true, true};
    w.run(5);
    CHECK(((w.state(0) == State::active) != (w.state(1) == State::active)));
    w.hears = {true, true};
    w.run(5);
    CHECK_FALSE(w.fatal);
    CHECK(((w.state(0) == State::active) != (w.state(1) == State::active)));
}

TEST_CASE("scenario: a brief silence of the peer while the witness is down: the active drops, then resumes") {
    World w;
    w.run(5);
    w.reaches = {false, false};
    w.run(5);
    w.hears[0] = false;  // the primary misses 3 of the backup's states
    w.run(3);
    CHECK(w.state(0) == State::passive);
    w.hears[0] = true;
    w.has_clients = {false, false};  // it resumes on hearing the peer's PASSIVE, no client needed
    w.run(3);
    CHECK(w.state(0) == State::active);
    CHECK(w.state(1) == State::passive);
    CHECK_FALSE(w.fatal);
}

TEST_CASE("scenario: the primary restarts next to an active backup: it comes back passive") {
    World w;
    w.run(5);
    w.alive[0] = false;
    w.has_clients = {false, true};
    w.run(10);
    REQUIRE(w.state(1) == State::active);
    w.restart(0);
    w.has_clients = {true, true};
    w.run(10);
    CHECK(w.state(0) == State::passive);
    CHECK(w.state(1) == State::active);
    CHECK_FALSE(w.fatal);
}

TEST_CASE("scenario: the active stalls beyond its lease with the channel cut: it wakes passive") {
    World w;
    w.run(5);
    w.hears = {false, false};
    w.has_clients = {false, true};
    w.alive[0] = false;  // stalled: runs nothing, receives nothing
    w.run(10);
    REQUIRE(w.state(1) == State::active);
    w.alive[0] = true;  // wakes: the stall rule extends its peer expiry, but the lease has run out
    w.has_clients = {true, true};
    w.run(5);
    CHECK(w.state(0) == State::passive);
    CHECK(w.state(1) == State::active);
}
