#pragma once
// The Lazy Pirate server: an echo server that looks like a REP socket on the wire, with fault injection.
//
// It is a ROUTER socket keeping REP's envelope rules exactly: a request arrives as `[identity] ... ""
// body...` (every frame up to the first empty one is the envelope), and the reply goes back with the same
// envelope and the body unchanged. A REQ client cannot tell it from REP; unlike REP it can leave a request
// unanswered (--drop-every) and answer late without blocking other clients (--slow-after/--delay-ms).
//
// Memory is bounded in bytes: libzmq refuses frames over max_message_bytes (the peer is disconnected), a
// client's pipe holds at most `hwm` replies (with ZMQ_ROUTER_MANDATORY a reply to a client that does not read
// is dropped and counted, never blocking), and late replies (--slow-after) are held up to max_queue_bytes.
#include <pirates/common/chaos.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/held_replies.hpp>
#include <pirates/common/limits.hpp>
#include <pirates/common/outbox.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/result.hpp>
#include <pirates/common/security.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pirates::lazy_pirate {

// What was done with one request.
struct EchoDecision {
    Chaos::Action action = Chaos::Action::answer;
    long number = 0;        // the request's number, from 1
    Duration delay{0};      // delay_then_answer: the reply is held in the core until now + delay
    bool overflow = false;  // a late answer (delay_then_answer) dropped because max_held_bytes are held
};

struct EchoServerStats {
    std::uint64_t requests = 0;          // valid requests
    std::uint64_t replies = 0;           // replies sent (at once or late)
    std::uint64_t dropped = 0;           // requests left unanswered on purpose (chaos), overflow included
    std::uint64_t dropped_overflow = 0;  // late answers dropped because max_held_bytes were held
    std::uint64_t malformed = 0;         // messages a REP socket would drop (no delimiter, no body)
    std::uint64_t unroutable = 0;        // replies not delivered (the two below)
    std::uint64_t replies_to_gone_clients = 0;  // the client had gone
    std::uint64_t replies_would_block = 0;      // the client's pipe was full (it does not read its replies)
};

// The server's logic, without a socket: replies leave through the Outbox (channel 0, the ROUTER). Late
// answers (Chaos delay_then_answer) are held here until tick() finds them due; their bytes (byte_size of
// envelope + body) are bounded by max_held_bytes: a late answer that would go over is dropped (the newest
// one) and counted.
class EchoServerCore {
  public:
    explicit EchoServerCore(Chaos chaos = {}, std::size_t max_held_bytes = kDefaultMaxQueueBytes)
        : chaos_(chaos), late_(max_held_bytes) {}
    // `message` as the ROUTER received it. A message with no empty delimiter, or nothing after it, is one a
    // REP socket would drop: an Error (counted in malformed), which does not count as a request. Otherwise
    // the decision: answered (sent to `out`), held to answer late, dropped, or crash/hang for the driver.
    Result<EchoDecision> on_message(Frames&& message, TimePoint now, Outbox& out);
    // Sends the late answers whose time has come, oldest first.
    void tick(TimePoint now, Outbox& out);
    // When the oldest late answer is due; TimePoint::max() when none is held.
    TimePoint next_deadline() const { return late_.next_deadline().value_or(TimePoint::max()); }
    const EchoServerStats& stats() const { return stats_; }

    std::uint64_t requests() const { return stats_.requests; }
    std::size_t held() const { return late_.size(); }
    std::size_t held_bytes() const { return late_.bytes(); }

  private:
    void send(Frames& reply, Outbox& out);

    Chaos chaos_;
    HeldReplies late_;
    std::vector<Frames> due_;
    EchoServerStats stats_;
};
using EchoCore = EchoServerCore;  // the earlier name

struct EchoServerOptions {
    std::string bind = "tcp://*:5555";
    Chaos chaos;
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // larger inbound frames: the peer is dropped
    std::size_t max_queue_bytes = kDefaultMaxQueueBytes;      // late answers held (--slow-after)
    int hwm = 1000;       // messages per peer and direction (ZMQ_SNDHWM and ZMQ_RCVHWM)
    Security security{};  // CURVE (security.hpp); plaintext if empty
};
using EchoServerConfig = EchoServerOptions;

// The driver: binds (announcing "bound server <endpoint>"), then serves until request_stop(). A crash
// decision exits the process at once; a hang decision stays alive and silent until stopped, then exits the
// process (status 0, no summary): it simulates a process that does nothing.
class EchoServer {
  public:
    EchoServer(zmq::context_t& context, EchoServerOptions options, const ClockSource& clock = steady_clock());
    EchoServer(const EchoServer&) = delete;
    EchoServer& operator=(const EchoServer&) = delete;
    const std::string& endpoint() const { return endpoint_; }
    void run();
    // Thread-safe: run() returns within one poll slice.
    void request_stop() { reactor_.request_stop(); }
    void stop() { request_stop(); }

    const EchoServerStats& stats() const { return core_.stats(); }
    std::uint64_t answered() const { return core_.stats().replies; }
    std::uint64_t dropped() const { return core_.stats().dropped; }
    // Replies not delivered: the client had gone, or its pipe was full (it does not read its replies).
    std::uint64_t peer_gone() const { return core_.stats().replies_to_gone_clients; }
    std::uint64_t would_block() const { return core_.stats().replies_would_block; }
    const EchoServerCore& core() const { return core_; }

  private:
    class Sender final : public Outbox {
      public:
        explicit Sender(zmq::socket_t& socket) : socket_(socket) {}
        SendResult send(Frames& message, Channel) override;

      private:
        zmq::socket_t& socket_;
    };

    bool on_readable();
    void on_late();
    void arm_late_timer();
    void hang();

    const ClockSource& clock_;
    zmq::socket_t socket_;
    std::string endpoint_;
    EchoServerCore core_;
    Reactor reactor_;
    Sender sender_;
    std::optional<Reactor::TimerId> late_timer_;
    bool hung_ = false;
};

}  // namespace pirates::lazy_pirate
