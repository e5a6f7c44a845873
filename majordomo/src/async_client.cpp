#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/async_client.hpp>
#include <pirates/majordomo/protocol.hpp>

#include <algorithm>

namespace pirates::majordomo {

AsyncClient::AsyncClient(zmq::context_t& context, AsyncClientConfig config, const ClockSource& clock)
    : socket_(context, zmq::socket_type::dealer), config_(std::move(config)), clock_(clock) {
    config_.attempts = std::max(config_.attempts, 1);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::sndhwm, 100000);
    socket_.set(zmq::sockopt::rcvhwm, 100000);
    socket_.connect(config_.broker);
}

void AsyncClient::transmit(std::uint64_t id, Pending& p, TimePoint now) {
    ++p.attempts;
    if (p.attempts > 1) ++stats_.retries;
    Frames body = share(p.body);
    body.push(make_correlation_frame(id));
    try {
        if (!encode_client_request(p.service, std::move(body)).send(socket_, ZMQ_DONTWAIT))
            log::debug("async client: socket full, request {} waits for its retry", id);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
    }
    deadlines_.push_back(Deadline{now + config_.timeout, id, p.attempts});
}

std::uint64_t AsyncClient::send(std::string_view service, Frames body) {
    std::uint64_t id = next_id_++;
    ++stats_.sent;
    auto [it, inserted] = pending_.try_emplace(id, Pending{std::string(service), std::move(body), 0});
    transmit(id, it->second, clock_.now());
    return id;
}

TimePoint AsyncClient::next_deadline() const {
    return deadlines_.empty() ? TimePoint::max() : deadlines_.front().when;
}

void AsyncClient::on_timer() {
    const TimePoint now = clock_.now();
    while (!deadlines_.empty() && deadlines_.front().when <= now) {
        Deadline d = deadlines_.front();
        deadlines_.pop_front();
        auto it = pending_.find(d.id);
        if (it == pending_.end() || it->second.attempts != d.attempt) continue;  // answered or resent since
        Pending& p = it->second;
        if (p.attempts < config_.attempts) {
            log::debug("async client: request {} to '{}' timed out, resending", d.id, p.service);
            transmit(d.id, p, now);
            continue;
        }
        ++stats_.gave_up;
        completed_.push_back(Completion{d.id, Status::timeout, std::move(p.service), Frames(), p.attempts});
        pending_.erase(it);
    }
}

void AsyncClient::on_readable() {
    while (true) {
        Frames m;
        try {
            if (!m.recv(socket_, ZMQ_DONTWAIT)) return;
        } catch (const zmq::error_t& e) {
            if (e.num() == EINTR) return;
            throw;
        }
        auto reply = decode_client_reply(std::move(m));
        if (!reply || reply->body.empty() || !is_correlation_frame(reply->body.front())) {
            ++stats_.discarded;
            log::debug("async client: discarded a reply without correlation frame");
            continue;
        }
        std::uint64_t id = correlation_id(reply->body.front());
        auto it = pending_.find(id);
        if (it == pending_.end() || !equals(reply->service, it->second.service)) {
            ++stats_.stale;
            continue;
        }
        reply->body.pop();
        ++stats_.answered;
        completed_.push_back(Completion{id, Status::ok, std::move(it->second.service), std::move(reply->body),
                                        it->second.attempts});
        pending_.erase(it);
    }
}

std::optional<Completion> AsyncClient::recv(Duration timeout) {
    const TimePoint deadline = clock_.now() + timeout;
    while (true) {
        if (!completed_.empty()) {
            Completion c = std::move(completed_.front());
            completed_.pop_front();
            return c;
        }
        on_readable();
        TimePoint now = clock_.now();
        if (now >= next_deadline()) on_timer();
        if (!completed_.empty()) continue;
        if (now >= deadline || stop_requested()) return std::nullopt;
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        try {
            zmq::poll(&item, 1, std::min({until(now, deadline), until(now, next_deadline()), Duration{100}}));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
    }
}

}  // namespace pirates::majordomo
