// bench_curve: what CURVE costs the Majordomo round trip, against raw libzmq with CURVE on the same hops, same
// run. Two hops each way in both systems:
//   raw:  DEALER client -> ROUTER/DEALER zmq::proxy -> REP echo worker
//   mdp:  DEALER client (MDPC01) -> pirates::majordomo::Broker -> pirates::majordomo::Worker echo
// each in plaintext and with CURVE (every hop encrypted; the server side admits the keys of a folder through
// one ZapHandler). One client, one request at a time: req/s and the median round trip. The question it
// answers: does the broker's share (mdp/raw) stay where it is without CURVE.
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker.hpp>

#include <fmt/format.h>
#include <zmq_addon.hpp>

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

using namespace pirates;
using namespace pirates::majordomo;
namespace fs = std::filesystem;

namespace {

struct Keys {
    Certificate server = generate_certificate();
    Certificate client = generate_certificate();
    Certificate worker = generate_certificate();
    fs::path folder = fs::temp_directory_path() / fmt::format("pirates-bench-curve-{}", ::getpid());
    Keys() {
        fs::create_directories(folder);
        (void)write_certificate_pair(client, folder, "client");
        (void)write_certificate_pair(worker, folder, "worker");
    }
    ~Keys() {
        std::error_code ec;
        fs::remove_all(folder, ec);
    }
    Security server_side(bool on) const { return on ? Security::server(server) : Security{}; }
    Security client_side(bool on) const {
        return on ? Security::client(client, server.public_key) : Security{};
    }
    Security worker_side(bool on) const {
        return on ? Security::client(worker, server.public_key) : Security{};
    }
};

struct Figures {
    double rate = 0, p50 = 0;
};

Figures run_client(zmq::context_t& ctx, const std::string& ep, bool mdp, const Security& security, int count,
                   std::size_t body_size) {
    SocketOptions o;
    o.security = security;
    auto s = make_socket(ctx, zmq::socket_type::dealer, o);
    s.connect(ep);
    std::string payload(body_size, 'x');
    std::vector<double> lat;
    lat.reserve(static_cast<std::size_t>(count));
    auto start = Clock::now();
    for (int i = 0; i < count; ++i) {
        Frames body;
        body.add(frame(payload));
        Frames request = mdp ? encode_client_request(Version::v01, "echo", std::move(body)) : std::move(body);
        if (!mdp) request.push(Frame());
        auto t0 = Clock::now();
        request.send(s);
        Frames reply;
        while (!reply.recv(s)) {
        }
        lat.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (reply.back().size() != body_size) {
            std::fprintf(stderr, "bench_curve: unexpected reply\n");
            std::exit(1);
        }
    }
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(lat.begin(), lat.end());
    return {count / secs, lat[lat.size() / 2]};
}

Figures raw_system(const Keys& keys, bool curve, int count, std::size_t body) {
    zmq::context_t ctx;
    std::unique_ptr<ZapHandler> zap;
    if (curve) zap = std::make_unique<ZapHandler>(ctx, ZapPolicy{keys.folder, false});
    SocketOptions server;
    server.security = keys.server_side(curve);
    auto front = make_socket(ctx, zmq::socket_type::router, server);
    auto back = make_socket(ctx, zmq::socket_type::dealer, server);
    front.bind("tcp://127.0.0.1:*");
    back.bind("tcp://127.0.0.1:*");
    const std::string fep = front.get(zmq::sockopt::last_endpoint),
                      bep = back.get(zmq::sockopt::last_endpoint);
    auto control = make_socket(ctx, zmq::socket_type::pair);
    control.bind("inproc://bench-curve-control");
    std::thread proxy([&] {
        auto ctl = make_socket(ctx, zmq::socket_type::pair);
        ctl.connect("inproc://bench-curve-control");
        zmq::proxy_steerable(front, back, zmq::socket_ref(), ctl);
    });
    std::atomic<bool> stop{false};
    std::thread worker([&] {
        SocketOptions o;
        o.security = keys.worker_side(curve);
        auto rep = make_socket(ctx, zmq::socket_type::rep, o);
        rep.set(zmq::sockopt::rcvtimeo, 50);
        rep.connect(bep);
        while (!stop) {
            zmq::message_t m;
            if (!rep.recv(m)) continue;
            (void)rep.send(m, zmq::send_flags::none);
        }
    });
    auto f = run_client(ctx, fep, false, keys.client_side(curve), count, body);
    stop = true;
    worker.join();
    (void)control.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none);
    proxy.join();
    return f;
}

Figures mdp_system(const Keys& keys, bool curve, int count, std::size_t body) {
    zmq::context_t ctx;
    std::unique_ptr<ZapHandler> zap;
    if (curve) zap = std::make_unique<ZapHandler>(ctx, ZapPolicy{keys.folder, false});
    BrokerOptions options;
    options.bind = "tcp://127.0.0.1:*";
    options.security = keys.server_side(curve);
    Broker broker(ctx, options);
    std::thread broker_thread([&] { broker.run(); });
    WorkerOptions wo{broker.endpoint(), "echo"};
    wo.security = keys.worker_side(curve);
    Worker worker(ctx, wo);
    std::thread worker_thread([&] { worker.run([](Frames&& b) { return std::move(b); }); });
    while (broker.snapshot().workers < 1) std::this_thread::yield();
    auto f = run_client(ctx, broker.endpoint(), true, keys.client_side(curve), count, body);
    worker.request_stop();
    worker_thread.join();
    broker.request_stop();
    broker_thread.join();
    return f;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    int requests = 20000, runs = 3;
    std::size_t body = 64;
    CommandLine cli("bench_curve",
                    "Majordomo round trip with and without CURVE, against raw libzmq, same run.");
    cli.integer("requests", requests, "round trips per figure", 100)
        .integer("runs", runs, "runs of each figure, alternating; the median is printed", 1, 100)
        .bytes("body", body, "request body size", 1);
    cli.parse(argc, argv);
    log::set_level(log::Level::warn);  // no per-system start and stop lines between the figures
    Keys keys;
    std::printf(
        "bench_curve: %u cores; tcp loopback; 1 client x 1 in flight; %zu B body; median of %d runs\n",
        std::thread::hardware_concurrency(), body, runs);
    std::printf("%-24s %12s %12s %8s\n", "load", "raw", "mdp", "mdp/raw");
    for (bool curve : {false, true}) {
        std::vector<double> rr, mr, rp, mp;
        for (int i = 0; i < runs; ++i) {
            auto r = raw_system(keys, curve, requests, body);
            auto m = mdp_system(keys, curve, requests, body);
            rr.push_back(r.rate);
            rp.push_back(r.p50);
            mr.push_back(m.rate);
            mp.push_back(m.p50);
        }
        const char* mode = curve ? "CURVE" : "plain";
        std::printf("%-24s %12.0f %12.0f %8.2f\n", fmt::format("{}, req/s", mode).c_str(), median(rr),
                    median(mr), median(mr) / median(rr));
        std::printf("%-24s %12.1f %12.1f %8.2f\n", fmt::format("{}, p50 us", mode).c_str(), median(rp),
                    median(mp), median(mp) / median(rp));
    }
    return 0;
}
