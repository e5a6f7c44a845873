// mdbroker as one of a Binary Star pair (--primary/--backup), with real broker processes. The state channel
// goes through a test-owned proxy (tests/binary_star/state_proxy.hpp: each broker must know its peer's
// publisher before the peer binds on an OS-picked port); workers and clients are the test's own raw peers
// (ha_peers.hpp), connected to both brokers: kill -9 of the active broker under a stream of requests, the
// restarted primary staying passive, and a cut state channel with clients on the primary only.
#include <doctest/doctest.h>

#include <pirates/common/outbox.hpp>
#include <pirates/majordomo/broker_core.hpp>

#include "binary_star/state_proxy.hpp"
#include "ha_peers.hpp"
#include "support/http.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>
#include <memory>
#include <string>
#include <vector>

using namespace pirates;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {

// Short protocol timings, generous waits (a loaded 2-core machine).
constexpr Duration state_hb{50};         // the pair's state heartbeat: the peer is gone after 2 of them
constexpr Duration mdp_hb{100};          // the brokers' MDP heartbeat towards workers (liveness 10)
constexpr Duration worker_hb{50};        // the raw worker's heartbeats to each broker
constexpr Duration client_timeout{300};  // per attempt
constexpr Duration settle = 2 * state_hb;
constexpr Duration slack{1500};

std::unique_ptr<Process> start_broker(const char* role, const std::string& bind, const std::string& pub,
                                      const std::string& sub, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{role,
                                  "--bind",
                                  bind,
                                  "--state-pub",
                                  pub,
                                  "--state-sub",
                                  sub,
                                  "--state-heartbeat-ms",
                                  std::to_string(state_hb.count()),
                                  "--heartbeat-ms",
                                  std::to_string(mdp_hb.count()),
                                  "--liveness",
                                  "10",
                                  "-v"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>("mdbroker", std::move(args));
}

// Two mdbroker processes, settled: the primary ACTIVE, the backup PASSIVE.
struct BrokerPair {
    zmq::context_t context{1};
    StateProxy proxy{context};
    std::unique_ptr<Process> primary, backup;
    std::string primary_ep, backup_ep, primary_pub, backup_pub;

    explicit BrokerPair(std::vector<std::string> extra = {}) {
        primary = start_broker("--primary", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*",
                               proxy.primary_state_sub(), extra);
        backup = start_broker("--backup", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", proxy.backup_state_sub(),
                              extra);
        primary_ep = primary->bound_endpoint("broker");
        primary_pub = primary->bound_endpoint("state-pub");
        backup_ep = backup->bound_endpoint("broker");
        backup_pub = backup->bound_endpoint("state-pub");
        REQUIRE_FALSE(primary_pub.empty());
        REQUIRE_FALSE(backup_pub.empty());
        proxy.connect(primary_pub, backup_pub);
        proxy.start();
        REQUIRE(primary->wait_for("state PRIMARY -> ACTIVE on PEER_BACKUP"));
        REQUIRE(backup->wait_for("state BACKUP -> PASSIVE on PEER_ACTIVE"));
        REQUIRE(eventually([&] {
            return proxy.last_state(StateProxy::primary_to_backup) == 3 &&
                   proxy.last_state(StateProxy::backup_to_primary) == 4;
        }));
    }

    std::vector<std::string> both() const { return {primary_ep, backup_ep}; }

    // The worker registered on both brokers, as MMI says (the passive broker answers MMI too).
    bool serves_on_both(const std::string& service) {
        return eventually(
            [&] {
                auto p = ha::ask(context, primary_ep, "mmi.service", service, 2000ms);
                auto b = ha::ask(context, backup_ep, "mmi.service", service, 2000ms);
                return p && b && *p == std::vector<std::string>{"200"} &&
                       *b == std::vector<std::string>{"200"};
            },
            10000ms);
    }
};

ha::FailoverClient::Options client_options() {
    ha::FailoverClient::Options o;
    o.timeout = client_timeout;
    o.settle = settle;
    o.attempts = 10;
    return o;
}

}  // namespace

// ---- The core's gate, without processes (BrokerCore::set_admission, set_ha, drop_queued) ----

TEST_CASE("BrokerCore with a pair's gate: refused client requests are dropped, MMI and workers pass") {
    using namespace pirates::majordomo;
    ManualClock clock;
    BrokerCore core(BrokerCoreOptions{Duration{100}, 3, 10000, 10000});
    bool admit = false;
    int asked = 0;
    core.set_admission([&] {
        ++asked;
        return admit;
    });
    HaView passive;
    passive.ha = "passive";
    passive.role = "backup";
    passive.state = "PASSIVE";
    core.set_ha(passive);
    auto feed = [&](std::initializer_list<std::string_view> parts) {
        OutboxVector out;
        core.on_message(make_frames(parts), clock.now(), out);
        std::vector<std::vector<std::string>> v;
        for (const auto& m : out.take_messages()) v.push_back(strings(m));
        return v;
    };
    // A worker registers on the passive broker (no gate), heartbeats pass too.
    CHECK(feed({"w1", "", "MDPW01", "\x01", "echo"}).empty());
    CHECK(core.worker("w1"));
    CHECK(feed({"w1", "", "MDPW01", "\x04"}).empty());
    // A client request: the gate is asked, says no: dropped unanswered, counted, not dispatched.
    CHECK(feed({"c1", "", "MDPC01", "echo", "hello"}).empty());
    CHECK(asked == 1);
    CHECK(core.stats().requests_refused_passive == 1);
    CHECK(core.stats().requests == 0);
    CHECK(core.stats().dispatched == 0);
    CHECK(core.worker("w1")->idle);
    // MMI never asks the gate, and is answered; mmi.stats tells the pair's state.
    auto mmi = feed({"c1", "", "MDPC01", "mmi.service", "echo"});
    REQUIRE(mmi.size() == 1);
    CHECK(mmi[0] == std::vector<std::string>{"c1", "", "MDPC01", "mmi.service", "200"});
    auto stats = feed({"c1", "", "MDPC01", "mmi.stats", ""});
    REQUIRE(stats.size() == 1);
    REQUIRE(stats[0].size() == 6);
    CHECK(stats[0][5].find("\"ha\":\"passive\",\"ha_role\":\"backup\",\"ha_state\":\"PASSIVE\"") !=
          std::string::npos);
    CHECK(stats[0][5].find("\"requests_refused_passive\":1") != std::string::npos);
    CHECK(asked == 1);
    // Admitted: dispatched as ever.
    admit = true;
    auto sent = feed({"c2", "", "MDPC01", "echo", "again"});
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == std::vector<std::string>{"w1", "", "MDPW01", "\x02", "c2", "", "again"});
    CHECK(asked == 2);
    CHECK(core.check_invariants() == "");
}

