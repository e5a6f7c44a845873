// Binary Star with its links through fault proxies: both directions of the state channel, and each client's
// link to each server. A sampler reads both servers' logged states ("state X -> Y on E") throughout and
// records any moment both were ACTIVE.
#include <doctest/doctest.h>

#include <pirates/binary_star/client.hpp>

#include "rig.hpp"

#include <atomic>
#include <csignal>
#include <memory>
#include <optional>
#include <thread>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::fault;

namespace {

constexpr Duration hb{50};

// The state a server last logged entering ("" before any).
std::string current_state(const Process& p) {
    const std::string out = p.output();
    const auto at = out.rfind("state ");
    const auto arrow = out.find(" -> ", at == std::string::npos ? 0 : at);
    if (at == std::string::npos || arrow == std::string::npos) return "";
    const auto end = out.find(' ', arrow + 4);
    return out.substr(arrow + 4, end - arrow - 4);
}

// The pair, each server's state subscriber reaching the other's publisher through a proxy, and a sampler.
struct Pair {
    FaultProxy to_primary, to_backup;  // the state channel: what each server hears
    std::unique_ptr<Process> primary, backup;
    std::string primary_frontend, backup_frontend;
    std::atomic<bool> stop{false};
    std::atomic<int> samples{0}, both_active{0};
    std::thread sampler;

    explicit Pair(Duration heartbeat = hb) {
        auto start = [heartbeat](const char* role, const std::string& sub) {
            return std::make_unique<Process>(
                "bstarsrv",
                std::vector<std::string>{role, "--frontend", "tcp://127.0.0.1:*", "--state-pub",
                                         "tcp://127.0.0.1:*", "--state-sub", sub, "--heartbeat-ms",
                                         std::to_string(heartbeat.count()), "-v"});
        };
        primary = start("--primary", to_primary.endpoint());
        backup = start("--backup", to_backup.endpoint());
        primary_frontend = primary->bound_endpoint("frontend");
        backup_frontend = backup->bound_endpoint("frontend");
        const auto primary_pub = primary->bound_endpoint("state-pub");
        const auto backup_pub = backup->bound_endpoint("state-pub");
        REQUIRE_FALSE(primary_pub.empty());
        REQUIRE_FALSE(backup_pub.empty());
        to_primary.set_target(port_part(backup_pub));
        to_backup.set_target(port_part(primary_pub));
        REQUIRE(primary->wait_for("state PRIMARY -> ACTIVE on PEER_BACKUP", slack));
        REQUIRE(backup->wait_for("state BACKUP -> PASSIVE on PEER_ACTIVE", slack));
        sampler = std::thread([this] {
            while (!stop) {
                if (current_state(*primary) == "ACTIVE" && current_state(*backup) == "ACTIVE") ++both_active;
                ++samples;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the sampling period, not a wait
            }
        });
    }
    ~Pair() { stop_sampling(); }
    void stop_sampling() {
        stop = true;
        if (sampler.joinable()) sampler.join();
    }
    void state_channel_drop() {
        to_primary.drop();
        to_backup.drop();
    }
    void state_channel_delay(Duration by) {
        to_primary.delay(by);
        to_backup.delay(by);
    }
    void state_channel_heal() {
        to_primary.heal();
        to_backup.heal();
    }
};

binary_star::Client make_client(zmq::context_t& context, const std::vector<std::string>& connect,
                                int attempts = 40, Duration timeout = Duration{300}) {
    binary_star::ClientOptions o;
    o.connect = connect;
    o.timeout = timeout;
    o.settle = 2 * hb;
    o.attempts = attempts;
    return binary_star::Client(context, o);
}

}  // namespace

