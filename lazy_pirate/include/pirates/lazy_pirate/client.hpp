#pragma once
// Lazy Pirate client: a REQ socket with client-side reliability. Each request is sent, and the reply awaited
// up to the policy's timeout; on silence the socket is closed (linger 0), a new one opened and connected, and
// the request sent again, up to the policy's number of attempts. Running out of attempts is an outcome, not
// an exception:
//
//     pirates::lazy_pirate::Client client(ctx, "tcp://127.0.0.1:5555", {std::chrono::milliseconds(2500), 3});
//     auto outcome = client.request("hello");
//     if (outcome) use(outcome.reply); else report(outcome.status);   // gave_up (or interrupted)
//
// The retry logic is the common RetryCore (common/retry.hpp); Client is its driver. A reply that the
// ReplyCheck refuses is discarded (logged, counted), never returned: the attempt counts as failed and the
// request goes again on a new socket. One request at a time; not thread-safe, except request_stop().
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/outcome.hpp>
#include <pirates/common/retry.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/stop.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pirates::lazy_pirate {

// The retry vocabulary, under this module's name too (lazy_pirate::echo_check() and so on).
using pirates::echo_check;
using pirates::ReplyCheck;
using pirates::RetryPolicy;
using pirates::same_frames;

// Totals over the client's life.
struct ClientStats {
    std::uint64_t requests = 0;     // request() calls
    std::uint64_t replies = 0;      // answered
    std::uint64_t gave_up = 0;      // unanswered after every attempt
    std::uint64_t interrupted = 0;  // cut short by request_stop()
    std::uint64_t retries = 0;      // resends (attempts after the first)
    std::uint64_t reconnects = 0;   // sockets closed and reopened (retries, and after giving up)
    std::uint64_t discarded = 0;    // replies that did not answer the request in flight
};

struct ClientOptions {
    // Which replies answer a request; empty: any reply (right for REQ). lpclient uses echo_check().
    ReplyCheck check;
    // Longest single wait, so that request_stop() from another thread is noticed promptly.
    Duration poll_slice{100};
    Security security{};  // CURVE (security.hpp); plaintext if empty
};

class Client {
  public:
    Client(zmq::context_t& context, std::string endpoint, RetryPolicy policy = {}, ClientOptions options = {},
           const ClockSource& clock = steady_clock());
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    Client(Client&&) = default;  // movable (e.g. into a container); not assignable (it keeps the context)

    // Send `request` (one or more frames) and wait for its reply, retrying as the policy says: `reply`,
    // `gave_up` (every attempt unanswered or answered wrongly) or `interrupted` (request_stop()).
    [[nodiscard]] Outcome<Frames> request(Frames request);
    // One-frame request.
    [[nodiscard]] Outcome<Frames> request(std::string_view body);
    [[nodiscard]] Outcome<Frames> request(const std::string& body) { return request(std::string_view(body)); }
    [[nodiscard]] Outcome<Frames> request(const char* body) { return request(std::string_view(body)); }

    // Thread-safe. A request waiting returns `interrupted` within one poll slice; from then on every request
    // returns `interrupted` at once, without sending.
    void request_stop() { stop_->request_stop(); }
    bool stop_requested() const { return stop_->stop_requested(); }

    const ClientStats& stats() const { return stats_; }
    const std::string& endpoint() const { return endpoint_; }
    const RetryPolicy& policy() const { return retry_.policy(); }

  private:
    void open();
    void close();
    bool send_request();
    Outcome<Frames> finish(Status status, Frames reply);

    zmq::context_t& context_;
    std::string endpoint_;
    ClientOptions options_;
    const ClockSource& clock_;
    RetryCore retry_;
    std::optional<zmq::socket_t> socket_;
    std::unique_ptr<StopSource> stop_ = std::make_unique<StopSource>();  // on the heap: Client stays movable
    ClientStats stats_;
};

}  // namespace pirates::lazy_pirate
