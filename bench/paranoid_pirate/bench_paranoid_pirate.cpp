// bench_paranoid_pirate: what heartbeating costs the queue, and what the queue costs a round trip.
//
// 1. N idle workers (DEALER sockets in this process, heartbeating every 100 ms) connected to one ppqueue
// child
//    process: the queue's CPU time (utime + stime from /proc/<pid>/stat, and the precise sum of its threads'
//    /proc/<pid>/task/*/schedstat) per second of wall time, for each N. Baseline: a raw ROUTER child (this
//    program with --reflector) that answers each heartbeat with one, the same traffic with no logic at all.
// 2. Round trips per second, REQ clients -> queue -> echo workers, with 1 and 8 clients: our Queue driver and
//    Worker library, against the raw libzmq baseline of the same hops (zmq::proxy_steerable ROUTER/DEALER
//    with REP echo workers), both in this process over tcp loopback.
#include <pirates/common/cli.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/queue.hpp>
#include <pirates/paranoid_pirate/worker.hpp>

#include <fmt/format.h>

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

using namespace pirates;
using namespace std::chrono_literals;
namespace pp = pirates::paranoid_pirate;

extern char** environ;

namespace {

// ---- child processes
// -----------------------------------------------------------------------------------------

struct Child {
    pid_t pid = -1;
    std::string log_path;
    ~Child() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            int st = 0;
            waitpid(pid, &st, 0);
        }
        if (!log_path.empty()) std::filesystem::remove(log_path);
    }
};

std::size_t count_in_log(const Child& child, const std::string& text) {
    std::ifstream in(child.log_path);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t n = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++n;
    return n;
}

std::string self_dir() {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path().string();
}

// Start `path args...` with stderr and stdout into a temporary file; return once it announced `role`'s
// endpoint.
std::string spawn(Child& child, const std::string& path, std::vector<std::string> args,
                  const std::string& role) {
    char tmpl[] = "/tmp/bench_pp_XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("mkstemp");
    child.log_path = tmpl;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    posix_spawn_file_actions_adddup2(&fa, fd, 2);
    std::vector<char*> argv{const_cast<char*>(path.c_str())};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&child.pid, path.c_str(), &fa, nullptr, argv.data(), environ) != 0)
        throw std::runtime_error("cannot start " + path);
    posix_spawn_file_actions_destroy(&fa);
    close(fd);
    const std::string marker = "bound " + role + " ";
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
        std::ifstream in(child.log_path);
        std::stringstream ss;
        ss << in.rdbuf();
        std::string out = ss.str();
        auto at = out.find(marker);
        if (at != std::string::npos) {
            auto end = out.find('\n', at);
            if (end != std::string::npos) return out.substr(at + marker.size(), end - at - marker.size());
        }
        std::this_thread::sleep_for(10ms);  // polling a file with a deadline
    }
    throw std::runtime_error(path + " did not announce its " + role + " endpoint");
}

// CPU time of a process in seconds: (utime + stime) from /proc/<pid>/stat, and the sum of its threads'
// schedstat run times (nanosecond resolution).
struct Cpu {
    double stat = 0;
    double sched = 0;
};
Cpu cpu_of(pid_t pid) {
    Cpu c;
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto rp = all.rfind(')');
    if (rp != std::string::npos) {
        std::istringstream rest(all.substr(rp + 2));
        std::string field;
        std::vector<std::string> f;
        while (rest >> field) f.push_back(field);
        // After ")": state(3) ... utime is field 14, stime 15 (1-based over the whole line) -> index 11, 12.
        if (f.size() > 12)
            c.stat = static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) /
                     static_cast<double>(sysconf(_SC_CLK_TCK));
    }
    std::error_code ec;
    for (auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
        std::ifstream s(task.path() / "schedstat");
        unsigned long long ns = 0;
        if (s >> ns) c.sched += static_cast<double>(ns) / 1e9;
    }
    return c;
}

// ---- the reflector: the raw libzmq baseline for heartbeat traffic
// ----------------------------------------------

int run_reflector(const std::string& endpoint) {
    install_stop_signals();
    zmq::context_t ctx(1);
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.bind(endpoint);
    std::fprintf(stderr, "bound backend %s\n", router.get(zmq::sockopt::last_endpoint).c_str());
    while (!stop_requested()) {
        zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
        try {
            zmq::poll(&item, 1, 100ms);
        } catch (const zmq::error_t&) {
            continue;
        }
        Frames m;
        while (recv_nowait(router, m)) {
            m.send(router, ZMQ_DONTWAIT);  // [id] 0x02 back as it came
            m.clear();
        }
    }
    return 0;
}