TEST_CASE(
    "binary star: the state channel blackholed while clients use the active - the backup stays passive") {
    Pair pair;
    FaultProxy to_p(port_part(pair.primary_frontend)), to_b(port_part(pair.backup_frontend));
    zmq::context_t context;
    // A patient client: one that timed out on a slow primary (a loaded machine) would fail over to the backup,
    // which, its peer silent, would take over: the very hole the third test shows. Here the primary answers.
    auto client = make_client(context, {to_p.endpoint(), to_b.endpoint()}, 40, Duration{5000});
    for (int i = 0; i < 5; ++i) {
        auto r = client.request(std::string("before"));
        REQUIRE(r.ok());
        CHECK(r->server == 0);
    }
    pair.state_channel_drop();
    // Long past the peer's expiry (2 heartbeats) on both sides: requests keep going to the primary, first time.
    const TimePoint until_time = Clock::now() + 40 * hb;
    int served = 0, elsewhere = 0, retried = 0;
    while (Clock::now() < until_time) {
        auto r = client.request(std::string("during"));
        REQUIRE(r.ok());
        elsewhere += r->server != 0;
        retried += r.attempts != 1;
        ++served;
    }
    CHECK(elsewhere == 0);
    CHECK(retried == 0);
    CHECK(pair.to_primary.counters().dropped[1] > 0);  // the backup's heartbeats went nowhere
    CHECK(pair.to_backup.counters().dropped[1] > 0);
    pair.state_channel_heal();
    // Each hears the other again (the backup its ACTIVE peer): nothing changes.
    const auto heard = pair.to_backup.counters().written[1];
    CHECK(eventually([&] { return pair.to_backup.counters().written[1] > heard; }, slack));
    for (int i = 0; i < 10; ++i) {
        auto r = client.request(std::string("after"));
        REQUIRE(r.ok());
        CHECK(r->server == 0);
    }
    pair.stop_sampling();
    MESSAGE(served << " requests served during the cut; " << pair.samples.load() << " state samples");
    CHECK(pair.both_active == 0);
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(pair.primary->running());
    CHECK(pair.backup->running());
    CHECK(pair.primary->count("fatal") + pair.backup->count("fatal") == 0);
}

TEST_CASE(
    "binary star: client links to the active cut, state channel up - the backup refuses, no fail-over") {
    Pair pair;
    FaultProxy to_p(port_part(pair.primary_frontend)), to_b(port_part(pair.backup_frontend));
    zmq::context_t context;
    auto client = make_client(context, {to_p.endpoint(), to_b.endpoint()});
    auto first = client.request(std::string("before"));
    REQUIRE(first.ok());
    CHECK(first->server == 0);

    to_p.cut(true);  // the primary unreachable for clients, connections closed and refused
    std::atomic<bool> done{false};
    std::optional<Outcome<binary_star::Answer>> outcome;
    std::thread asker([&] {
        outcome = client.request(std::string("during"));
        done = true;
    });
    // The client fails over to the backup, which hears its ACTIVE peer and refuses (no answer).
    CHECK(pair.backup->wait_for("refused a request in state PASSIVE", slack));
    CHECK(eventually([&] { return pair.backup->count("refused a request") >= 2; }, slack));
    CHECK_FALSE(done);
    to_p.heal();
    asker.join();
    REQUIRE(outcome.has_value());
    REQUIRE(outcome->ok());
    CHECK((*outcome)->server == 0);  // answered by the primary once reachable again
    CHECK(outcome->attempts >= 3);   // primary (cut), backup (refused), primary again at least
    MESSAGE("answered after " << outcome->attempts << " attempts");
    pair.stop_sampling();
    CHECK(pair.both_active == 0);
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(pair.primary->count("fatal") + pair.backup->count("fatal") == 0);
}

