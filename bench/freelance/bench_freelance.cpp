// bench_freelance: sequential request-reply round trips over tcp loopback, in one run:
//   raw libzmq DEALER -> REP and ROUTER -> ROUTER (the baselines), then model 2 (shotgun) and model 3
//   (router) with 1 and 3 in-process servers. Prints requests/s, average round trip, and each model's ratio
//   to its baseline.
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/freelance/router.hpp>
#include <pirates/freelance/server.hpp>
#include <pirates/freelance/shotgun.hpp>

#include <fmt/format.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

using namespace pirates;
using namespace pirates::freelance;

namespace {

struct Figure {
    double per_second = 0;
    double rtt_us = 0;
};

// Run `one` (a whole round trip) for a 300 ms warm-up, then `n` times, timed; false from `one` aborts.
Figure measure(int n, const std::function<bool()>& one) {
    for (auto until = Clock::now() + std::chrono::milliseconds(300); Clock::now() < until;)
        if (!one()) throw std::runtime_error("warm-up request failed");
    auto start = Clock::now();
    for (int i = 0; i < n; ++i)
        if (!one()) throw std::runtime_error("request failed");
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    return {n / secs, secs * 1e6 / n};
}

// In-process servers, stopped and joined on destruction.
class Servers {
  public:
    Servers(zmq::context_t& context, int model, int count) {
        for (int i = 0; i < count; ++i) {
            servers_.push_back(
                std::make_unique<Server>(context, ServerOptions{model, "tcp://127.0.0.1:*", "", {}}));
            endpoints.push_back(servers_.back()->endpoint());
        }
        for (auto& s : servers_) threads_.emplace_back([this, s = s.get()] { s->run(&stop_); });
    }
    ~Servers() {
        stop_ = true;
        for (auto& t : threads_) t.join();
    }
    std::vector<std::string> endpoints;

  private:
    std::atomic<bool> stop_{false};
    std::vector<std::unique_ptr<Server>> servers_;
    std::vector<std::thread> threads_;
};

// Raw libzmq server loop: REP echoing `seq "OK"`, or ROUTER with an identity answering `seq "OK"`.
void raw_server(zmq::socket_t& socket, bool rep, const std::atomic<bool>& stop) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop) {
        zmq::poll(&item, 1, std::chrono::milliseconds(50));
        zmq::message_t a, b, c;
        while (socket.recv(a, zmq::recv_flags::dontwait)) {
            if (rep) {  // seq body
                (void)socket.recv(b);
                socket.send(a, zmq::send_flags::sndmore);
                socket.send(zmq::str_buffer("OK"));
            } else {  // identity seq body
                (void)socket.recv(b);
                (void)socket.recv(c);
                socket.send(a, zmq::send_flags::sndmore);
                socket.send(b, zmq::send_flags::sndmore);
                socket.send(zmq::str_buffer("OK"));
            }
        }
    }
}

Figure raw_dealer_rep(zmq::context_t& context, int n) {
    zmq::socket_t rep(context, zmq::socket_type::rep), dealer(context, zmq::socket_type::dealer);
    rep.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::linger, 0);
    rep.bind("tcp://127.0.0.1:*");
    dealer.connect(rep.get(zmq::sockopt::last_endpoint));
    std::atomic<bool> stop{false};
    std::thread server([&] { raw_server(rep, true, stop); });
    Figure f = measure(n, [&] {
        dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
        dealer.send(zmq::str_buffer("1"), zmq::send_flags::sndmore);
        dealer.send(zmq::str_buffer("hello"));
        zmq::multipart_t reply(dealer);
        return reply.size() == 3;
    });
    stop = true;
    server.join();
    return f;
}