// ---- part 1: idle workers heartbeating
// ------------------------------------------------------------------------

struct IdleResult {
    double cpu_stat_per_s;
    double cpu_sched_per_s;
    double heartbeats_in_per_s;  // heartbeats the workers received back
};

// `on_window(true|false)` is called as the measuring window opens and closes.
IdleResult measure_idle(const std::string& backend, pid_t pid, int n, Duration interval, Duration window,
                        const std::function<void(bool)>& on_window = {}) {
    zmq::context_t ctx(1, n + 64);
    std::vector<zmq::socket_t> workers;
    workers.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        workers.emplace_back(ctx, zmq::socket_type::dealer);
        workers.back().set(zmq::sockopt::linger, 0);
        workers.back().connect(backend);
        pp::ready_message().send(workers.back());
    }
    std::vector<zmq::pollitem_t> items;
    for (auto& w : workers) items.push_back({w.handle(), 0, ZMQ_POLLIN, 0});
    std::uint64_t received = 0;
    // Heartbeat every interval, each worker at its own phase (spread over the interval), drain what comes
    // back.
    auto run_for = [&](Duration d) {
        const auto start = Clock::now();
        const auto end = start + d;
        std::vector<TimePoint> next(workers.size());
        for (std::size_t i = 0; i < workers.size(); ++i)
            next[i] = start + interval * static_cast<long>(i) / n;
        std::size_t cursor = 0;  // workers in phase order: the next one due
        while (Clock::now() < end) {
            auto now = Clock::now();
            while (now >= next[cursor]) {
                pp::heartbeat_message().send(workers[cursor], ZMQ_DONTWAIT);
                next[cursor] += interval;
                if (++cursor == workers.size()) cursor = 0;
            }
            // Drain what came back, then pace the loop in 5 ms slots: polling 1000 sockets at every arrival
            // would make this side, not the queue, the bottleneck. Messages wait at most a slot in their
            // pipes.
            zmq::poll(items.data(), items.size(), Duration{0});
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (!(items[i].revents & ZMQ_POLLIN)) continue;
                Frames m;
                while (recv_nowait(workers[i], m)) {
                    ++received;
                    m.clear();
                }
            }
            std::this_thread::sleep_until(std::min(Clock::now() + Duration{5}, next[cursor]));
        }
    };
    run_for(1000ms);  // warm-up: everyone connected, READY, steady state
    received = 0;
    if (on_window) on_window(true);
    const Cpu c0 = cpu_of(pid);
    const auto t0 = Clock::now();
    run_for(window);
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    const Cpu c1 = cpu_of(pid);
    if (on_window) on_window(false);
    return {(c1.stat - c0.stat) / wall, (c1.sched - c0.sched) / wall, static_cast<double>(received) / wall};
}

// ---- part 0: the core alone, no sockets
// -----------------------------------------------------------------------

// ns of queue-core work per worker heartbeat (one in, one out, plus the purge check), N idle workers, a
// manual clock moving 100 ms per round: the O(1)-per-message claim, without the kernel and the network in the
// figure.
double core_ns_per_heartbeat(int n, int rounds) {
    ManualClock clock;
    pp::QueueCore core(pp::QueueOptions{Duration{100}, 3}, clock.now());
    OutboxVector out;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.push_back(fmt::format("w{:08}", i));
    for (auto& id : ids) {
        Frames m;
        m.add(frame(id));
        m.add(byte_frame(pp::kReady));
        core.on_message(pp::kBackend, std::move(m), clock.now(), out);
    }
    const auto t0 = Clock::now();
    for (int r = 0; r < rounds; ++r) {
        clock.advance(Duration{100});  // one heartbeat round: n heartbeats in, one tick sending n out
        for (int i = 0; i < n; ++i) {
            Frames m;
            m.add(frame(ids[static_cast<std::size_t>(i)]));
            m.add(byte_frame(pp::kHeartbeat));
            core.on_message(pp::kBackend, std::move(m), clock.now(), out);
        }
        core.tick(clock.now(), out);
        if (out.items.size() != static_cast<std::size_t>(n))
            throw std::runtime_error("core bench: missing heartbeats");
        out.items.clear();
    }
    const double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    if (core.idle_count() != static_cast<std::size_t>(n)) throw std::runtime_error("core bench lost workers");
    return ns / (static_cast<double>(n) * rounds);
}

