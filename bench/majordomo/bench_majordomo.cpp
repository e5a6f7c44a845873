// bench_majordomo: what the Majordomo broker costs, against raw libzmq doing the same hops in the same run.
//   (a) raw:  DEALER clients -> ROUTER/DEALER zmq::proxy -> REP echo workers
//   (b) MDP:  DEALER clients speaking MDPC01 -> pirates::majordomo::Broker -> pirates::majordomo::Worker echo
//   (c) the same as (b) in 18/MDP 0.2 (MDPC02 / MDPW02 on both sides)
//   (a') on the 8-worker load also: raw ROUTER/ROUTER LRU queue -> REQ echo workers, one request per
//        worker at a time as MDP must (what the broker costs, without the proxy's pipelining)
// Loads: 1 client x 1 in flight (latency p50/p99, req/s) and 4 clients x 16 in flight across 8 workers
// (req/s), bodies of 16 B and 4 KiB. Everything over tcp loopback, one process, one thread per
// client/worker/broker.
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/broker_metrics.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

using namespace pirates;
using namespace pirates::majordomo;

namespace {

using Micros = std::chrono::duration<double, std::micro>;

int io_threads = 1;  // libzmq I/O threads per context, the same for both systems

struct Figures {
    double rate = 0;          // requests/s
    double p50 = 0, p99 = 0;  // microseconds (latency runs only)
};

// One client thread: `count` requests with `window` in flight; records round-trip times when window == 1.
// With mdp, `version` is the framing spoken (the broker answers each in its own).
Version version = Version::v01;

void run_client(zmq::context_t& ctx, const std::string& ep, bool mdp, std::size_t body_size, int count,
                int window, std::vector<double>* latencies) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(ep);
    std::string payload(body_size, 'x');
    auto make = [&] {
        Frames body;
        body.add(frame(payload));
        if (mdp) return encode_client_request(version, "echo", std::move(body));
        body.push(Frame());  // "" for the REP worker
        return body;
    };
    int sent = 0, received = 0;
    auto t0 = Clock::now();
    for (; sent < std::min(window, count); ++sent) make().send(s);
    while (received < count) {
        Frames reply;
        if (!reply.recv(s)) continue;
        ++received;
        if (reply.size() != (mdp ? 4u : 2u) || reply.back().size() != body_size) {
            std::fprintf(stderr, "bench: unexpected reply %s\n", printable(reply).c_str());
            std::exit(1);
        }
        if (latencies) {
            auto t1 = Clock::now();
            latencies->push_back(Micros(t1 - t0).count());
            t0 = t1;
        }
        if (sent < count) {
            make().send(s);
            ++sent;
        }
    }
}

Figures run_load(zmq::context_t& ctx, const std::string& ep, bool mdp, std::size_t body, int clients,
                 int window, int total) {
    // Warm-up: connections up, workers registered, caches warm.
    run_client(ctx, ep, mdp, body, 200, 1, nullptr);
    std::vector<std::vector<double>> lat(clients);
    std::vector<std::thread> threads;
    auto start = Clock::now();
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&, c] {
            run_client(ctx, ep, mdp, body, total / clients, window, window == 1 ? &lat[c] : nullptr);
        });
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    Figures f;
    f.rate = (total / clients) * clients / secs;
    if (window == 1 && !lat[0].empty()) {
        auto& v = lat[0];
        std::sort(v.begin(), v.end());
        f.p50 = v[v.size() / 2];
        f.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
    }
    return f;
}

