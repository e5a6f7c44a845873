#pragma once
// Freelance model 1, simple retry and fail-over: a REQ socket tries each server in turn, with a timeout per
// attempt (and optional retries on each server). A fresh REQ socket per attempt (closed with linger 0), so a
// late reply to an abandoned attempt can never be read as the answer to a later one.
#include <pirates/common/clock.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/stop.hpp>
#include <pirates/freelance/answer.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pirates::freelance {

struct SimpleOptions {
    Duration timeout{1000};       // per attempt
    int attempts_per_server = 0;  // 0: the Guide's rule, 3 attempts with a single server, 1 each with several
    Security security{};          // CURVE (security.hpp); plaintext if empty
};

// The order of attempts, without sockets: server 0 `attempts` times, then server 1, ...
class TryOrder {
  public:
    TryOrder(std::size_t servers, int attempts_per_server);
    // Index of the server for the next attempt; nullopt when every attempt was used.
    std::optional<std::size_t> next();
    int attempts_per_server() const { return attempts_; }

  private:
    std::size_t servers_;
    int attempts_;
    std::size_t server_ = 0;
    int used_on_server_ = 0;
};

class SimpleClient {
  public:
    SimpleClient(zmq::context_t& context, std::vector<std::string> endpoints, SimpleOptions options = {},
                 const ClockSource& clock = steady_clock());
    // Send `body` (frames) to the first server that answers. Blocks at most endpoints x attempts x timeout.
    // "interrupted" once request_stop() was called.
    Reply request(const Frames& body);
    // From any thread: the request in flight, if any, fails with "interrupted" within a few ms, and so does
    // every later request.
    void request_stop() { stop_.request_stop(); }
    const std::vector<std::string>& endpoints() const { return endpoints_; }

  private:
    const ClockSource& clock_;
    StopSource stop_;
    zmq::context_t& context_;
    std::vector<std::string> endpoints_;
    SimpleOptions options_;
};

}  // namespace pirates::freelance
