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
#include <pirates/common/reactor.hpp>
#include <pirates/common/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pirates::lazy_pirate {

// What to do with one request.
struct EchoDecision {
    Chaos::Action action = Chaos::Action::answer;
    long number = 0;        // the request's number, from 1
    Frames reply;           // envelope + body, ready for the ROUTER (answer only)
    Duration delay{0};      // delay_then_answer: the reply is held in the core until now + delay
    bool overflow = false;  // a late answer (delay_then_answer) dropped because max_held_bytes are held
};

// The server's logic, without a socket. Late answers (Chaos delay_then_answer) are held here until
// take_due(); their bytes (byte_size of envelope + body) are bounded by max_held_bytes: a late answer that
// would go over is dropped (the newest one) and counted.
class EchoCore {
  public:
    explicit EchoCore(Chaos chaos = {}, std::size_t max_held_bytes = kDefaultMaxQueueBytes)
        : chaos_(chaos), late_(max_held_bytes) {}
    // `message` as the ROUTER received it. A message with no empty delimiter, or nothing after it, is one a
    // REP socket would drop: an Error (counted in invalid()), which does not count as a request.
    Result<EchoDecision> on_request(Frames message, TimePoint now);
    // Late answers whose time has come, oldest first, appended to `out`.
    void take_due(TimePoint now, std::vector<Frames>& out) { late_.take_due(now, out); }
    // When the oldest late answer is due; nullopt when none is held.
    std::optional<TimePoint> next_deadline() const { return late_.next_deadline(); }

    std::uint64_t requests() const { return requests_; }
    std::uint64_t invalid() const { return invalid_; }
    std::uint64_t dropped_overflow() const { return late_.dropped(); }
    std::size_t held() const { return late_.size(); }
    std::size_t held_bytes() const { return late_.bytes(); }

  private:
    Chaos chaos_;
    HeldReplies late_;
    std::uint64_t requests_ = 0;
    std::uint64_t invalid_ = 0;
};

struct EchoServerConfig {
    std::string bind = "tcp://*:5555";
    Chaos chaos;
    std::size_t max_message_bytes = kDefaultMaxMessageBytes;  // larger inbound frames: the peer is dropped
    std::size_t max_queue_bytes = kDefaultMaxQueueBytes;      // late answers held (--slow-after)
    int hwm = 1000;  // messages per peer and direction (ZMQ_SNDHWM and ZMQ_RCVHWM)
};

// The driver: binds (announcing "bound server <endpoint>"), then serves until stopped. A crash decision exits
// the process at once; a hang decision stays alive and silent until a stop signal.
class EchoServer {
  public:
    EchoServer(zmq::context_t& context, EchoServerConfig config);
    const std::string& endpoint() const { return endpoint_; }
    void run();
    void stop() { reactor_.stop(); }

    std::uint64_t answered() const { return answered_; }
    std::uint64_t dropped() const { return dropped_; }
    // Replies not delivered: the client had gone, or its pipe was full (it does not read its replies).
    std::uint64_t peer_gone() const { return peer_gone_; }
    std::uint64_t would_block() const { return would_block_; }
    const EchoCore& core() const { return core_; }

  private:
    bool on_readable();
    void on_late();
    void arm_late_timer();
    void send(Frames reply);

    zmq::socket_t socket_;
    std::string endpoint_;
    EchoCore core_;
    Reactor reactor_;
    std::optional<Reactor::TimerId> late_timer_;
    std::vector<Frames> due_;
    std::uint64_t answered_ = 0;
    std::uint64_t dropped_ = 0;
    std::uint64_t peer_gone_ = 0;
    std::uint64_t would_block_ = 0;
};

}  // namespace pirates::lazy_pirate
