#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/majordomo/protocol.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <thread>

namespace pirates::majordomo {

namespace {
RetryPolicy policy_of(const ClientOptions& o) {
    return RetryPolicy{o.timeout, std::max(o.attempts, 1)};
}
}  // namespace

Client::Client(zmq::context_t& context, ClientOptions options, const ClockSource& clock)
    : context_(context),
      options_(std::move(options)),
      clock_(clock),
      retry_(policy_of(options_)),
      endpoints_(split_list(options_.connect)),
      failover_(endpoints_.size(), options_.settle) {
    options_.attempts = retry_.policy().attempts;
    reopen();
}

void Client::reopen() {
    if (socket_) {
        socket_.close();
        ++stats_.reconnects;
    }
    SocketOptions o;  // linger 0: a lost request goes with it
    o.security = options_.security;
    socket_ = make_socket(context_, zmq::socket_type::dealer, o);
    connect_endpoint(socket_, endpoints_[failover_.current()]);
}

// Several brokers: close the silent one's socket, let the pair settle, connect to the next. False when
// stopped while settling (the request is not resent).
bool Client::fail_over() {
    socket_.close();  // linger 0: the request in flight is gone with it
    ++stats_.reconnects;
    const std::string& from = endpoints_[failover_.current()];
    (void)failover_.on_silence(clock_.now());
    log::debug("client: no reply from {} in {} ms, failing over after {} ms", from, options_.timeout.count(),
               options_.settle.count());
    // The settle delay is the protocol's pause, not a wait for an event; sliced so that a stop is seen.
    while (!stop_->stop_requested() && !failover_.tick(clock_.now()))
        std::this_thread::sleep_for(std::min(until(clock_.now(), failover_.settled_at()), Duration{50}));
    if (stop_->stop_requested()) return false;
    ++stats_.failovers;
    log::info("client: failed over from {} to {}", from, current_endpoint());
    reopen();
    return true;
}

void Client::transmit(std::string_view service) {
    if (!socket_) reopen();  // closed by a stop
    // A shared copy: the request stays in the RetryCore for the next attempt. A DEALER queues the request on
    // its connecting pipe; "would block" (high-water mark) is a lost request: the timeout moves things on.
    if (!encode_client_request(options_.version, service, share(retry_.request()))
             .send(socket_, ZMQ_DONTWAIT))
        log::debug("client: request to '{}' would block; waiting for the timeout", service);
}

Outcome<Frames> Client::give_up() {
    const int attempts = retry_.attempts_used();
    retry_.take_request();
    ++stats_.gave_up;
    reopen();  // a reply to the abandoned request must not reach the next one
    return Outcome<Frames>::failed(Status::gave_up, attempts,
                                   fmt::format("no reply after {} attempts", attempts));
}

Outcome<Frames> Client::interrupt() {
    const int attempts = retry_.attempts_used();
    retry_.take_request();
    ++stats_.interrupted;
    socket_.close();  // a late reply must not reach a next request; reopened when one is sent
    return Outcome<Frames>::failed(Status::interrupted, attempts, "interrupted");
}

Outcome<Frames> Client::request(std::string_view service, Frames body, const PartialHandler& on_partial) {
    ++stats_.requests;
    if (stop_->stop_requested()) {  // stopped: the request never leaves
        ++stats_.interrupted;
        return Outcome<Frames>::failed(Status::interrupted, 0, "interrupted");
    }
    RetryCore::Action action = retry_.start(std::move(body), clock_.now());
    while (true) {
        switch (action) {
            case RetryCore::Action::send:
                transmit(service);
                break;
            case RetryCore::Action::resend:
                if (failover_.can_fail_over()) {
                    if (!fail_over()) return interrupt();
                    retry_.rearm(clock_.now());  // the attempt's timeout counts from now, not the settle
                } else {
                    log::debug("client: no reply from '{}' in {} ms, reopening and resending (attempt {})",
                               service, options_.timeout.count(), retry_.attempts_used());
                    reopen();
                }
                ++stats_.retries;
                transmit(service);
                break;
            case RetryCore::Action::give_up:
                return give_up();
            case RetryCore::Action::deliver:  // delivered where the reply is taken, below
            case RetryCore::Action::wait:
                break;
        }

        switch (wait_readable(socket_, retry_.deadline(), clock_, *stop_)) {
            case WaitResult::stopped:
                return interrupt();
            case WaitResult::timeout:
                action = retry_.on_timeout(clock_.now());
                continue;
            case WaitResult::ready:
                break;
        }
        Frames m;
        if (!recv_nowait(socket_, m)) {
            action = retry_.on_timeout(clock_.now());
            continue;
        }
        auto reply = decode_client_answer(std::move(m), options_.version);
        if (!reply) {
            ++stats_.malformed;
            log::debug("client: discarded malformed reply: {}", reply.error().reason);
        } else if (options_.version != Version::majortomo && !equals(reply->service, service)) {
            ++stats_.discarded;  // (majortomo replies carry no service frame)
            log::debug("client: discarded reply for service {}", printable(reply->service));
        } else if (!reply->final) {
            ++stats_.partials;
            if (on_partial) on_partial(std::move(reply->body));
        } else if (retry_.on_reply(reply->body, clock_.now()) == RetryCore::Action::deliver) {
            const int attempts = retry_.attempts_used();
            retry_.take_request();
            ++stats_.replies;
            return Outcome<Frames>::answered(std::move(reply->body), attempts);
        }
        // Not the answer: the wait goes on, unless this attempt's time is up meanwhile.
        action = retry_.on_timeout(clock_.now());
    }
}

}  // namespace pirates::majordomo
