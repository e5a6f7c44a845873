// bench_ha: a Binary Star pair of Majordomo brokers (issue 17).
// 1. Round trip, one request at a time over tcp loopback, through a single Broker and through the active
//    Broker of a pair (both in this process, a raw MDP echo worker and a raw MDP client, the same for both),
//    interleaved rounds in the same run, best of each: what being one of a pair costs on the request path.
// 2. Fail-over: a real mdbroker pair (child processes, ipc endpoints in /tmp), a raw worker registered with
//    both, a raw client that resends to the other broker after its timeout (tests/majordomo/ha_peers.hpp);
//    kill -9 the active primary and time the first reply from the backup. Each run, then the median and the
//    worst, next to the bound: peer timeout (2 state heartbeats) + 2 heartbeats + client timeout + settle.
//   bench_ha [--requests 5000] [--runs 10] [--heartbeat-ms 100] [--timeout-ms 300]
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/broker.hpp>

#include "ha_peers.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

using namespace pirates;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {

bool wait_until(const std::function<bool()>& pred, Duration timeout) {
    const TimePoint deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(5ms);  // a benchmark's set-up, not a test
    }
    return pred();
}

// Microseconds per round trip of `n` requests, one at a time, through `broker` to the "echo" worker.
double round_trip_us(zmq::context_t& ctx, const std::string& broker, int n) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(broker);
    const std::string body(16, 'x');
    auto one = [&] {
        Frames request = ha::mdp({"", "MDPC01", "echo", body});
        request.send(s);
        Frames reply;
        (void)reply.recv(s);
    };
    for (int i = 0; i < 100; ++i) one();  // warm-up
    const TimePoint t0 = Clock::now();
    for (int i = 0; i < n; ++i) one();
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
}

bool answers(zmq::context_t& ctx, const std::string& broker) {
    auto r = ha::ask(ctx, broker, "echo", "ping", 500ms);
    return r && r->size() == 1;
}

double single_round(int n) {
    zmq::context_t ctx(1);  // a context of its own, as each pair round has
    majordomo::BrokerOptions o;
    o.bind = "tcp://127.0.0.1:*";
    majordomo::Broker broker(ctx, o);
    std::thread loop([&] { broker.run(); });
    double us = -1;
    {
        ha::DualWorker worker(ctx, {broker.endpoint()}, "echo", Duration{1000});
        if (wait_until([&] { return answers(ctx, broker.endpoint()); }, 10s))
            us = round_trip_us(ctx, broker.endpoint(), n);
    }
    broker.request_stop();
    loop.join();
    return us;
}

double pair_round(int n, int round, Duration hb, bool worker_on_both) {
    // A context of its own per round: binary_star::Pairing names its subscriber's monitor endpoint after its
    // address and a per-object count, so two Pairings at the same address one after the other in one context
    // can collide on an inproc name still being closed (EADDRINUSE).
    zmq::context_t ctx(1);
    const std::string base = "ipc:///tmp/bench_ha_" + std::to_string(getpid()) + "_rt" +
                             std::to_string(round) + (worker_on_both ? "w2" : "w1");
    auto options = [&](binary_star::State role, const std::string& pub, const std::string& sub) {
        majordomo::BrokerOptions o;
        o.bind = "tcp://127.0.0.1:*";
        binary_star::PairingOptions pair;
        pair.role = role;
        pair.state_pub = pub;
        pair.state_sub = sub;
        pair.heartbeat = hb;
        o.pair = pair;
        return o;
    };
    majordomo::Broker primary(ctx, options(binary_star::State::primary, base + "_p", base + "_b"));
    majordomo::Broker backup(ctx, options(binary_star::State::backup, base + "_b", base + "_p"));
    std::thread p([&] { primary.run(); });
    std::thread b([&] { backup.run(); });
    double us = -1;
    {
        // The worker registers with both, as in a deployment; the client talks to the active one.
        std::vector<std::string> brokers{primary.endpoint()};
        if (worker_on_both) brokers.push_back(backup.endpoint());
        ha::DualWorker worker(ctx, brokers, "echo", Duration{1000});
        if (wait_until([&] { return ha::ha_of(ctx, primary.endpoint(), 500ms) == "active"; }, 10s) &&
            wait_until([&] { return answers(ctx, primary.endpoint()); }, 10s))
            us = round_trip_us(ctx, primary.endpoint(), n);
    }
    primary.request_stop();
    backup.request_stop();
    p.join();
    b.join();
    for (const char* s : {"_p", "_b"}) ::unlink((base.substr(6) + s).c_str());
    return us;
}

