#pragma once
// A minimal Lazy Pirate client for the integration tests: REQ, send, wait up to `timeout`, on silence close
// (linger 0), reopen and resend, up to `attempts` times.
#include <pirates/common/frames.hpp>

#include "support/net.hpp"

#include <optional>
#include <string>

namespace pirates::test {

class RetryClient {
  public:
    RetryClient(zmq::context_t& context, std::string endpoint, Duration timeout, int attempts)
        : context_(context), endpoint_(std::move(endpoint)), timeout_(timeout), attempts_(attempts) {}

    // The reply's single frame, or nullopt once every attempt timed out.
    std::optional<std::string> request(const std::string& body) {
        for (int attempt = 0; attempt < attempts_; ++attempt) {
            if (attempt > 0) ++retries_;
            if (!socket_) {
                socket_ = zmq::socket_t(context_, zmq::socket_type::req);
                socket_.set(zmq::sockopt::linger, 0);
                socket_.connect(endpoint_);
            }
            socket_.send(frame(body), zmq::send_flags::none);
            Frames reply;
            if (recv_within(socket_, reply, timeout_) && reply.size() == 1 && equals(reply[0], body))
                return reply[0].to_string();
            socket_.close();  // a lost or wrong reply: a fresh socket, so nothing stale reaches us
        }
        return std::nullopt;
    }
    int retries() const { return retries_; }

  private:
    zmq::context_t& context_;
    std::string endpoint_;
    Duration timeout_;
    int attempts_;
    zmq::socket_t socket_;
    int retries_ = 0;
};

}  // namespace pirates::test
