#include <pirates/binary_star/client.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/socket.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <thread>

namespace pirates::binary_star {

namespace {
RetryPolicy policy_of(const ClientOptions& o) {
    // attempts 0: never give up (as many attempts as an int holds: years at any sane timeout).
    return RetryPolicy{o.timeout, o.attempts > 0 ? o.attempts : std::numeric_limits<int>::max()};
}
}  // namespace

Client::Client(zmq::context_t& context, ClientOptions options, const ClockSource& clock)
    : context_(context), options_(std::move(options)), clock_(clock), retry_(policy_of(options_)) {
    if (options_.connect.empty())
        throw std::invalid_argument("binary_star::Client needs at least one server");
    open();
}

Client::~Client() = default;

void Client::open() {
    if (socket_) {
        socket_.reset();  // closes the old REQ (linger 0): whatever was in flight is gone with it
        ++stats_.reconnects;
    }
    SocketOptions socket_options;
    socket_options.security = options_.security;
    socket_ = std::make_unique<zmq::socket_t>(make_socket(context_, zmq::socket_type::req, socket_options));
    connect_endpoint(*socket_, options_.connect[current_]);
}

void Client::transmit() {
    // A REQ connected (not yet or no longer) to a peer queues the message; "would block" only at the HWM,
    // and then the timeout moves things on.
    if (!share(retry_.request()).send(*socket_, ZMQ_DONTWAIT))
        log::debug("send to {} would block", current_endpoint());
}

void Client::settle() {
    const TimePoint settled = clock_.now() + options_.settle;
    // The settle delay is the protocol's pause, not a wait for an event; sliced so that a stop is seen.
    while (!stop_.stop_requested() && clock_.now() < settled)
        std::this_thread::sleep_for(std::min(until(clock_.now(), settled), Duration{50}));
}

Outcome<Answer> Client::interrupt(int attempts) {
    retry_.take_request();
    ++stats_.interrupted;
    return Outcome<Answer>::failed(Status::interrupted, attempts, "interrupted");
}

Outcome<Answer> Client::request(Frames request) {
    if (request.empty()) return Outcome<Answer>::failed(Status::gave_up, 0, "empty request");
    ++stats_.requests;
    if (stop_.stop_requested()) {  // stopped: the request never leaves
        ++stats_.interrupted;
        return Outcome<Answer>::failed(Status::interrupted, 0, "interrupted");
    }
    const TimePoint start = clock_.now();
    RetryCore::Action action = retry_.start(std::move(request), start);
    while (true) {
        switch (action) {
            case RetryCore::Action::send:
                transmit();
                break;
            case RetryCore::Action::resend: {
                // Fail over: close now, let the pair settle, then ask the other server.
                const std::size_t from = current_;
                socket_.reset();
                ++stats_.reconnects;
                log::debug("no reply from {} in {} ms, failing over after {} ms", options_.connect[from],
                           options_.timeout.count(), options_.settle.count());
                settle();
                current_ = (current_ + 1) % options_.connect.size();
                open();
                if (on_switch) on_switch(from, current_);
                if (stop_.stop_requested()) return interrupt(retry_.attempts_used() - 1);  // not resent
                ++stats_.retries;
                retry_.rearm(
                    clock_.now());  // the attempt's timeout counts from now, not from before the settle
                transmit();
                break;
            }
            case RetryCore::Action::give_up: {
                const int attempts = retry_.attempts_used();
                retry_.take_request();
                ++stats_.gave_up;
                open();  // the REQ socket waits for a reply that will not come: start clean for the next
                         // request
                return Outcome<Answer>::failed(Status::gave_up, attempts,
                                               fmt::format("no reply after {} attempts", options_.attempts));
            }
            case RetryCore::Action::deliver:  // delivered where the reply is taken, below
            case RetryCore::Action::wait:
                break;
        }

        switch (wait_readable(*socket_, retry_.deadline(), clock_, stop_)) {
            case WaitResult::stopped:
                open();  // the REQ still waits for a reply: start clean for a next request
                return interrupt(retry_.attempts_used());
            case WaitResult::timeout:
                action = retry_.on_timeout(clock_.now());
                continue;
            case WaitResult::ready:
                break;
        }
        Frames reply;
        if (recv_nowait(*socket_, reply) &&
            retry_.on_reply(reply, clock_.now()) == RetryCore::Action::deliver) {
            const int attempts = retry_.attempts_used();
            retry_.take_request();
            ++stats_.replies;
            const auto elapsed = std::chrono::duration_cast<Duration>(clock_.now() - start);
            return Outcome<Answer>::answered(Answer{std::move(reply), current_, elapsed}, attempts);
        }
        action = retry_.on_timeout(clock_.now());
    }
}

}  // namespace pirates::binary_star