struct Child {
    pid_t pid = -1;
};

Child spawn(const std::string& path, std::vector<std::string> args) {
    std::vector<char*> argv{const_cast<char*>(path.c_str())};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    Child c;
    if (posix_spawn(&c.pid, path.c_str(), &fa, nullptr, argv.data(), environ) != 0) c.pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return c;
}

void reap(Child& c, int sig) {
    if (c.pid <= 0) return;
    ::kill(c.pid, sig);
    waitpid(c.pid, nullptr, 0);
    c.pid = -1;
}

// One fail-over: ms from kill -9 of the active primary to the first reply from the backup (-1: failed).
double failover_once(zmq::context_t& ctx, const std::string& bin, int run, Duration hb,
                     ha::FailoverClient::Options client) {
    const std::string base = "ipc:///tmp/bench_ha_" + std::to_string(getpid()) + "_" + std::to_string(run);
    const std::string pf = base + "_pf", pp = base + "_pp", bf = base + "_bf", bp = base + "_bp";
    const std::string hbs = std::to_string(hb.count());
    auto args = [&](const char* role, const std::string& bind, const std::string& pub,
                    const std::string& sub) {
        return std::vector<std::string>{role,          "-q", "--bind",         bind, "--state-pub", pub,
                                        "--state-sub", sub,  "--heartbeat-ms", hbs,  "--liveness",  "5",
                                        "--drain-ms",  "0"};
    };
    Child primary = spawn(bin, args("--primary", pf, pp, bp));
    Child backup = spawn(bin, args("--backup", bf, bp, pp));
    double ms = -1;
    {
        ha::DualWorker worker(ctx, {pf, bf}, "echo", hb / 2);
        const bool settled =
            wait_until([&] { return ha::ha_of(ctx, pf, 500ms) == "active"; }, 10s) &&
            // PASSIVE, not BACKUP (which "ha" calls passive too): a backup that has not yet heard its peer
            // ACTIVE does not take over.
            wait_until([&] { return ha::stats_string(ctx, bf, "ha_state", 500ms) == "PASSIVE"; }, 10s) &&
            wait_until(
                [&] {
                    auto a = ha::ask(ctx, pf, "mmi.service", "echo", 500ms);
                    auto b = ha::ask(ctx, bf, "mmi.service", "echo", 500ms);
                    return a && b && (*a)[0] == "200" && (*b)[0] == "200";
                },
                10s);
        if (!settled) std::fprintf(stderr, "  run %d: the pair did not settle with its worker\n", run);
        if (settled) {
            ha::FailoverClient c(ctx, {pf, bf}, "echo", client, "bench");
            if (!wait_until([&] { return c.answered() >= 3; }, 10s)) {
                std::fprintf(stderr, "  run %d: no answer before the kill\n", run);
            } else {
                const TimePoint killed = Clock::now();
                reap(primary, SIGKILL);
                if (wait_until([&] { return c.first_answer(1, killed).has_value(); }, 20s))
                    ms = std::chrono::duration<double, std::milli>(*c.first_answer(1, killed) - killed)
                             .count();
                else
                    std::fprintf(stderr, "  run %d: no answer from the backup\n", run);
            }
        }
    }
    reap(primary, SIGKILL);
    reap(backup, SIGTERM);
    for (const auto& ep : {pf, pp, bf, bp}) ::unlink(ep.substr(6).c_str());
    return ms;
}

}  // namespace

