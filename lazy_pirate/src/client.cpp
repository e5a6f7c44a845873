#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/lazy_pirate/client.hpp>

namespace pirates::lazy_pirate {

const char* to_string(Outcome::Status status) {
    switch (status) {
        case Outcome::Status::reply:
            return "reply";
        case Outcome::Status::gave_up:
            return "gave_up";
        case Outcome::Status::interrupted:
            return "interrupted";
    }
    return "?";
}

Client::Client(zmq::context_t& context, std::string endpoint, RetryPolicy policy, ClientOptions options)
    : context_(context),
      endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      attempts_(policy, options_.check) {
    if (options_.poll_slice.count() <= 0) options_.poll_slice = Duration{100};
}

void Client::open() {
    socket_.emplace(context_, zmq::socket_type::req);
    socket_->set(zmq::sockopt::linger, 0);
    socket_->connect(endpoint_);
}

void Client::close() {
    if (!socket_) return;
    socket_->set(zmq::sockopt::linger, 0);
    socket_.reset();
    ++counters_.reconnects;
}

bool Client::send_request() {
    if (!socket_) open();
    Frames copy = share(attempts_.request());
    try {
        // A REQ socket queues the request on its connecting pipe even before the TCP connection is up; "would
        // block" (high-water mark) is treated as a lost request: the timeout moves things on.
        if (!copy.send(*socket_, ZMQ_DONTWAIT)) {
            log::debug("lazy pirate: request to {} would block; waiting for the timeout", endpoint_);
            return false;
        }
    } catch (const zmq::error_t& e) {
        log::warn("lazy pirate: sending to {} failed: {}", endpoint_, e.what());
        return false;
    }
    return true;
}

Outcome Client::request(std::string_view body) {
    Frames m;
    m.add(frame(body));
    return request(std::move(m));
}

Outcome Client::request(Frames request) {
    ++counters_.requests;
    Outcome outcome;
    auto finish = [&](Outcome::Status status) {
        outcome.status = status;
        outcome.attempts = attempts_.attempts_used();
        outcome.discarded = attempts_.discarded();
        counters_.discarded += static_cast<std::uint64_t>(outcome.discarded);
        switch (status) {
            case Outcome::Status::reply:
                ++counters_.replies;
                break;
            case Outcome::Status::gave_up:
                ++counters_.gave_up;
                break;
            case Outcome::Status::interrupted:
                ++counters_.interrupted;
                break;
        }
        // A REQ socket still waiting for a reply cannot send again: start the next request on a new socket.
        if (status != Outcome::Status::reply) close();
        attempts_.take_request();
        return std::move(outcome);
    };

    const ClockSource& clock = steady_clock();
    Attempts::Action action = attempts_.start(std::move(request), clock.now());
    bool discarded_last = false;  // why the next attempt happens, for the log
    while (true) {
        switch (action) {
            case Attempts::Action::send:
                send_request();
                break;
            case Attempts::Action::resend:
                ++counters_.retries;
                log::warn("lazy pirate: {} from {}, retrying (attempt {} of {})",
                          discarded_last ? "wrong reply" : "no reply", endpoint_, attempts_.attempts_used(),
                          attempts_.policy().attempts);
                close();
                send_request();
                break;
            case Attempts::Action::deliver:
                return finish(Outcome::Status::reply);
            case Attempts::Action::give_up:
                log::warn("lazy pirate: {} unreachable, giving up after {} attempts", endpoint_,
                          attempts_.attempts_used());
                return finish(Outcome::Status::gave_up);
            case Attempts::Action::wait:
                break;
        }

        if (options_.stop_on_signal && stop_requested()) return finish(Outcome::Status::interrupted);
        if (!socket_) open();  // attempts == 0 never gets here; defensive for a failed send
        zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
        Duration wait = std::min(until(clock.now(), attempts_.deadline()), options_.poll_slice);
        try {
            zmq::poll(&item, 1, wait);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
        if (options_.stop_on_signal && stop_requested()) return finish(Outcome::Status::interrupted);

        Frames reply;
        discarded_last = false;
        if ((item.revents & ZMQ_POLLIN) && recv_nowait(*socket_, reply)) {
            action = attempts_.on_reply(reply, clock.now());
            if (action == Attempts::Action::deliver) {
                outcome.reply = std::move(reply);
            } else {
                discarded_last = true;
                log::warn(
                    "lazy pirate: discarded a reply from {} that does not answer the request in flight: {}",
                    endpoint_, printable(reply));
            }
        } else {
            action = attempts_.on_timeout(clock.now());
        }
    }
}

}  // namespace pirates::lazy_pirate