TEST_CASE(
    "BrokerCore drop_queued: a broker that stops being active lets go of what is queued, keeps the rest") {
    using namespace pirates::majordomo;
    ManualClock clock;
    BrokerCore core(BrokerCoreOptions{Duration{100}, 3, 10000, 10000});
    CHECK(core.ha().ha == "single");
    auto feed = [&](std::initializer_list<std::string_view> parts) {
        OutboxVector out;
        core.on_message(make_frames(parts), clock.now(), out);
        return out.take_messages().size();
    };
    feed({"w1", "", "MDPW01", "\x01", "echo"});
    CHECK(feed({"c1", "", "MDPC01", "echo", "one"}) == 1);  // w1 busy with it
    feed({"c1", "", "MDPC01", "echo", "two"});              // queued
    feed({"c2", "", "MDPC01", "nobody", "three"});          // queued for a service with no worker
    REQUIRE(core.queued_count() == 2);
    CHECK(core.drop_queued() == 2);
    CHECK(core.queued_count() == 0);
    CHECK(core.queued_bytes() == 0);
    CHECK(core.stats().requests_dropped_passive == 2);
    CHECK_FALSE(core.service("nobody"));  // nothing left of it
    CHECK(core.busy_count() == 1);        // the request in w1's hands stays; its reply still goes back
    CHECK(feed({"w1", "", "MDPW01", "\x03", "c1", "", "one"}) == 1);
    CHECK(core.check_invariants() == "");
}

