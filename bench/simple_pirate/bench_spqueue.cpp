// How much does the Simple Pirate queue cost over raw libzmq doing the same hops?
//
// C clients (REQ) send R requests each, synchronously, through a queue to W echo workers, over tcp loopback.
//   pirates:  Queue (QueueCore, two ROUTERs, frontend read only while a worker is idle) + Worker
//   (REQ). baseline: zmq_proxy between a ROUTER frontend and a DEALER backend, REP echo workers: the same
//   hops
//             (client -> proxy -> worker -> proxy -> client) with no LRU routing and no READY protocol.
// Prints round trips per second and mean latency of each, and the ratio pirates / baseline.
#include <pirates/common/cli.hpp>
#include <pirates/simple_pirate/queue.hpp>
#include <pirates/simple_pirate/worker.hpp>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

using namespace pirates;

namespace {

struct Figures {
    double seconds = 0;
    long round_trips = 0;
    int clients = 1;
    double per_second() const { return round_trips / seconds; }
    // Mean time of one round trip as a client sees it (the clients run in parallel).
    double latency_us() const { return seconds * 1e6 * clients / round_trips; }
};

// C client threads, each a REQ socket doing R synchronous round trips of `size` bytes. Returns the wall time.
Figures run_clients(zmq::context_t& ctx, const std::string& frontend, int clients, int requests, int size) {
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (int c = 0; c < clients; ++c)
        threads.emplace_back([&] {
            zmq::socket_t req(ctx, zmq::socket_type::req);
            req.set(zmq::sockopt::linger, 0);
            req.connect(frontend);
            std::string body(static_cast<std::size_t>(size), 'x');
            zmq::message_t reply;
            for (int i = 0; i < requests; ++i) {
                req.send(zmq::buffer(body), zmq::send_flags::none);
                (void)req.recv(reply);
            }
        });
    for (auto& t : threads) t.join();
    Figures f;
    f.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    f.round_trips = static_cast<long>(clients) * requests;
    f.clients = clients;
    return f;
}

Figures bench_pirates(int clients, int workers, int requests, int size) {
    zmq::context_t ctx(2);
    simple_pirate::Queue queue(ctx, {"tcp://127.0.0.1:*", "tcp://127.0.0.1:*", 10000});
    std::thread queue_thread([&] { queue.run(); });
    std::vector<std::unique_ptr<simple_pirate::Worker>> pool;
    std::vector<std::thread> worker_threads;
    for (int w = 0; w < workers; ++w) {
        pool.push_back(std::make_unique<simple_pirate::Worker>(ctx, queue.backend_endpoint()));
        worker_threads.emplace_back([worker = pool.back().get()] {
            while (!worker->stopped())
                if (auto r = worker->receive(Duration{50})) worker->reply(std::move(*r));
        });
    }
    Figures f = run_clients(ctx, queue.frontend_endpoint(), clients, requests, size);
    for (auto& worker : pool) worker->request_stop();
    for (auto& t : worker_threads) t.join();
    queue.request_stop();  // ends the queue's reactor
    queue_thread.join();
    return f;
}

Figures bench_raw(int clients, int workers, int requests, int size) {
    zmq::context_t ctx(2);
    zmq::socket_t frontend(ctx, zmq::socket_type::router), backend(ctx, zmq::socket_type::dealer);
    zmq::socket_t control(ctx, zmq::socket_type::pair), control_peer(ctx, zmq::socket_type::pair);
    for (auto* s : {&frontend, &backend, &control, &control_peer}) s->set(zmq::sockopt::linger, 0);
    frontend.bind("tcp://127.0.0.1:*");
    backend.bind("tcp://127.0.0.1:*");
    control.bind("inproc://bench-control");
    control_peer.connect("inproc://bench-control");
    const std::string fe = frontend.get(zmq::sockopt::last_endpoint),
                      be = backend.get(zmq::sockopt::last_endpoint);
    std::thread proxy([&] { zmq::proxy_steerable(frontend, backend, zmq::socket_ref(), control); });
    std::atomic<bool> done{false};
    std::vector<std::thread> worker_threads;
    for (int w = 0; w < workers; ++w)
        worker_threads.emplace_back([&] {
            zmq::socket_t rep(ctx, zmq::socket_type::rep);
            rep.set(zmq::sockopt::linger, 0);
            rep.set(zmq::sockopt::rcvtimeo, 50);
            rep.connect(be);
            zmq::message_t m;
            while (!done)
                if (rep.recv(m)) rep.send(m, zmq::send_flags::none);
        });
    Figures f = run_clients(ctx, fe, clients, requests, size);
    done = true;
    for (auto& t : worker_threads) t.join();
    control_peer.send(zmq::str_buffer("TERMINATE"), zmq::send_flags::none);
    proxy.join();
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    int clients = 4, workers = 4, requests = 10000, size = 64;
    CommandLine cli("bench_spqueue", "Simple Pirate queue throughput and latency against a raw zmq_proxy.");
    cli.integer("clients", clients, "client threads (default 4)", 1, 1000)
        .integer("workers", workers, "worker threads (default 4)", 1, 1000)
        .integer("requests", requests, "round trips per client (default 10000)", 2)
        .integer("size", size, "request size in bytes (default 64)", 0);
    cli.parse(argc, argv);

    std::printf(
        "bench_spqueue: %d clients x %d requests of %d bytes, %d workers, tcp loopback, %u hardware "
        "threads\n",
        clients, requests, size, workers, std::thread::hardware_concurrency());
    // Two interleaved rounds each, so that a machine shared with other jobs slows both sides alike.
    Figures raw, ours;
    for (int round = 0; round < 2; ++round) {
        Figures r = bench_raw(clients, workers, requests / 2, size);
        Figures p = bench_pirates(clients, workers, requests / 2, size);
        raw.seconds += r.seconds, raw.round_trips += r.round_trips, raw.clients = clients;
        ours.seconds += p.seconds, ours.round_trips += p.round_trips, ours.clients = clients;
    }
    std::printf("  raw zmq_proxy ROUTER-DEALER: %9.0f round trips/s  %7.1f us per round trip\n",
                raw.per_second(), raw.latency_us() * clients);
    std::printf("  pirates spqueue (LRU):       %9.0f round trips/s  %7.1f us per round trip\n",
                ours.per_second(), ours.latency_us() * clients);
    std::printf("  ratio pirates/raw: %.2f\n", ours.per_second() / raw.per_second());
    return 0;
}
