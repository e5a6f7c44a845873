#pragma once
// Freelance model 2, shotgun: one DEALER connected to every server; each request goes to all of them as
// `"" sequence body...`, and the first reply `"" sequence "OK"` whose sequence is the request in flight wins.
// Late replies (the slower servers), duplicates and replies to abandoned requests are discarded, never
// returned.
#include <pirates/common/clock.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/stop.hpp>
#include <pirates/freelance/answer.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pirates::freelance {

struct ShotgunOptions {
    Duration timeout{2500};  // global, per request
    Security security{};     // CURVE (security.hpp); plaintext if empty
};

struct ShotgunClientStats {
    std::uint64_t answers = 0;
    std::uint64_t stale = 0;      // late, duplicate or for an abandoned request
    std::uint64_t malformed = 0;  // no delimiter, no sequence
    std::uint64_t timeouts = 0;
    std::uint64_t interrupted = 0;  // requests ended by request_stop()
};
using ShotgunCounters = ShotgunClientStats;  // the former name

// The socket-free logic: sequence numbers and which reply is the answer.
class ShotgunClientCore {
  public:
    explicit ShotgunClientCore(Duration timeout) : timeout_(timeout) {}
    // Start a request at `now`: the sequence text to send. Whatever was in flight before is abandoned.
    std::string begin(TimePoint now);
    enum class Verdict { answer, stale, malformed };
    // `reply` as the DEALER receives it: "" sequence body... On `answer`, `reply` is left holding the body
    // and the request is no longer in flight (so a second reply with the same sequence is stale).
    Verdict on_reply(Frames& reply);
    bool in_flight() const { return in_flight_; }
    bool expired(TimePoint now) const { return in_flight_ && now >= deadline_; }
    // The deadline passed: give up on the request (its late replies become stale).
    void time_out();
    // request_stop(): give up on the request (its late replies become stale).
    void interrupt();
    TimePoint deadline() const { return deadline_; }
    Duration timeout() const { return timeout_; }
    const ShotgunClientStats& stats() const { return counters_; }

  private:
    Duration timeout_;
    std::uint64_t sequence_ = 0;
    std::string current_;
    bool in_flight_ = false;
    TimePoint deadline_{};
    ShotgunClientStats counters_;
};
using ShotgunCore = ShotgunClientCore;  // the former name

class ShotgunClient {
  public:
    explicit ShotgunClient(zmq::context_t& context, ShotgunOptions options = {},
                           const ClockSource& clock = steady_clock());
    void connect(const std::string& endpoint);
    std::size_t servers() const { return servers_; }
    // One request to every server; the first matching reply, or an Error after the global timeout
    // ("interrupted" once request_stop() was called).
    Reply request(const Frames& body);
    // From any thread: the request in flight, if any, fails with "interrupted" within a few ms, and so does
    // every later request.
    void request_stop() { stop_.request_stop(); }
    const ShotgunClientStats& stats() const { return core_.stats(); }

  private:
    const ClockSource& clock_;
    StopSource stop_;
    zmq::socket_t socket_;
    ShotgunClientCore core_;
    std::size_t servers_ = 0;
};

}  // namespace pirates::freelance
