#pragma once
// The Binary Star fail-over client: Lazy Pirate against one server of the pair at a time.
//
// Send the request and wait up to `timeout`. On silence: close the socket (linger 0, so a late reply can
// never reach the next one), wait `settle` (the passive server takes over only once its peer has been silent
// for two heartbeats, so asking it sooner would only be refused and make the client flap), switch to the
// other server, reconnect, send the same request again. After `attempts` tries the request gives up: an
// Outcome with Status::gave_up, not an exception. A served request stays on the server that answered. The
// attempts and their deadlines are the common RetryCore; Client is its driver.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/outcome.hpp>
#include <pirates/common/retry.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/stop.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pirates::binary_star {

struct ClientOptions {
    std::vector<std::string> connect;  // the pair, primary first (any count >= 1 works: round robin)
    Duration timeout{1000};            // per attempt (reference 1000 ms)
    Duration settle{2000};  // pause before switching server (reference 2000 ms; keep >= 2 heartbeats)
    int attempts = 6;       // per request, over both servers; 0: never give up
    Security security{};    // CURVE (security.hpp); plaintext if empty
};
using ClientConfig = ClientOptions;  // the former name

// A reply, and where it came from.
struct Answer {
    Frames body;
    std::size_t server = 0;  // index into ClientOptions::connect of the server that answered
    Duration elapsed{0};     // from the first send to the reply
};

struct ClientStats {
    std::uint64_t requests = 0;     // request() calls
    std::uint64_t replies = 0;      // answered
    std::uint64_t retries = 0;      // sends beyond the first (each one to the next server)
    std::uint64_t reconnects = 0;   // sockets closed and reopened (fail-overs, and after giving up or a stop)
    std::uint64_t gave_up = 0;      // unanswered after every attempt
    std::uint64_t interrupted = 0;  // cut short by request_stop()
};

class Client {
  public:
    Client(zmq::context_t& context, ClientOptions options, const ClockSource& clock = steady_clock());
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Send `request` (one or more frames) and wait for its reply, failing over as needed: `reply` (an Answer:
    // the body, which server, how long), `gave_up` when every attempt timed out (or the request is empty), or
    // `interrupted` (request_stop()). A std::string converts to a one-frame Frames:
    // client.request(std::string("hello")).
    [[nodiscard]] Outcome<Answer> request(Frames request);

    // Thread-safe. A request waiting (or settling before a fail-over) returns `interrupted` promptly; from
    // then on every request returns `interrupted` at once, without sending.
    void request_stop() { stop_.request_stop(); }
    bool stop_requested() const { return stop_.stop_requested(); }

    std::size_t current() const { return current_; }
    const std::string& current_endpoint() const { return options_.connect[current_]; }
    const ClientOptions& options() const { return options_; }
    const ClientStats& stats() const { return stats_; }
    // Called on each fail-over, after the settle delay, before the request is sent to the new server.
    std::function<void(std::size_t from, std::size_t to)> on_switch;

  private:
    void open();
    void transmit();
    void settle();
    Outcome<Answer> interrupt(int attempts);

    zmq::context_t& context_;
    ClientOptions options_;
    const ClockSource& clock_;
    RetryCore retry_;
    std::size_t current_ = 0;
    std::unique_ptr<zmq::socket_t> socket_;
    StopSource stop_;
    ClientStats stats_;
};

}  // namespace pirates::binary_star
