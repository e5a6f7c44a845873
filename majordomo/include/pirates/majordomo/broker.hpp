#pragma once
// The Majordomo broker driver: one ROUTER socket for clients and workers, feeding BrokerCore.
//
// The ROUTER is ZMQ_ROUTER_MANDATORY: a message for a peer that is gone fails with EHOSTUNREACH and is
// dropped (counted in stats().unroutable), a peer whose pipe is full (high-water mark) is dropped the same
// way rather than blocking the broker. It never dies from what a peer sends.
#include <pirates/common/clock.hpp>
#include <pirates/majordomo/broker_core.hpp>

#include <atomic>
#include <string>

namespace pirates::majordomo {

struct BrokerOptions {
    std::string bind = "tcp://*:5555";
    BrokerConfig core;
    int hwm = 10000;                 // send and receive high-water marks of the ROUTER
    Duration summary_interval{0};    // >0: log a one-line summary at this interval
    bool disconnect_on_stop = true;  // say DISCONNECT to every worker when stopping
};

class Broker {
  public:
    // Binds at once (bind_and_announce: logs "bound broker <endpoint>").
    Broker(zmq::context_t& context, BrokerOptions options, const ClockSource& clock = steady_clock());
    // The endpoint actually bound.
    const std::string& endpoint() const { return endpoint_; }
    // Serve until stop() (from another thread too) or a stop signal.
    void run();
    void stop() { stop_ = true; }
    // Read the core only from the thread running run(), or after it returned.
    const BrokerCore& core() const { return core_; }
    std::string summary() const;

  private:
    void send_all();

    zmq::socket_t socket_;
    BrokerOptions options_;
    const ClockSource& clock_;
    BrokerCore core_;
    BrokerCore::Outbox out_;
    std::string endpoint_;
    std::atomic<bool> stop_{false};
};

}  // namespace pirates::majordomo
