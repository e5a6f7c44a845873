#pragma once
// The Binary Star fail-over client: Lazy Pirate against one server of the pair at a time.
//
// Send the request and wait up to `timeout`. On silence: close the socket (linger 0, so a late reply can
// never reach the next one), wait `settle` (the passive server takes over only once its peer has been silent
// for two heartbeats, so asking it sooner would only be refused and make the client flap), switch to the
// other server, reconnect, send the same request again. After `attempts` tries the request gives up: an Error
// value, not an exception. A served request stays on the server that answered.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/result.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pirates::binary_star {

struct ClientConfig {
    std::vector<std::string> servers;  // the pair, primary first (any count >= 1 works: round robin)
    Duration timeout{1000};            // per attempt (reference 1000 ms)
    Duration settle{2000};  // pause before switching server (reference 2000 ms; keep >= 2 heartbeats)
    int attempts = 6;       // per request, over both servers; 0: never give up
};

struct Reply {
    Frames body;
    std::size_t server = 0;  // index into ClientConfig::servers of the server that answered
    int attempts = 1;        // how many sends it took
    Duration elapsed{0};     // from the first send to the reply
};

class Client {
  public:
    Client(zmq::context_t& context, ClientConfig config);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Send `request` (one or more frames) and wait for its reply, failing over as needed. An Error when every
    // attempt timed out, or when a stop signal arrived (install_stop_signals()).
    // A std::string converts to a one-frame Frames: client.request(std::string("hello")).
    Result<Reply> request(Frames request);

    std::size_t current() const { return current_; }
    const std::string& current_endpoint() const { return config_.servers[current_]; }
    const ClientConfig& config() const { return config_; }
    // Called on each fail-over, after the settle delay, before the request is sent to the new server.
    std::function<void(std::size_t from, std::size_t to)> on_switch;

  private:
    void open();
    // Wait for a reply on the current socket up to `timeout`. False on timeout or stop.
    bool wait_reply(Frames& out, Duration timeout);

    zmq::context_t& context_;
    ClientConfig config_;
    std::size_t current_ = 0;
    std::unique_ptr<zmq::socket_t> socket_;
};

}  // namespace pirates::binary_star