// ---- part 2: round trips
// --------------------------------------------------------------------------------------

double client_round_trips(zmq::context_t& ctx, const std::string& frontend, int clients, int per_client) {
    std::atomic<int> ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            zmq::socket_t req(ctx, zmq::socket_type::req);
            req.set(zmq::sockopt::linger, 0);
            req.connect(frontend);
            req.send(frame("warm-up"), zmq::send_flags::none);  // connected and served once before timing
            zmq::message_t reply;
            (void)req.recv(reply);
            ++ready;
            while (!go) std::this_thread::yield();
            for (int i = 0; i < per_client; ++i) {
                req.send(frame("0123456789abcdef"), zmq::send_flags::none);
                (void)req.recv(reply);
            }
        });
    }
    while (ready < clients) std::this_thread::sleep_for(1ms);
    const auto t0 = Clock::now();
    go = true;
    for (auto& t : threads) t.join();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    return clients * per_client / wall;
}

double round_trips_queue(int clients, int workers, int per_client) {
    zmq::context_t ctx(1);
    pp::Queue queue(ctx, pp::QueueOptions{1000ms, 3});
    std::string frontend = queue.bind_frontend("tcp://127.0.0.1:*");
    std::string backend = queue.bind_backend("tcp://127.0.0.1:*");
    std::atomic<bool> done{false};
    std::thread queue_thread([&] {
        while (!done && queue.run_once(20ms)) {
        }
    });
    std::vector<std::thread> worker_threads;
    for (int w = 0; w < workers; ++w) {
        worker_threads.emplace_back([&] {
            pp::Worker worker(ctx, pp::WorkerOptions{backend, {}},
                              [](Frames r) -> std::optional<Frames> { return r; });
            while (!done && worker.run_once(20ms)) {
            }
        });
    }
    double rate = client_round_trips(ctx, frontend, clients, per_client);
    done = true;
    for (auto& t : worker_threads) t.join();
    queue_thread.join();
    return rate;
}