int main(int argc, char** argv) {
    int requests = 5000, runs = 10;
    Duration hb{100}, timeout{300};
    CommandLine cli(
        "bench_ha",
        "Majordomo broker pair: round trip against a single broker, fail-over time after kill -9");
    cli.integer("requests", requests, "round trips per measurement (default 5000)", 1)
        .integer("runs", runs, "fail-over runs (default 10; 0 to skip)", 0, 1000)
        .millis("heartbeat-ms", hb, "the pair's state heartbeat and the MDP heartbeat (default 100)")
        .millis("timeout-ms", timeout, "client timeout per attempt (default 300)");
    cli.parse(argc, argv);
    install_stop_signals();
    log::set_level(log::Level::warn);
    zmq::context_t ctx(1);

    std::printf("cores: %u\n", std::thread::hardware_concurrency());
    double single = 1e18, pair = 1e18, pair_one = 1e18;
    const int rounds = 5;
    for (int round = 0; round < rounds && !stop_requested(); ++round) {
        const double s = single_round(requests);
        const double p = pair_round(requests, round, hb, true);
        const double q = pair_round(requests, round, hb, false);
        if (s > 0) single = std::min(single, s);
        if (p > 0) pair = std::min(pair, p);
        if (q > 0) pair_one = std::min(pair_one, q);
    }
    std::printf("round trip, %d requests x best of %d interleaved rounds, tcp loopback, one at a time:\n",
                requests, rounds);
    std::printf("  %-46s %7.1f us (%6.0f req/s)\n", "single Broker", single, 1e6 / single);
    std::printf("  %-46s %7.1f us (%6.0f req/s) ratio %.2f\n", "active Broker of a pair (worker on both)",
                pair, 1e6 / pair, pair / single);
    std::printf("  %-46s %7.1f us (%6.0f req/s) ratio %.2f\n", "active Broker of a pair (worker on it only)",
                pair_one, 1e6 / pair_one, pair_one / single);

    if (runs == 0) return 0;
    std::string self(4096, '\0');
    const ssize_t len = readlink("/proc/self/exe", self.data(), self.size());
    self.resize(len > 0 ? static_cast<std::size_t>(len) : 0);
    const std::string bin = self.substr(0, self.rfind('/') + 1) + "mdbroker";
    ha::FailoverClient::Options client;
    client.timeout = timeout;
    client.settle = 2 * hb;
    client.attempts = 20;
    const Duration bound = 2 * hb + 2 * hb + client.timeout + client.settle;
    std::printf(
        "fail-over after kill -9 of the active primary (state and MDP heartbeat %lld ms, client timeout %lld "
        "ms, "
        "settle %lld ms; bound %lld ms):\n",
        static_cast<long long>(hb.count()), static_cast<long long>(timeout.count()),
        static_cast<long long>(client.settle.count()), static_cast<long long>(bound.count()));
    std::vector<double> times;
    for (int run = 1; run <= runs && !stop_requested(); ++run) {
        const double ms = failover_once(ctx, bin, run, hb, client);
        std::printf("  run %d: %s\n", run,
                    ms < 0 ? "FAILED" : (std::to_string(static_cast<long>(ms)) + " ms").c_str());
        std::fflush(stdout);
        if (ms >= 0) times.push_back(ms);
    }
    if (times.empty()) return 1;
    std::sort(times.begin(), times.end());
    std::printf("  median %.0f ms, worst %.0f ms, best %.0f ms (%zu of %d runs; bound %lld ms)\n",
                times[times.size() / 2], times.back(), times.front(), times.size(), runs,
                static_cast<long long>(bound.count()));
    return times.size() == static_cast<std::size_t>(runs) ? 0 : 1;
}
