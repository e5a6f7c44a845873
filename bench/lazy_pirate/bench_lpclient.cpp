// What does the Lazy Pirate client cost per request over a bare REQ socket?
//
// One client does N synchronous round trips of `size` bytes to a REP echo server over tcp loopback:
//   pirates:  lazy_pirate::Client with echo_check() (keeps the request for resending, polls with a deadline,
//             compares the reply)
//   baseline: a raw REQ socket, send + blocking recv.
// Prints round trips per second and mean latency of each, and the ratio pirates / baseline.
#include <pirates/common/cli.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/lazy_pirate/client.hpp>

#include <atomic>
#include <cstdio>
#include <thread>

using namespace pirates;

namespace {

class EchoServer {
  public:
    explicit EchoServer(zmq::context_t& ctx) : rep_(ctx, zmq::socket_type::rep) {
        rep_.set(zmq::sockopt::linger, 0);
        rep_.set(zmq::sockopt::rcvtimeo, 50);
        rep_.bind("tcp://127.0.0.1:*");
        endpoint = rep_.get(zmq::sockopt::last_endpoint);
        thread_ = std::thread([this] {
            while (!stop_) {
                Frames m;
                if (m.recv(rep_)) m.send(rep_);
            }
        });
    }
    ~EchoServer() {
        stop_ = true;
        thread_.join();
    }
    std::string endpoint;

  private:
    zmq::socket_t rep_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

double seconds_since(TimePoint start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
    int requests = 50000, size = 64;
    CommandLine cli("bench_lpclient", "Lazy Pirate client round trips against a bare REQ socket.");
    cli.integer("requests", requests, "round trips (default 50000)", 1)
        .integer("size", size, "bytes (default 64)", 0);
    cli.parse(argc, argv);
    const std::string body(static_cast<std::size_t>(size), 'x');

    zmq::context_t ctx;
    EchoServer server(ctx);

    zmq::socket_t req(ctx, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.connect(server.endpoint);
    lazy_pirate::ClientOptions options;
    options.check = lazy_pirate::echo_check();
    lazy_pirate::Client client(ctx, server.endpoint, {Duration{2500}, 3}, options);

    // Interleaved rounds, so that a machine shared with other jobs slows both sides alike.
    constexpr int kRounds = 10;
    double raw = 0, ours = 0;
    long failed = 0;
    zmq::message_t reply;
    for (int round = 0; round < kRounds; ++round) {
        const int n = requests / kRounds + (round < requests % kRounds ? 1 : 0);
        auto start = Clock::now();
        for (int i = 0; i < n; ++i) {
            req.send(zmq::buffer(body), zmq::send_flags::none);
            (void)req.recv(reply);
        }
        raw += seconds_since(start);
        start = Clock::now();
        for (int i = 0; i < n; ++i)
            if (!client.request(std::string_view(body))) ++failed;
        ours += seconds_since(start);
    }

    std::printf("bench_lpclient: %d round trips of %d bytes, tcp loopback, %u hardware threads\n", requests,
                size, std::thread::hardware_concurrency());
    std::printf("  raw REQ:             %9.0f round trips/s  %6.1f us per round trip\n", requests / raw,
                raw * 1e6 / requests);
    std::printf(
        "  lazy_pirate::Client: %9.0f round trips/s  %6.1f us per round trip  (%ld failed, %llu retries)\n",
        requests / ours, ours * 1e6 / requests, failed,
        static_cast<unsigned long long>(client.stats().retries));
    std::printf("  ratio pirates/raw: %.2f\n", raw / ours);
    return failed == 0 ? 0 : 1;
}