// (a') the middle of a raw system bound by MDP's delivery rule: a ROUTER/ROUTER least-recently-used queue
// that hands each REQ worker one request at a time (the worker asks with READY, then with each reply), as a
// broker must. Not a required figure: it separates what pipelining gives the proxy in (a) from what the
// broker costs.
void lru_queue(zmq::socket_t& front, zmq::socket_t& back) {
    std::vector<Frame> idle;  // worker identities; idle[head..] wait, least recently used first
    std::size_t head = 0;
    while (true) {
        zmq::pollitem_t items[] = {{back.handle(), 0, ZMQ_POLLIN, 0}, {front.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, head < idle.size() ? 2 : 1, std::chrono::milliseconds(-1));
        Frames m;
        while (m.recv(back, ZMQ_DONTWAIT)) {  // [worker] "" (READY | client "" body...)
            idle.push_back(m.pop());
            m.pop();
            if (m.size() > 1) m.send(front);  // client "" body...
            m.clear();
        }
        while (head < idle.size() && m.recv(front, ZMQ_DONTWAIT)) {  // client "" body...
            m.push(Frame());
            m.push(std::move(idle[head++]));
            m.send(back);
            m.clear();
        }
        if (head == idle.size()) {  // all handed out: reuse the storage
            idle.clear();
            head = 0;
        }
    }
}

// (a) raw libzmq: zmq::proxy ROUTER/DEALER and REP echo workers; or (a') the LRU queue above, ROUTER/ROUTER,
// and REQ echo workers.
enum class Middle { proxy, lru };
struct RawSystem {
    zmq::context_t ctx{io_threads};
    std::string ep, backend_ep;
    std::vector<std::thread> threads;
    RawSystem(int workers, Middle middle) {
        std::atomic<bool> bound{false};
        threads.emplace_back([this, &bound, middle] {
            zmq::socket_t front(ctx, zmq::socket_type::router);
            zmq::socket_t back(ctx,
                               middle == Middle::proxy ? zmq::socket_type::dealer : zmq::socket_type::router);
            front.set(zmq::sockopt::linger, 0);
            back.set(zmq::sockopt::linger, 0);
            front.bind("tcp://127.0.0.1:*");
            back.bind("tcp://127.0.0.1:*");
            ep = front.get(zmq::sockopt::last_endpoint);
            backend_ep = back.get(zmq::sockopt::last_endpoint);
            bound = true;
            try {
                if (middle == Middle::proxy)
                    zmq::proxy(front, back);
                else
                    lru_queue(front, back);
            } catch (const zmq::error_t&) {
            }
        });
        while (!bound) std::this_thread::yield();
        for (int i = 0; i < workers; ++i)
            threads.emplace_back([this, middle] {
                zmq::socket_t s(ctx, middle == Middle::proxy ? zmq::socket_type::rep : zmq::socket_type::req);
                s.set(zmq::sockopt::linger, 0);
                s.connect(backend_ep);
                try {
                    if (middle == Middle::lru) s.send(zmq::str_buffer("READY"));
                    while (true) {
                        Frames m;
                        m.recv(s);
                        m.send(s);
                    }
                } catch (const zmq::error_t&) {
                }
            });
    }
    ~RawSystem() {
        ctx.shutdown();
        for (auto& t : threads) t.join();
    }
};

// (b) our broker and workers.
// GET /metrics once from 127.0.0.1:port, reading the whole answer (what a Prometheus scrape costs the broker).
std::size_t scrape(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::size_t got = 0;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const char req[] = "GET /metrics HTTP/1.1\r\n\r\n";
        if (::send(fd, req, sizeof req - 1, MSG_NOSIGNAL) > 0) {
            char buf[4096];
            for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got += static_cast<std::size_t>(n);
        }
    }
    ::close(fd);
    return got;
}

struct MdpSystem {
    zmq::context_t ctx{io_threads};
    std::unique_ptr<Broker> broker;
    std::thread broker_thread;
    // With metrics: the exporter (snapshots every 100 ms, as mdbroker --metrics) and a scraper 10 times a
    // second, ten times Prometheus' usual rate.
    std::unique_ptr<pirates::metrics::Exporter> exporter;
    std::atomic<bool> scraping{false};
    std::thread scraper;
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::thread> threads;
    explicit MdpSystem(int n, bool with_metrics = false) {
        BrokerOptions options;
        options.bind = "tcp://127.0.0.1:*";
        broker = std::make_unique<Broker>(ctx, options);
        if (with_metrics) {
            exporter = serve_metrics(*broker, "127.0.0.1:0");
            scraping = true;
            scraper = std::thread([this] {
                while (scraping.load()) {
                    scrape(exporter->port());
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the scrape interval
                }
            });
        }
        broker_thread = std::thread([this] { broker->run(); });
        for (int i = 0; i < n; ++i) {
            WorkerOptions o{broker->endpoint(), "echo"};
            o.version = version;
            workers.push_back(std::make_unique<Worker>(ctx, o));
        }
        for (auto& w : workers)
            threads.emplace_back([&w] { w->run([](Frames&& body) { return std::move(body); }); });
        while (broker->snapshot().workers < static_cast<std::size_t>(n)) std::this_thread::yield();
    }
    ~MdpSystem() {
        for (auto& w : workers) w->request_stop();
        for (auto& t : threads) t.join();
        workers.clear();
        broker->request_stop();
        broker_thread.join();
        scraping = false;
        if (scraper.joinable()) scraper.join();
    }
};

