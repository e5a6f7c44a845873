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
    // Counts published by the running loop after each turn, safe to read from any thread.
    struct Snapshot {
        std::size_t workers, idle, services, queued;
        std::uint64_t requests, replies, malformed, protocol_errors;
    };
    Snapshot snapshot() const;

  private:
    // Sends a message the core produced, at once (no queueing, no copy).
    void send_now(Frames& message);
    struct SocketOutbox final : Outbox {
        Broker* broker;
        explicit SocketOutbox(Broker* b) : broker(b) {}
        void send(Frames& message) override { broker->send_now(message); }
    };

    zmq::socket_t socket_;
    BrokerOptions options_;
    const ClockSource& clock_;
    BrokerCore core_;
    SocketOutbox out_{this};
    Frames in_;
    std::string endpoint_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> workers_{0}, idle_{0}, services_{0}, queued_{0};
    std::atomic<std::uint64_t> requests_{0}, replies_{0}, malformed_{0}, protocol_errors_{0};
    void publish();
};

}  // namespace pirates::majordomo
