#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/majordomo/protocol.hpp>

#include <algorithm>

namespace pirates::majordomo {

std::string_view to_string(Status s) {
    switch (s) {
        case Status::ok:
            return "ok";
        case Status::timeout:
            return "timeout";
        case Status::stopped:
            return "stopped";
    }
    return "?";
}

Client::Client(zmq::context_t& context, ClientConfig config, const ClockSource& clock)
    : context_(context), config_(std::move(config)), clock_(clock) {
    config_.attempts = std::max(config_.attempts, 1);
    reopen();
}

void Client::reopen() {
    if (socket_) socket_.close();
    socket_ = zmq::socket_t(context_, zmq::socket_type::dealer);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(config_.broker);
}

Response Client::request(std::string_view service, Frames body) {
    ++stats_.requests;
    RetryState retry(RetryPolicy{config_.timeout, config_.attempts});
    Response out;
    while (retry.begin_attempt(clock_.now())) {
        out.attempts = retry.attempts_used();
        if (retry.attempts_used() > 1) {
            ++stats_.retries;
            log::debug("client: no reply from '{}' in {} ms, reopening and resending (attempt {})", service,
                       config_.timeout.count(), retry.attempts_used());
            reopen();
        }
        // The last attempt may use the body itself; earlier ones send a shared copy kept for resending.
        Frames message = retry.exhausted() ? std::move(body) : share(body);
        try {
            encode_client_request(service, std::move(message)).send(socket_);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
        while (true) {
            if (stop_requested()) {
                out.status = Status::stopped;
                return out;
            }
            TimePoint now = clock_.now();
            if (retry.timed_out(now)) break;
            zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
            try {
                zmq::poll(&item, 1, std::min(until(now, retry.deadline()), Duration{100}));
            } catch (const zmq::error_t& e) {
                if (e.num() != EINTR) throw;
                continue;
            }
            if (!(item.revents & ZMQ_POLLIN)) continue;
            Frames m;
            if (!m.recv(socket_, ZMQ_DONTWAIT)) continue;
            auto reply = decode_client_reply(std::move(m));
            if (!reply) {
                ++stats_.discarded;
                log::debug("client: discarded malformed reply: {}", reply.error().reason);
                continue;
            }
            if (!equals(reply->service, service)) {
                ++stats_.discarded;
                log::debug("client: discarded reply for service {}", printable(reply->service));
                continue;
            }
            ++stats_.answered;
            out.status = Status::ok;
            out.body = std::move(reply->body);
            return out;
        }
    }
    ++stats_.gave_up;
    reopen();  // a reply to the abandoned request must not reach the next one
    out.status = Status::timeout;
    return out;
}

}  // namespace pirates::majordomo
