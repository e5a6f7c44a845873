#pragma once
// The Lazy Pirate server: an echo server that looks like a REP socket on the wire, with fault injection.
//
// It is a ROUTER socket keeping REP's envelope rules exactly: a request arrives as `[identity] ... ""
// body...` (every frame up to the first empty one is the envelope), and the reply goes back with the same
// envelope and the body unchanged. A REQ client cannot tell it from REP; unlike REP it can leave a request
// unanswered
// (--drop-every) and answer late without blocking other clients (--slow-after/--delay-ms).
#include <pirates/common/chaos.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/result.hpp>

#include <cstdint>
#include <string>

namespace pirates::lazy_pirate {

// What to do with one request.
struct EchoDecision {
    Chaos::Action action = Chaos::Action::answer;
    long number = 0;    // the request's number, from 1
    Frames reply;       // envelope + body, ready for the ROUTER (answer and delay_then_answer)
    Duration delay{0};  // for delay_then_answer
};

// The server's logic, without a socket.
class EchoCore {
  public:
    explicit EchoCore(Chaos chaos = {}) : chaos_(chaos) {}
    // `message` as the ROUTER received it. A message with no empty delimiter, or nothing after it, is one a
    // REP socket would drop: an Error (counted in invalid()), which does not count as a request.
    Result<EchoDecision> on_request(Frames message);

    std::uint64_t requests() const { return requests_; }
    std::uint64_t invalid() const { return invalid_; }

  private:
    Chaos chaos_;
    std::uint64_t requests_ = 0;
    std::uint64_t invalid_ = 0;
};

struct EchoServerConfig {
    std::string bind = "tcp://*:5555";
    Chaos chaos;
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
    const EchoCore& core() const { return core_; }

  private:
    bool on_readable();
    void send(Frames reply);

    zmq::socket_t socket_;
    std::string endpoint_;
    EchoCore core_;
    Reactor reactor_;
    std::uint64_t answered_ = 0;
    std::uint64_t dropped_ = 0;
};

}  // namespace pirates::lazy_pirate
