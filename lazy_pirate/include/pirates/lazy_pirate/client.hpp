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
// A reply that the ReplyCheck refuses is discarded (logged, counted), never returned: the attempt counts as
// failed and the request goes again on a new socket. One request at a time; not thread-safe.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/retry.hpp>
#include <pirates/lazy_pirate/attempts.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pirates::lazy_pirate {

struct Outcome {
    enum class Status {
        reply,        // `reply` answers the request
        gave_up,      // every attempt timed out (or was answered wrongly): the server is unreachable
        interrupted,  // a stop signal (SIGINT/SIGTERM, request_stop()) arrived while waiting
    };
    Status status = Status::gave_up;
    Frames reply;       // the reply, when status == reply
    int attempts = 0;   // attempts used for this request (1 = answered at once)
    int discarded = 0;  // replies refused by the ReplyCheck for this request

    bool ok() const { return status == Status::reply; }
    explicit operator bool() const { return ok(); }
    int retries() const { return attempts > 0 ? attempts - 1 : 0; }
};

const char* to_string(Outcome::Status status);

// Totals over the client's life.
struct Counters {
    std::uint64_t requests = 0;     // request() calls
    std::uint64_t replies = 0;      // answered
    std::uint64_t gave_up = 0;      // unanswered after every attempt
    std::uint64_t interrupted = 0;  // cut short by a stop signal
    std::uint64_t retries = 0;      // resends (attempts after the first)
    std::uint64_t reconnects = 0;   // sockets closed and reopened (retries, and after giving up)
    std::uint64_t discarded = 0;    // replies that did not answer the request in flight
};

struct ClientOptions {
    // Which replies answer a request; empty: any reply (right for REQ). lpclient uses echo_check().
    ReplyCheck check;
    // Return `interrupted` when SIGINT/SIGTERM (install_stop_signals) or request_stop() set the stop flag.
    bool stop_on_signal = true;
    // Longest single poll, so that a stop is noticed promptly.
    Duration poll_slice{100};
};

class Client {
  public:
    Client(zmq::context_t& context, std::string endpoint, RetryPolicy policy = {},
           ClientOptions options = {});
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    Client(Client&&) = default;  // movable (e.g. into a container); not assignable (it keeps the context)

    // Send `request` (one or more frames) and wait for its reply, retrying as the policy says.
    Outcome request(Frames request);
    // One-frame request.
    Outcome request(std::string_view body);
    Outcome request(const std::string& body) { return request(std::string_view(body)); }
    Outcome request(const char* body) { return request(std::string_view(body)); }

    const Counters& counters() const { return counters_; }
    const std::string& endpoint() const { return endpoint_; }
    const RetryPolicy& policy() const { return attempts_.policy(); }

  private:
    void open();
    void close();
    bool send_request();

    zmq::context_t& context_;
    std::string endpoint_;
    ClientOptions options_;
    Attempts attempts_;
    std::optional<zmq::socket_t> socket_;
    Counters counters_;
};

}  // namespace pirates::lazy_pirate
