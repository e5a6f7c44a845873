#pragma once
// Freelance model 2, shotgun: one DEALER connected to every server; each request goes to all of them as
// `"" sequence body...`, and the first reply `"" sequence "OK"` whose sequence is the request in flight wins.
// Late replies (the slower servers), duplicates and replies to abandoned requests are discarded, never
// returned.
#include <pirates/common/clock.hpp>
#include <pirates/freelance/answer.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace pirates::freelance {

struct ShotgunOptions {
    Duration timeout{2500};  // global, per request
};

struct ShotgunCounters {
    std::uint64_t answers = 0;
    std::uint64_t stale = 0;      // late, duplicate or for an abandoned request
    std::uint64_t malformed = 0;  // no delimiter, no sequence
    std::uint64_t timeouts = 0;
};

// The socket-free logic: sequence numbers and which reply is the answer.
class ShotgunCore {
  public:
    explicit ShotgunCore(Duration timeout) : timeout_(timeout) {}
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
    TimePoint deadline() const { return deadline_; }
    Duration timeout() const { return timeout_; }
    const ShotgunCounters& counters() const { return counters_; }

  private:
    Duration timeout_;
    std::uint64_t sequence_ = 0;
    std::string current_;
    bool in_flight_ = false;
    TimePoint deadline_{};
    ShotgunCounters counters_;
};

class ShotgunClient {
  public:
    explicit ShotgunClient(zmq::context_t& context, ShotgunOptions options = {});
    void connect(const std::string& endpoint);
    std::size_t servers() const { return servers_; }
    // One request to every server; the first matching reply, or an Error after the global timeout.
    Reply request(const Frames& body);
    const ShotgunCounters& counters() const { return core_.counters(); }

  private:
    zmq::socket_t socket_;
    ShotgunCore core_;
    std::size_t servers_ = 0;
};

}  // namespace pirates::freelance