TEST_CASE(
    "binary star: known hole - state channel cut with clients on both sides makes two actives (no witness)") {
    // docs/binary_star.md, "What Binary Star cannot protect against": the pair cannot tell a dead peer from a
    // partition that leaves clients on both sides. This test pins that behaviour down: two actives, found and
    // stopped (fatal: dual actives) once the channel heals. A witness (--witness) is the fix, tested with it.
    Pair pair;
    FaultProxy x_to_p(port_part(pair.primary_frontend)), x_to_b(port_part(pair.backup_frontend));
    FaultProxy y_to_p(port_part(pair.primary_frontend)), y_to_b(port_part(pair.backup_frontend));
    x_to_b.cut(true);  // client X reaches only the primary
    y_to_p.cut(true);  // client Y reaches only the backup
    pair.state_channel_drop();
    zmq::context_t context;
    auto x = make_client(context, {x_to_p.endpoint(), x_to_b.endpoint()});
    auto y = make_client(context, {y_to_p.endpoint(), y_to_b.endpoint()});
    auto rx = x.request(std::string("x"));
    REQUIRE(rx.ok());
    CHECK(rx->server == 0);
    auto ry = y.request(std::string("y"));
    REQUIRE(ry.ok());
    CHECK(ry->server == 1);  // the backup took over: two actives
    CHECK(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST", slack));
    CHECK(eventually([&] { return pair.both_active > 0; }, slack));
    pair.state_channel_heal();
    // Each hears ACTIVE from an active peer: the pair stops.
    CHECK(eventually(
        [&] { return pair.primary->count("dual actives") + pair.backup->count("dual actives") > 0; }, slack));
    pair.stop_sampling();
}

namespace {

// A client that reaches only the backup, asking in a loop until stopped: each request is one attempt, refused
// (no answer) while the backup hears its active peer.
struct BackupAsker {
    std::atomic<bool> stop{false};
    std::atomic<int> asked{0}, answered{0};
    std::thread thread;
    explicit BackupAsker(const std::string& backup_frontend) {
        thread = std::thread([this, backup_frontend] {
            zmq::context_t context;
            auto client = make_client(context, {backup_frontend}, 1, Duration{150});
            while (!stop) {
                ++asked;
                auto r = client.request(std::string("y"));
                answered += r.ok();
            }
        });
    }
    ~BackupAsker() { finish(); }
    void finish() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
};

}  // namespace

TEST_CASE("binary star: the state channel delayed below the fail-over timeout - no fail-over, ever") {
    // Heartbeat 200 ms: the peer expires after 400 ms of silence. A delay of 50 ms each way stretches one gap
    // to 250 ms (when it begins) and keeps the rest at 200. A client asking only the backup all along is
    // refused every time; one using the primary is answered by it at the first attempt.
    constexpr Duration beat{200};
    Pair pair(beat);
    FaultProxy to_p(port_part(pair.primary_frontend));
    zmq::context_t context;
    auto client = make_client(context, {to_p.endpoint()}, 1, Duration{5000});
    REQUIRE(client.request(std::string("before")).ok());
    pair.state_channel_delay(Duration{50});
    BackupAsker y(pair.backup_frontend);
    const TimePoint until_time = Clock::now() + 20 * beat;
    int served = 0, first = 0;
    while (Clock::now() < until_time) {
        auto r = client.request(std::string("during"));
        served += r.ok() && r->server == 0;
        first += r.attempts == 1;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a pace, not a wait for anything
    }
    CHECK(eventually([&] { return y.asked >= 5; }, slack));
    y.finish();
    pair.stop_sampling();
    MESSAGE(served << " requests served by the primary; the backup-only client asked " << y.asked.load()
                   << " times; " << pair.samples.load() << " state samples");
    CHECK(served == first);
    CHECK(served >= 10);
    CHECK(y.answered == 0);
    CHECK(pair.backup->count("refused a request") >= static_cast<std::size_t>(y.asked.load() - 1));
    CHECK(pair.to_backup.counters().dropped[1] == 0);
    CHECK(pair.to_backup.counters().written[1] > 0);
    CHECK(pair.both_active == 0);
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(pair.primary->count("fatal") + pair.backup->count("fatal") == 0);
}

TEST_CASE(
    "binary star: the state channel delayed beyond the fail-over timeout - the backup takes over, two "
    "actives, stopped") {
    // Heartbeat 100 ms (peer expiry 200 ms), the channel delayed 1500 ms each way: the backup hears nothing
    // for 1.6 s, and a client asking only the backup makes it active (its peer has expired) while the primary
    // is active too: the hole of docs/binary_star.md, as with a blackhole. When the delayed ACTIVE heartbeats
    // arrive, each active hears an active peer: `fatal: dual actives`, exit 1.
    constexpr Duration beat{100};
    Pair pair(beat);
    pair.state_channel_delay(Duration{1500});
    BackupAsker y(pair.backup_frontend);
    CHECK(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST", slack));
    CHECK(eventually([&] { return y.answered >= 1; }, slack));
    CHECK(eventually(
        [&] { return pair.primary->count("dual actives") + pair.backup->count("dual actives") > 0; }, slack));
    y.finish();
    pair.stop_sampling();
    MESSAGE("both active in " << pair.both_active.load() << " of " << pair.samples.load() << " samples");
    CHECK(pair.both_active > 0);
    for (auto* p : {pair.primary.get(), pair.backup.get()}) {
        if (p->count("dual actives") > 0) CHECK(p->wait_exit() == 1);
    }
}