double round_trips_raw(int clients, int workers, int per_client) {
    zmq::context_t ctx(1);
    zmq::socket_t frontend(ctx, zmq::socket_type::router), backend(ctx, zmq::socket_type::dealer);
    zmq::socket_t control(ctx, zmq::socket_type::pair), control_peer(ctx, zmq::socket_type::pair);
    for (auto* s : {&frontend, &backend, &control, &control_peer}) s->set(zmq::sockopt::linger, 0);
    frontend.bind("tcp://127.0.0.1:*");
    backend.bind("tcp://127.0.0.1:*");
    control.bind("inproc://bench-proxy-control");
    control_peer.connect("inproc://bench-proxy-control");
    const std::string fe = frontend.get(zmq::sockopt::last_endpoint);
    const std::string be = backend.get(zmq::sockopt::last_endpoint);
    std::thread proxy([&] { zmq::proxy_steerable(frontend, backend, zmq::socket_ref(), control); });
    std::atomic<bool> done{false};
    std::vector<std::thread> worker_threads;
    for (int w = 0; w < workers; ++w) {
        worker_threads.emplace_back([&] {
            zmq::socket_t rep(ctx, zmq::socket_type::rep);
            rep.set(zmq::sockopt::linger, 0);
            rep.connect(be);
            zmq::pollitem_t item{rep.handle(), 0, ZMQ_POLLIN, 0};
            while (!done) {
                zmq::poll(&item, 1, 20ms);
                if (!(item.revents & ZMQ_POLLIN)) continue;
                Frames m;
                m.recv(rep);
                m.send(rep);
            }
        });
    }
    double rate = client_round_trips(ctx, fe, clients, per_client);
    done = true;
    for (auto& t : worker_threads) t.join();
    control_peer.send(frame("TERMINATE"), zmq::send_flags::none);
    proxy.join();
    return rate;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::string(argv[1]) == "--reflector") return run_reflector(argv[2]);

    std::string worker_counts = "10,100,1000";
    std::string client_counts = "1,8";
    Duration window{3000};
    Duration interval{100};
    int round_trips = 10000;
    int workers = 8;
    CommandLine cli("bench_paranoid_pirate", "Paranoid Pirate queue: heartbeat CPU cost and round trips");
    cli.text("workers", worker_counts, "idle worker counts to measure (comma-separated, default 10,100,1000)")
        .millis("window-ms", window, "measuring window per worker count (default 3000)")
        .millis("heartbeat-ms", interval,
                "heartbeat interval of the idle workers and the queue (default 100)")
        .text("clients", client_counts, "client counts for round trips (default 1,8)")
        .integer("round-trips", round_trips, "round trips per client count (default 10000)", 1)
        .integer("echo-workers", workers, "echo workers for the round trips (default 8)", 1, 1000);
    cli.parse(argc, argv);

    // 1000 sockets here and 1000 connections in the queue: raise the descriptor limit (children inherit it).
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);

    std::vector<int> ns, cs;
    for (auto& s : split_list(worker_counts)) ns.push_back(std::stoi(s));
    for (auto& s : split_list(client_counts)) cs.push_back(std::stoi(s));

    fmt::print("bench_paranoid_pirate: {} cores, heartbeat {} ms, window {} ms, descriptor limit {}\n",
               std::thread::hardware_concurrency(), interval.count(), window.count(), lim.rlim_cur);
    fmt::print(
        "\n0. queue core alone (no sockets): ns per worker heartbeat handled (in, out, purge check)\n");
    for (int n : {10, 100, 1000, 10000, 100000}) {
        const int rounds = std::max(3, 1000000 / n);
        fmt::print("{:>8} workers: {:>8.0f} ns\n", n, core_ns_per_heartbeat(n, rounds));
    }
    std::fflush(stdout);

    fmt::print("\n1. idle workers heartbeating: CPU of the queue process per second of wall time\n");
    fmt::print("{:>6} {:>14} {:>14} {:>10} {:>10} {:>8} {:>14} {:>14} {:>8}\n", "N", "ppqueue stat",
               "ppqueue sched", "hb back/s", "expected", "expired", "us CPU per hb", "raw ROUTER", "ratio");
    const std::string ppqueue = self_dir() + "/ppqueue";
    const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
    for (int n : ns) {
        IdleResult q{}, r{};
        std::size_t expired = 0;
        {
            Child child;
            std::string be = spawn(child, ppqueue,
                                   {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*",
                                    "--heartbeat-ms", std::to_string(interval.count()), "--liveness", "3"},
                                   "backend");
            // Expirations during the window only (a few may happen while 1000 sockets are being set up).
            q = measure_idle(be, child.pid, n, interval, window, [&](bool open) {
                const std::size_t now = count_in_log(child, " expired");
                expired = open ? now : now - expired;
            });
        }
        {
            Child child;
            std::string be = spawn(child, self, {"--reflector", "tcp://127.0.0.1:*"}, "backend");
            r = measure_idle(be, child.pid, n, interval, window);
        }
        // Per heartbeat: one received from a worker and one sent to it.
        const double per_hb = q.heartbeats_in_per_s > 0 ? q.cpu_sched_per_s / q.heartbeats_in_per_s * 1e6 : 0;
        const double expected = n * 1000.0 / static_cast<double>(interval.count());
        fmt::print("{:>6} {:>13.2f}% {:>13.2f}% {:>10.0f} {:>10.0f} {:>8} {:>14.2f} {:>13.2f}% {:>8.2f}\n", n,
                   q.cpu_stat_per_s * 100, q.cpu_sched_per_s * 100, q.heartbeats_in_per_s, expected, expired,
                   per_hb, r.cpu_sched_per_s * 100,
                   r.cpu_sched_per_s > 0 ? q.cpu_sched_per_s / r.cpu_sched_per_s : 0);
        std::fflush(stdout);
    }
    fmt::print(
        "(stat: utime+stime, 10 ms ticks; sched: sum of the threads' schedstat run time, ns resolution;\n"
        " raw ROUTER: a bare ROUTER process echoing each heartbeat, same traffic; ratio = ppqueue / raw;\n"
        " hb back/s below expected: the machine could not keep N workers heartbeating on time)\n");

    fmt::print("\n2. round trips through the queue ({} echo workers, {} round trips per run)\n", workers,
               round_trips);
    fmt::print("{:>8} {:>16} {:>20} {:>8}\n", "clients", "Queue + Worker/s", "raw zmq::proxy/s", "ratio");
    log::set_level(log::Level::warn);
    for (int c : cs) {
        const int per_client = std::max(1, round_trips / c);
        const double ours = round_trips_queue(c, workers, per_client);
        const double raw = round_trips_raw(c, workers, per_client);
        fmt::print("{:>8} {:>16.0f} {:>20.0f} {:>8.2f}\n", c, ours, raw, ours / raw);
        std::fflush(stdout);
    }
    return 0;
}
