#pragma once
// Majordomo synchronous client (7/MDP 0.1 client side, DEALER socket sending the empty delimiter itself).
//
// request(service, body) sends one request and waits up to `timeout` for the reply. On silence it closes the
// socket (linger 0), opens a new one and sends again, up to `attempts` sends in all, then gives up: the
// outcome is a value (Status::timeout), never an exception. Because the socket is replaced after every silent
// attempt and only one request is ever in flight on a socket, a late reply to an earlier request can never be
// taken for the answer to the current one. A reply whose service frame is not the service asked is discarded.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/retry.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace pirates::majordomo {

struct ClientConfig {
    std::string broker;
    Duration timeout{2500};  // per attempt
    int attempts = 3;        // sends per request (the reference's "retries")
};

enum class Status { ok, timeout, stopped };
std::string_view to_string(Status s);

struct Response {
    Status status = Status::timeout;
    Frames body;       // the reply body when ok
    int attempts = 0;  // sends it took
    bool ok() const { return status == Status::ok; }
};

struct ClientStats {
    std::uint64_t requests = 0;
    std::uint64_t answered = 0;
    std::uint64_t retries = 0;  // sends beyond the first
    std::uint64_t gave_up = 0;
    std::uint64_t discarded = 0;  // malformed replies or replies for another service
};

class Client {
  public:
    Client(zmq::context_t& context, ClientConfig config, const ClockSource& clock = steady_clock());
    Response request(std::string_view service, Frames body);
    const ClientStats& stats() const { return stats_; }
    const ClientConfig& config() const { return config_; }

  private:
    void reopen();

    zmq::context_t& context_;
    ClientConfig config_;
    const ClockSource& clock_;
    zmq::socket_t socket_;
    ClientStats stats_;
};

}  // namespace pirates::majordomo