TEST_CASE(
    "kill -9 the active broker under two clients' requests: all answered, the backup's workers were already "
    "registered") {
    BrokerPair pair;
    ha::DualWorker worker(pair.context, pair.both(), "echo", worker_hb);
    REQUIRE(pair.serves_on_both("echo"));
    // MMI on either broker: the passive one answers it, and says it is passive.
    CHECK(ha::ha_of(pair.context, pair.primary_ep) == "active");
    CHECK(ha::ha_of(pair.context, pair.backup_ep) == "passive");
    REQUIRE(worker.readies(1).size() == 1);

    ha::FailoverClient a(pair.context, pair.both(), "echo", client_options(), "a");
    ha::FailoverClient b(pair.context, pair.both(), "echo", client_options(), "b");
    REQUIRE(eventually([&] { return a.answered() >= 20 && b.answered() >= 20; }, 20000ms));
    CHECK(worker.served_by(1) == 0);  // the passive broker dispatched nothing

    pair.primary->kill9();
    const TimePoint killed = Clock::now();
    REQUIRE(eventually([&] { return a.answered_after(killed) >= 20 && b.answered_after(killed) >= 20; },
                       30000ms));
    a.join();
    b.join();

    // Every request was answered (each client gave up on none), by the primary before the kill and by the
    // backup after it.
    CHECK(a.failed() == 0);
    CHECK(b.failed() == 0);
    TimePoint first_backup = TimePoint::max();
    int retried = 0, most_attempts = 0;
    std::size_t total = 0;
    for (const auto* c : {&a, &b}) {
        for (const auto& ans : c->answers()) {
            ++total;
            if (ans.attempts > 1) ++retried;
            most_attempts = std::max(most_attempts, ans.attempts);
            if (ans.answered < killed) CHECK(ans.broker == 0);
            if (ans.sent > killed) CHECK(ans.broker == 1);
            if (ans.broker == 1) first_backup = std::min(first_backup, ans.answered);
        }
    }
    REQUIRE(first_backup != TimePoint::max());
    const auto failover = std::chrono::duration_cast<Duration>(first_backup - killed);
    const Duration bound = 2 * state_hb + 2 * state_hb + client_timeout + settle;
    MESSAGE("fail-over: first reply from the backup "
            << failover.count() << " ms after kill -9 (bound " << bound.count() << " ms + slack); " << total
            << " requests, " << retried << " retried, at most " << most_attempts << " attempts");
    CHECK(failover < bound + slack);
    CHECK(retried >= 1);  // the requests in flight at the kill were retried

    // The backup became active on a client request once its peer had expired, and dispatched at once: the
    // worker had registered with it at the start, and said READY to it never again.
    CHECK(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
    CHECK(worker.readies(1).size() == 1);
    CHECK(pair.backup->count("ready for 'echo'") == 1);
    CHECK(worker.served_by(1) >= 40);
    CHECK(ha::ha_of(pair.context, pair.backup_ep) == "active");
    CHECK(pair.backup->running());
    CHECK(pair.backup->count("fatal") == 0);
}

TEST_CASE("the killed primary restarts passive and never takes over while the backup serves") {
    BrokerPair pair;
    ha::DualWorker worker(pair.context, pair.both(), "echo", worker_hb);
    REQUIRE(pair.serves_on_both("echo"));
    ha::FailoverClient client(pair.context, pair.both(), "echo", client_options(), "c");
    REQUIRE(eventually([&] { return client.answered() >= 5; }, 20000ms));

    pair.primary->kill9();
    const TimePoint killed = Clock::now();
    REQUIRE(eventually([&] { return client.answered_after(killed) >= 5; }, 20000ms));
    REQUIRE(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
    REQUIRE(pair.primary->wait_exit().has_value());

    // Back on the same endpoints: it hears an ACTIVE peer and becomes passive.
    pair.primary =
        start_broker("--primary", pair.primary_ep, pair.primary_pub, pair.proxy.primary_state_sub());
    REQUIRE(pair.primary->wait_for("state PRIMARY -> PASSIVE on PEER_ACTIVE"));
    // Its next heartbeat says so on the wire (until then the proxy remembers the killed one's ACTIVE).
    REQUIRE(eventually([&] { return pair.proxy.last_state(StateProxy::primary_to_backup) == 4; }));
    // The worker registers with it again (its heartbeat draws a DISCONNECT from a broker that does not know it).
    REQUIRE(pair.serves_on_both("echo"));
    const std::size_t served_by_primary = worker.served_by(0);

    // Sample both for many peer expiries, with the client's requests going to the backup, and a request sent
    // to the restarted primary directly now and then: it never answers one, never becomes active.
    const TimePoint from = Clock::now();
    const std::size_t answered_before = client.answered();
    int samples = 0;
    while (Clock::now() < from + 40 * state_hb || samples < 10) {
        ++samples;
        CHECK(pair.proxy.last_state(StateProxy::primary_to_backup) == 4);  // the primary publishes PASSIVE
        CHECK(pair.proxy.last_state(StateProxy::backup_to_primary) == 3);  // the backup publishes ACTIVE
        CHECK(ha::ha_of(pair.context, pair.primary_ep) == "passive");
        CHECK(ha::ha_of(pair.context, pair.backup_ep) == "active");
        CHECK_FALSE(
            ha::ask(pair.context, pair.primary_ep, "echo", "fail-back?", 2 * client_timeout).has_value());
    }
    CHECK(client.answered() > answered_before);
    client.join();
    CHECK(client.failed() == 0);
    for (const auto& ans : client.answers())
        if (ans.sent > from) CHECK(ans.broker == 1);
    CHECK(worker.served_by(0) == served_by_primary);
    CHECK(pair.primary->count("-> ACTIVE") == 0);
    CHECK(pair.primary->running());
    CHECK(pair.backup->running());
    CHECK(pair.backup->count("-> PASSIVE") == 1);  // only its start's BACKUP -> PASSIVE
}

TEST_CASE("state channel cut, clients on the primary only: the backup never becomes active") {
    BrokerPair pair;
    ha::DualWorker worker(pair.context, pair.both(), "echo", worker_hb);
    REQUIRE(pair.serves_on_both("echo"));
    ha::FailoverClient::Options options = client_options();
    options.timeout = 2 * slack;  // one broker: a retry could only mean the primary dropped a request
    ha::FailoverClient client(pair.context, {pair.primary_ep}, "echo", options, "p");
    REQUIRE(eventually([&] { return client.answered() >= 5; }, 20000ms));

    pair.proxy.cut_both(true);
    const long heard = pair.proxy.seen(StateProxy::backup_to_primary);
    const TimePoint from = Clock::now();
    const std::size_t answered_before = client.answered();
    std::size_t n = answered_before;
    while (Clock::now() < from + 40 * state_hb || n < answered_before + 20) {
        // One sample per answer.
        REQUIRE(eventually([&] { return client.answered() > n; }, 10000ms));
        n = client.answered();
        CHECK(pair.proxy.last_state(StateProxy::backup_to_primary) == 4);  // the backup still says PASSIVE
        CHECK(pair.proxy.last_state(StateProxy::primary_to_backup) == 3);
    }
    // The backup kept publishing all along (alive, and watched), and stayed passive: MMI says so too.
    CHECK(pair.proxy.seen(StateProxy::backup_to_primary) > heard + 5);
    CHECK(ha::ha_of(pair.context, pair.backup_ep) == "passive");
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(worker.served_by(1) == 0);

    pair.proxy.cut_both(false);
    const long forwarded = pair.proxy.forwarded(StateProxy::backup_to_primary);
    REQUIRE(eventually([&] { return pair.proxy.forwarded(StateProxy::backup_to_primary) > forwarded + 3; }));
    const std::size_t healed = client.answered();
    REQUIRE(eventually([&] { return client.answered() > healed + 3; }, 10000ms));
    client.join();
    CHECK(client.failed() == 0);
    for (const auto& ans : client.answers()) CHECK(ans.attempts == 1);
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(pair.primary->running());
    CHECK(pair.backup->running());
}

TEST_CASE("metrics and summary say which broker of the pair is active, and a single broker says single") {
    BrokerPair pair({"--metrics", "127.0.0.1:0"});
    const auto primary_port = url_port(pair.primary->bound_endpoint("metrics"));
    const auto backup_port = url_port(pair.backup->bound_endpoint("metrics"));
    REQUIRE(primary_port != 0);
    REQUIRE(backup_port != 0);
    std::string p, b;
    CHECK(eventually([&] {
        p = http_get(primary_port);
        b = http_get(backup_port);
        // (The exporter's snapshot may be a little older than the pair's settling.)
        return has_line(p, "mdbroker_ha_active 1") && has_line(b, "mdbroker_ha_active 0") &&
               has_line(b, "mdbroker_ha_state{state=\"PASSIVE\"} 1");
    }));
    CHECK(has_line(p, "mdbroker_ha_state{state=\"ACTIVE\"} 1"));
    CHECK(has_line(p, "mdbroker_ha_state{state=\"PASSIVE\"} 0"));
    CHECK(has_line(b, "mdbroker_ha_state{state=\"PASSIVE\"} 1"));
    CHECK(has_line(b, "mdbroker_ha_state{state=\"SINGLE\"} 0"));
    CHECK(has_line(b, "mdbroker_ha_failovers_total 0"));
    // A request to the passive one is refused, and counted.
    CHECK_FALSE(ha::ask(pair.context, pair.backup_ep, "echo", "refuse me", 3 * state_hb).has_value());
    CHECK(eventually(
        [&] { return has_line(http_get(backup_port), "mdbroker_requests_refused_passive_total 1"); }));
    pair.backup->signal(SIGUSR1);
    CHECK(pair.backup->wait_for("ha passive state PASSIVE refused-passive 1 dropped-passive 0 failovers 0"));

    Process single("mdbroker", {"--bind", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0"});
    const auto single_port = url_port(single.bound_endpoint("metrics"));
    std::string s;
    CHECK(eventually([&] {
        s = http_get(single_port);
        return has_line(s, "mdbroker_ha_active 1");
    }));
    CHECK(has_line(s, "mdbroker_ha_state{state=\"SINGLE\"} 1"));
    CHECK(ha::ha_of(pair.context, single.bound_endpoint("broker")) == "single");
    single.signal(SIGUSR1);
    CHECK(single.wait_for("redelivery-drops 0 ha single"));
}

TEST_CASE("two primaries: the pair's fatal combination stops mdbroker with exit 1 and says why") {
    zmq::context_t context{1};
    StateProxy proxy{context};
    auto one = start_broker("--primary", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", proxy.primary_state_sub());
    auto two = start_broker("--primary", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", proxy.backup_state_sub());
    const std::string one_pub = one->bound_endpoint("state-pub"), two_pub = two->bound_endpoint("state-pub");
    REQUIRE_FALSE(one_pub.empty());
    REQUIRE_FALSE(two_pub.empty());
    proxy.connect(one_pub, two_pub);
    proxy.start();
    // The first to hear the other stops; the other may stop too, or not hear it in time (then it stays PRIMARY,
    // as a lone primary does).
    REQUIRE(eventually([&] { return !one->running() || !two->running(); }, 10000ms));
    Process& stopped = one->running() ? *two : *one;
    CHECK(stopped.wait_exit() == 1);
    CHECK(stopped.count("broker of a pair stopping: fatal: dual primaries") == 1);
}

TEST_CASE("the real programs: mdworker and mdclient --connect A,B across kill -9 of the active broker") {
    BrokerPair pair;
    const std::string both = pair.primary_ep + "," + pair.backup_ep;
    Process worker("mdworker", {"--connect", both, "--service", "echo", "--heartbeat-ms",
                                std::to_string(mdp_hb.count()), "--reconnect-ms", "50"});
    REQUIRE(pair.serves_on_both("echo"));
    // Two clients streaming through the pair, one sync, one async; the active broker dies under them.
    Process sync("mdclient", {"--connect", both, "--service", "echo", "--requests", "400", "--timeout-ms",
                              std::to_string(client_timeout.count()), "--settle-ms",
                              std::to_string(settle.count()), "--retries", "10"});
    Process async("mdclient", {"--connect", both, "--service", "echo", "--requests", "2000", "--async",
                               "--window", "4", "--timeout-ms", std::to_string(client_timeout.count()),
                               "--settle-ms", std::to_string(settle.count()), "--retries", "10"});
    // Some answered by the primary first (its "replies" in mmi.stats).
    REQUIRE(eventually(
        [&] {
            auto r = ha::ask(pair.context, pair.primary_ep, "mmi.stats", "", 2000ms);
            if (!r || r->size() != 2) return false;
            const auto at = (*r)[1].find("\"replies\":");
            return at != std::string::npos && std::stoul((*r)[1].substr(at + 10)) >= 20;
        },
        20000ms));
    pair.primary->kill9();
    CHECK(sync.wait_exit(60s) == 0);
    CHECK(async.wait_exit(60s) == 0);
    CHECK(sync.wait_for("answered 400 matched 400"));
    CHECK(async.wait_for("answered 2000 matched 2000"));
    CHECK(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
    // The backup knew the worker from the start: one READY, never another.
    CHECK(pair.backup->count("ready for 'echo'") == 1);
    worker.signal(SIGTERM);
    CHECK(worker.wait_exit() == 0);
}
