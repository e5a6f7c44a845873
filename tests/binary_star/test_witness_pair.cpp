// A real pair of bstarsrv with a real bstarwitness (docs/binary_star.md, Witness). The state channel goes
// through the test's proxy (state_proxy.hpp), which also remembers the last state each server published, even
// while a direction is cut: the tests sample both servers' states through it, and probe both frontends with
// raw DEALER clients, throughout.
#include <doctest/doctest.h>
#include <pirates/binary_star/witness.hpp>

#include "pair.hpp"
#include "support/http.hpp"

#include <array>
#include <csignal>

using namespace pirates;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {

// The lease is 10 heartbeats rather than the default 3: on a loaded 2-core machine the witness or the active
// can be starved for a few hundred ms, and a lost lease, though safe, would make the liveness checks flaky.
constexpr Duration lease = 500ms;
constexpr Duration max_lease = 1000ms;  // the witness's quiet time after start, too

std::unique_ptr<Process> start_witness(const std::string& bind = "tcp://127.0.0.1:*") {
    return std::make_unique<Process>(
        "bstarwitness",
        std::vector<std::string>{"--bind", bind, "--max-lease-ms", std::to_string(max_lease.count()),
                                 "--metrics", "127.0.0.1:0"});
}

// A client of one server: a DEALER sending ["", n] every `every`, counting the replies.
struct Probe {
    zmq::socket_t dealer;
    Duration every;
    TimePoint next{};
    long sent = 0, answered = 0;
    std::optional<TimePoint> first_answer;

    Probe(zmq::context_t& context, const std::string& endpoint, Duration every_ = 20ms)
        : dealer(context, zmq::socket_type::dealer), every(every_) {
        dealer.set(zmq::sockopt::linger, 0);
        dealer.connect(endpoint);
    }
    void tick() {
        const TimePoint now = Clock::now();
        if (now >= next) {
            next = now + every;
            Frames m;
            m.add(Frame());
            m.add(frame(std::to_string(++sent)));
            m.send(dealer, ZMQ_DONTWAIT);
        }
        Frames reply;
        while (reply.recv(dealer, ZMQ_DONTWAIT)) {
            ++answered;
            if (!first_answer) first_answer = Clock::now();
            reply.clear();
        }
    }
};

struct Samples {
    long taken = 0, both_active = 0, primary_active = 0, backup_active = 0;
};

// For `duration`: tick the probes and sample both servers' published states every few ms.
Samples watch(Pair& pair, std::vector<Probe*> probes, Duration duration) {
    Samples s;
    const TimePoint end = Clock::now() + duration;
    std::vector<zmq::pollitem_t> items;
    for (auto* p : probes) items.push_back({p->dealer.handle(), 0, ZMQ_POLLIN, 0});
    while (Clock::now() < end) {
        for (auto* p : probes) p->tick();
        const int a = pair.proxy.last_state(StateProxy::primary_to_backup);
        const int b = pair.proxy.last_state(StateProxy::backup_to_primary);
        ++s.taken;
        s.primary_active += a == 3;
        s.backup_active += b == 3;
        s.both_active += a == 3 && b == 3;
        zmq::poll(items.data(), items.size(), 5ms);
    }
    return s;
}

struct WitnessedPair {
    std::unique_ptr<Process> witness;
    std::string endpoint;
    std::vector<std::string> flags;
    Pair pair;

    // `lease_ttl` 0: the servers' default, 3 heartbeats.
    explicit WitnessedPair(Duration lease_ttl = lease)
        : witness(start_witness()),
          endpoint(witness->bound_endpoint("witness")),
          flags{"--witness", endpoint, "--lease-ms", std::to_string(lease_ttl.count())},
          pair(flags, hb, flags) {
        REQUIRE_FALSE(endpoint.empty());
        // The active asks every heartbeat; it gets the lease once the witness's quiet time is over.
        REQUIRE(pair.primary->wait_for("witness: lease held"));
    }
};

// Kill -9 the active of a witnessed pair with `lease_ttl`; the backup takes over. Returns the time from the
// kill to the backup's first answer (a client sending every 10 ms).
Duration kill_and_take_over(Duration lease_ttl) {
    WitnessedPair w(lease_ttl);
    Pair& pair = w.pair;
    const Duration ttl = lease_ttl.count() > 0 ? lease_ttl : 3 * hb;
    const auto port = url_port(w.witness->bound_endpoint("metrics"));
    REQUIRE(port != 0);
    std::string text;
    CHECK(eventually([&] {
        text = http_get(port);
        return has_line(text, "bstarwitness_lease_holder{role=\"PRIMARY\"} 1");
    }));
    CHECK(has_line(text, "bstarwitness_lease_holder{role=\"BACKUP\"} 0"));
    Probe to_backup(pair.context, pair.backup_frontend, 10ms);
    const TimePoint killed = Clock::now();
    pair.primary->kill9();
    REQUIRE(eventually(
        [&] {
            to_backup.tick();
            return to_backup.first_answer.has_value();
        },
        10000ms));
    const auto took = std::chrono::duration_cast<Duration>(*to_backup.first_answer - killed);
    MESSAGE("take-over: first answer from the backup " << took.count() << " ms after kill -9 (heartbeat "
                                                       << hb.count() << " ms, lease " << ttl.count()
                                                       << " ms)");
    // The lease the primary renewed last, at most a heartbeat (plus a loaded machine's delays) before the
    // kill, had to run out first.
    CHECK(took >= ttl / 2);
    CHECK(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
    CHECK(w.witness->wait_for("lease: PRIMARY -> BACKUP"));
    CHECK(eventually([&] {
        text = http_get(port);
        return has_line(text, "bstarwitness_lease_holder{role=\"BACKUP\"} 1");
    }));
    return took;
}

}  // namespace

TEST_CASE("witnessed pair: the state channel cut, clients on both sides: never two actives") {
    WitnessedPair w;
    Pair& pair = w.pair;
    Probe to_primary(pair.context, pair.primary_frontend), to_backup(pair.context, pair.backup_frontend);
    pair.proxy.cut_both(true);
    const auto s = watch(pair, {&to_primary, &to_backup}, 3000ms);
    MESSAGE("cut: " << s.taken << " samples, primary active in " << s.primary_active << ", backup active in "
                    << s.backup_active << ", both in " << s.both_active << "; primary answered "
                    << to_primary.answered << "/" << to_primary.sent << ", backup " << to_backup.answered
                    << "/" << to_backup.sent);
    CHECK(s.both_active == 0);
    CHECK(to_primary.answered > 0);
    if (pair.primary->count("on LEASE_LOST") == 0) {
        // The primary kept its lease: the backup asked (its peer had expired) and was denied every time.
        CHECK(s.backup_active == 0);
        CHECK(to_backup.answered == 0);
        CHECK(pair.backup->count("-> ACTIVE") == 0);
        CHECK(pair.backup->count("witness: lease held") == 0);
        CHECK(w.witness->count("-> BACKUP") == 0);
    } else {
        // On a loaded machine the primary (or the witness) can be starved for longer than the lease: then the
        // primary gives up first and the backup may take over, one after the other (seen once in 15 runs with
        // a sanitizer build beside). Never both.
        MESSAGE("the primary lost its lease (starved past it): the backup could take over");
    }
    // Healed: one active, one passive, nobody stops.
    pair.proxy.cut_both(false);
    const auto healed = watch(pair, {&to_primary, &to_backup}, 500ms);
    CHECK(healed.both_active == 0);
    CHECK(pair.primary->running());
    CHECK(pair.backup->running());
    CHECK(eventually([&] {
        const int a = pair.proxy.last_state(StateProxy::primary_to_backup);
        const int b = pair.proxy.last_state(StateProxy::backup_to_primary);
        return (a == 3 && b == 4) || (a == 4 && b == 3);
    }));
}

TEST_CASE("the same cut without a witness: two actives (the Guide's hole, as a contrast)") {
    Pair pair;
    Probe to_primary(pair.context, pair.primary_frontend), to_backup(pair.context, pair.backup_frontend);
    pair.proxy.cut_both(true);
    const auto s = watch(pair, {&to_primary, &to_backup}, 1500ms);
    MESSAGE("cut without a witness: " << s.taken << " samples, both active in " << s.both_active);
    CHECK(s.both_active > 0);
    CHECK(to_backup.answered > 0);
    CHECK(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
}

TEST_CASE("witnessed pair: the active killed: the backup takes over once the lease has run out") {
    kill_and_take_over(lease);
}

TEST_CASE("witnessed pair: the active killed, the default lease (3 heartbeats): the backup takes over") {
    kill_and_take_over(0ms);
}

TEST_CASE("witnessed pair: the witness down while the pair is healthy: nothing changes") {
    WitnessedPair w;
    Pair& pair = w.pair;
    w.witness->signal(SIGTERM);
    REQUIRE(w.witness->wait_exit() == 0);
    Probe to_primary(pair.context, pair.primary_frontend), to_backup(pair.context, pair.backup_frontend);
    const auto s = watch(pair, {&to_primary, &to_backup}, 1500ms);
    CHECK(pair.primary->wait_for("witness: lease not held"));
    // Without a lease the active depends on hearing its peer: on this loaded machine a peer's state can come
    // more than 2 heartbeats late, and then the active drops to passive until its next request (the primary
    // resumes next to a passive peer). Never the backup, never two.
    MESSAGE("witness down: primary active in "
            << s.primary_active << "/" << s.taken << " samples, answered " << to_primary.answered << "/"
            << to_primary.sent << ", dropped " << pair.primary->count("on LEASE_LOST") << " times");
    CHECK(s.both_active == 0);
    CHECK(s.backup_active == 0);
    CHECK(to_primary.answered > to_primary.sent / 2);
    CHECK(to_backup.answered == 0);
    CHECK(pair.backup->count("-> ACTIVE") == 0);
}

TEST_CASE("witnessed pair: witness down and channel cut: the active goes passive until the witness is back") {
    WitnessedPair w;
    Pair& pair = w.pair;
    w.witness->signal(SIGTERM);
    REQUIRE(w.witness->wait_exit() == 0);
    Probe to_primary(pair.context, pair.primary_frontend), to_backup(pair.context, pair.backup_frontend);
    pair.proxy.cut_both(true);
    // Reaching neither its peer nor the witness, the primary gives up the active role within a lease.
    CHECK(pair.primary->wait_for("state ACTIVE -> PASSIVE on LEASE_LOST"));
    auto s = watch(pair, {&to_primary, &to_backup}, 1000ms);
    CHECK(s.both_active == 0);
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    // The witness comes back on the same endpoint; after its quiet time, one of them gets the lease and serves.
    auto again = start_witness(w.endpoint);
    REQUIRE(again->bound_endpoint("witness") == w.endpoint);
    // Watch until one has taken over (the quiet time is 1 s; generous on a loaded machine), sampling throughout.
    auto took_over = [&] {
        return pair.primary->count("PASSIVE -> ACTIVE") + pair.backup->count("PASSIVE -> ACTIVE") >= 1;
    };
    for (int n = 0; n < 20 && !took_over(); ++n) {
        const auto more = watch(pair, {&to_primary, &to_backup}, 500ms);
        s.both_active += more.both_active;
    }
    CHECK(s.both_active == 0);
    CHECK(again->wait_for("lease: none -> "));
    CHECK(took_over());
    s = watch(pair, {&to_primary, &to_backup}, 500ms);
    CHECK(s.both_active == 0);
    // Healed: the one that serves stays, the other is passive; no fatal two passives or two actives.
    pair.proxy.cut_both(false);
    s = watch(pair, {&to_primary, &to_backup}, 500ms);
    CHECK(s.both_active == 0);
    CHECK(pair.primary->running());
    CHECK(pair.backup->running());
}

TEST_CASE("bstarwitness: malformed requests dropped, no lease granted during the quiet time after start") {
    auto witness = start_witness();
    const std::string ep = witness->bound_endpoint("witness");
    REQUIRE_FALSE(ep.empty());
    zmq::context_t context;
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(ep);
    for (const auto& bad : std::vector<std::vector<std::string>>{{"garbage"},
                                                                 {"BSTARW1"},
                                                                 {"BSTARW1", "LEASE", "9", "100", "1"},
                                                                 {"BSTARW1", "LEASE", "1", "x", "1"},
                                                                 {"BSTARW1", "LEASE", "1", "100000", "1"},
                                                                 {"", "BSTARW1", "LEASE", "1", "100", "1"}}) {
        Frames m;
        for (const auto& f : bad) m.add(frame(f));
        m.send(dealer);
    }
    auto ask = [&](std::uint64_t seq) -> std::optional<binary_star::LeaseReply> {
        encode_lease_request(binary_star::LeaseRequest{binary_star::State::primary, 100ms, seq}).send(dealer);
        Frames reply;
        if (!recv_within(dealer, reply, 5000ms)) return std::nullopt;
        auto r = binary_star::decode_lease_reply(reply);
        if (!r) return std::nullopt;
        return *r;
    };
    // Within the quiet time: denied (only the valid request is answered: the first reply is for seq 1).
    auto first = ask(1);
    REQUIRE(first);
    CHECK(first->seq == 1);
    if (!first->granted) {
        CHECK(first->remaining <= max_lease);
        // Granted once the quiet time is over.
        std::uint64_t seq = 1;
        CHECK(eventually([&] {
            auto r = ask(++seq);
            return r && r->granted && r->seq == seq;
        }));
    }
    CHECK(witness->wait_for("lease: none -> PRIMARY"));
    CHECK(witness->running());
    witness->signal(SIGINT);
    CHECK(witness->wait_exit() == 0);
}