Figure raw_router_router(zmq::context_t& context, int n) {
    zmq::socket_t server_socket(context, zmq::socket_type::router), client(context, zmq::socket_type::router);
    server_socket.set(zmq::sockopt::linger, 0);
    client.set(zmq::sockopt::linger, 0);
    std::string ep = bind_with_identity(server_socket, "tcp://127.0.0.1:*", "");
    client.set(zmq::sockopt::router_mandatory, 1);
    client.connect(ep);
    std::atomic<bool> stop{false};
    std::thread server([&] { raw_server(server_socket, false, stop); });
    // Wait until the server's identity is routable.
    while (true) {
        try {
            if (client.send(zmq::buffer(ep), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) break;
        } catch (const zmq::error_t&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    client.send(zmq::str_buffer("0"), zmq::send_flags::sndmore);
    client.send(zmq::str_buffer("hello"));
    zmq::multipart_t first(client);
    Figure f = measure(n, [&] {
        client.send(zmq::buffer(ep), zmq::send_flags::sndmore);
        client.send(zmq::str_buffer("1"), zmq::send_flags::sndmore);
        client.send(zmq::str_buffer("hello"));
        zmq::multipart_t reply(client);
        return reply.size() == 3;
    });
    stop = true;
    server.join();
    return f;
}

Figure shotgun(zmq::context_t& context, int servers, int n) {
    Servers s(context, 2, servers);
    ShotgunClient client(context);
    for (auto& ep : s.endpoints) client.connect(ep);
    Frames body;
    body.add(frame("hello"));
    return measure(n, [&] { return client.request(body).ok(); });
}

Figure router(zmq::context_t& context, int servers, int n) {
    Servers s(context, 3, servers);
    RouterClient client(context);
    for (auto& ep : s.endpoints) client.connect(ep);
    return measure(n, [&] {
        Frames body;
        body.add(frame("hello"));
        return client.request(std::move(body)).ok();
    });
}

void print(const char* name, Figure f, const Figure* baseline) {
    if (baseline)
        fmt::print(
            "{:<34} {:>10.0f} req/s {:>9.1f} us   x{:.2f} of baseline throughput, {:+.1f} us per round "
            "trip\n",
            name, f.per_second, f.rtt_us, f.per_second / baseline->per_second, f.rtt_us - baseline->rtt_us);
    else
        fmt::print("{:<34} {:>10.0f} req/s {:>9.1f} us   (baseline)\n", name, f.per_second, f.rtt_us);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    int n = 4000, rounds = 5;
    CommandLine cli("bench_freelance", "Freelance models 2 and 3 against raw libzmq round trips");
    cli.integer("requests", n, "round trips per measurement and round", 1)
        .integer("rounds", rounds, "rounds; each line reports its best round (the machine is shared)", 1,
                 100);
    cli.parse(argc, argv);
    if (!cli.verbose()) log::set_level(log::Level::warn);
    zmq::context_t context;
    fmt::print(
        "{} sequential round trips per measurement, best of {} interleaved rounds, tcp loopback, {} hardware "
        "threads\n",
        n, rounds, std::thread::hardware_concurrency());
    // Interleaved rounds, so that a burst of load from elsewhere does not fall on one line only.
    std::vector<std::function<Figure()>> runs = {
        [&] { return raw_dealer_rep(context, n); }, [&] { return raw_router_router(context, n); },
        [&] { return shotgun(context, 1, n); },     [&] { return shotgun(context, 3, n); },
        [&] { return router(context, 1, n); },      [&] { return router(context, 3, n); }};
    std::vector<Figure> best(runs.size());
    for (int r = 0; r < rounds; ++r)
        for (std::size_t i = 0; i < runs.size(); ++i) {
            Figure f = runs[i]();
            if (f.per_second > best[i].per_second) best[i] = f;
        }
    print("raw DEALER -> REP", best[0], nullptr);
    print("raw ROUTER -> ROUTER", best[1], nullptr);
    print("model 2 shotgun, 1 server", best[2], &best[0]);
    print("model 2 shotgun, 3 servers", best[3], &best[0]);
    print("model 3 router, 1 server", best[4], &best[1]);
    print("model 3 router, 3 servers", best[5], &best[1]);
    return 0;
}