// The broker core alone, no sockets: a request in, the REQUEST out, the worker's REPLY in, the reply out, for
// 8 workers. One message object is reused for input, as the driver does; output is "sent" (consumed) at once.
struct NullOutbox final : pirates::Outbox {
    std::string last_identity;
    SendResult send(Frames& m, Channel) override {
        last_identity.assign(static_cast<const char*>(m[0].data()), m[0].size());
        for (auto& f : m) Frame gone(std::move(f));  // a socket send takes the frames
        return SendResult::sent;
    }
};

double core_ns_per_request(int n, std::size_t body_size) {
    BrokerCore core(BrokerConfig{});
    NullOutbox out;
    TimePoint now = Clock::now();
    const std::string payload(body_size, 'x');
    Frames m;
    auto fill = [&m](std::initializer_list<std::string_view> parts) {
        m.clear();
        for (auto p : parts) m.add(frame(p));
    };
    for (int w = 0; w < 8; ++w) {
        std::string id = "W" + std::to_string(w);
        fill({id, "", "MDPW01", "\x01", "echo"});
        core.on_message(std::move(m), now, out);
    }
    // Thread CPU time, not wall time: on a shared machine this is the core's own cost.
    auto cpu_ns = [] {
        timespec ts{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
    };
    const double start = cpu_ns();
    for (int i = 0; i < n; ++i) {
        fill({"CLIENT", "", "MDPC01", "echo", payload});
        core.on_message(std::move(m), now, out);
        fill({out.last_identity, "", "MDPW01", "\x03", "CLIENT", "", payload});
        core.on_message(std::move(m), now, out);
    }
    return (cpu_ns() - start) / n;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int latency_requests = 5000, throughput_requests = 20000, repeat = 3;
    bool only_throughput = false, core_only = false;
    CommandLine cli("bench_majordomo",
                    "Majordomo broker vs a raw libzmq ROUTER/DEALER proxy, same run, same hops.");
    cli.integer("latency-requests", latency_requests, "round trips for the 1-in-flight load (default 5000)",
                100)
        .integer("throughput-requests", throughput_requests, "requests for the 4x16 load (default 20000)",
                 1000)
        .integer("repeat", repeat,
                 "runs of each figure, alternating raw and mdp; the median is printed (default 3)", 1, 100)
        .integer("io-threads", io_threads, "libzmq I/O threads in each system's context (default 1)", 1, 16)
        .flag("only-throughput", only_throughput, "skip the 1-in-flight load (for profiling)")
        .flag("core-only", core_only, "only the broker core without sockets (for profiling)");
    cli.parse(argc, argv);
    log::set_level(log::Level::warn);
    if (core_only) {
        for (std::size_t body : {std::size_t{16}, std::size_t{4096}})
            std::printf("%zu B, broker core alone: %.0f CPU ns/req\n", body,
                        core_ns_per_request(1000000, body));
        return 0;
    }

    std::printf(
        "bench_majordomo: %u cores; tcp loopback; raw = DEALER -> ROUTER/DEALER proxy -> REP; "
        "mdp = DEALER -> mdbroker -> mdworker API; median of %d runs\n",
        std::thread::hardware_concurrency(), repeat);
    std::printf("%-34s %12s %12s %8s\n", "load", "raw", "mdp", "mdp/raw");
    for (std::size_t body : {std::size_t{16}, std::size_t{4096}}) {
        std::vector<double> raw_rate1, mdp_rate1, raw_p50, mdp_p50, raw_p99, mdp_p99, raw_rate8, mdp_rate8,
            lru_rate8, v02_rate1, v02_p50, v02_p99, v02_rate8, met_rate1, met_p99, met_rate8;
        for (int r = 0; r < repeat; ++r) {
            if (!only_throughput) {
                {
                    RawSystem raw(1, Middle::proxy);
                    auto f = run_load(raw.ctx, raw.ep, false, body, 1, 1, latency_requests);
                    raw_rate1.push_back(f.rate);
                    raw_p50.push_back(f.p50);
                    raw_p99.push_back(f.p99);
                }
                for (Version v : {Version::v01, Version::v02}) {
                    version = v;
                    MdpSystem mdp(1);
                    auto f = run_load(mdp.ctx, mdp.broker->endpoint(), true, body, 1, 1, latency_requests);
                    (v == Version::v01 ? mdp_rate1 : v02_rate1).push_back(f.rate);
                    (v == Version::v01 ? mdp_p50 : v02_p50).push_back(f.p50);
                    (v == Version::v01 ? mdp_p99 : v02_p99).push_back(f.p99);
                }
                {
                    version = Version::v01;
                    MdpSystem mdp(1, true);
                    auto f = run_load(mdp.ctx, mdp.broker->endpoint(), true, body, 1, 1, latency_requests);
                    met_rate1.push_back(f.rate);
                    met_p99.push_back(f.p99);
                }
            }
            {
                RawSystem raw(8, Middle::proxy);
                raw_rate8.push_back(run_load(raw.ctx, raw.ep, false, body, 4, 16, throughput_requests).rate);
            }
            {
                RawSystem lru(8, Middle::lru);
                lru_rate8.push_back(run_load(lru.ctx, lru.ep, false, body, 4, 16, throughput_requests).rate);
            }
            for (Version v : {Version::v01, Version::v02}) {
                version = v;
                MdpSystem mdp(8);
                (v == Version::v01 ? mdp_rate8 : v02_rate8)
                    .push_back(
                        run_load(mdp.ctx, mdp.broker->endpoint(), true, body, 4, 16, throughput_requests)
                            .rate);
            }
            {
                version = Version::v01;
                MdpSystem mdp(8, true);
                met_rate8.push_back(
                    run_load(mdp.ctx, mdp.broker->endpoint(), true, body, 4, 16, throughput_requests).rate);
            }
        }
        auto row = [&](const char* what, const char* fmt_, const std::vector<double>& a,
                       const std::vector<double>& b) {
            double x = median(a), y = median(b);
            std::printf(fmt_, fmt::format("{} B, {}", body, what).c_str(), x, y, x > 0 ? y / x : 0.0);
        };
        // The 0.2 rows: the same loads in 18/MDP 0.2, beside the raw figure of the same run.
        auto row02 = [&](const char* what, const char* fmt_, const std::vector<double>& a,
                         const std::vector<double>& b) {
            double x = median(a), y = median(b);
            std::printf(fmt_, fmt::format("{} B, MDP 0.2, {}", body, what).c_str(), x, y,
                        x > 0 ? y / x : 0.0);
        };
        if (!only_throughput) {
            row("1 client x 1, req/s", "%-34s %12.0f %12.0f %8.2f\n", raw_rate1, mdp_rate1);
            row("1 client x 1, p50 us", "%-34s %12.1f %12.1f %8.2f\n", raw_p50, mdp_p50);
            row("1 client x 1, p99 us", "%-34s %12.1f %12.1f %8.2f\n", raw_p99, mdp_p99);
        }
        row("4 clients x 16, 8 workers, req/s", "%-34s %12.0f %12.0f %8.2f\n", raw_rate8, mdp_rate8);
        row("  vs raw one-at-a-time LRU queue", "%-34s %12.0f %12.0f %8.2f\n", lru_rate8, mdp_rate8);
        if (!only_throughput) {
            row02("1 x 1, req/s", "%-34s %12.0f %12.0f %8.2f\n", raw_rate1, v02_rate1);
            row02("1 x 1, p50 us", "%-34s %12.1f %12.1f %8.2f\n", raw_p50, v02_p50);
            row02("1 x 1, p99 us", "%-34s %12.1f %12.1f %8.2f\n", raw_p99, v02_p99);
        }
        row02("4 x 16, 8 w, req/s", "%-34s %12.0f %12.0f %8.2f\n", raw_rate8, v02_rate8);
        // Metrics rows: mdp without metrics (the raw column) beside mdp with --metrics and a scraper at 10 Hz.
        auto row_metrics = [&](const char* what, const char* fmt_, const std::vector<double>& a,
                               const std::vector<double>& b) {
            double x = median(a), y = median(b);
            std::printf(fmt_, fmt::format("{} B, metrics off|on, {}", body, what).c_str(), x, y,
                        x > 0 ? y / x : 0.0);
        };
        if (!only_throughput) {
            row_metrics("1 x 1 req/s", "%-34s %12.0f %12.0f %8.2f\n", mdp_rate1, met_rate1);
            row_metrics("1 x 1 p99 us", "%-34s %12.1f %12.1f %8.2f\n", mdp_p99, met_p99);
        }
        row_metrics("4x16 req/s", "%-34s %12.0f %12.0f %8.2f\n", mdp_rate8, met_rate8);
        std::printf("%-34s %12s %12.0f\n", fmt::format("{} B, broker core alone, CPU ns/req", body).c_str(),
                    "-", core_ns_per_request(200000, body));
        std::fflush(stdout);
    }
    return 0;
}
