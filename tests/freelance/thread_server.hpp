#pragma once
// A server written in the test: a ROUTER in a thread that answers each message with what `handler` builds by
// hand (or nothing), optionally `delay` late. For raw-frame tests of our clients and for slow servers.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace pirates::test {

class ThreadServer {
  public:
    // Gets the whole message as the ROUTER received it (identity first); returns the whole replies (maybe
    // none).
    using Handler = std::function<std::vector<Frames>(Frames&)>;
    // `identity_is_endpoint`: the ROUTER's routing identity is its own endpoint (a model-3 server).
    ThreadServer(zmq::context_t& context, Handler handler, Duration delay = Duration{0},
                 bool identity_is_endpoint = false);
    ~ThreadServer();
    const std::string& endpoint() const { return endpoint_; }
    int received() const { return received_.load(); }
    int sent() const { return sent_.load(); }

  private:
    zmq::socket_t socket_;
    std::string endpoint_;
    Handler handler_;
    Duration delay_;
    std::atomic<bool> stop_{false};
    std::atomic<int> received_{0}, sent_{0};
    std::thread thread_;
};

}  // namespace pirates::test
