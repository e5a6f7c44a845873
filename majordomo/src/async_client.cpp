#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/async_client.hpp>
#include <pirates/majordomo/protocol.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace pirates::majordomo {

namespace {
SocketOptions async_socket_options(const Security& security) {
    SocketOptions o;
    o.security = security;
    o.sndhwm = o.rcvhwm = 100000;  // many requests in flight on one socket
    return o;
}
}  // namespace

AsyncClient::AsyncClient(zmq::context_t& context, AsyncClientOptions options, const ClockSource& clock)
    : context_(context),
      options_(std::move(options)),
      endpoints_(split_list(options_.connect)),
      failover_(endpoints_.size(), options_.settle),
      clock_(clock) {
    options_.attempts = std::max(options_.attempts, 1);
    open();
}

void AsyncClient::open() {
    // Replacing the socket closes the old one (linger 0): nothing more comes from the broker left behind.
    socket_ = make_socket(context_, zmq::socket_type::dealer, async_socket_options(options_.security));
    connect_endpoint(socket_, endpoints_[failover_.current()]);
}

// The settle is over: connect to the next broker and send it every request still in flight, in the order
// they were sent.
void AsyncClient::switch_over(TimePoint now) {
    const std::string& from = endpoints_[failover_.current()];
    if (!failover_.tick(now)) return;
    ++stats_.failovers;
    log::info("async client: failed over from {} to {}, moving {} request(s)", from,
              endpoints_[failover_.current()], pending_.size());
    open();
    deadlines_.clear();  // every request gets a new deadline below
    std::vector<std::uint64_t> ids;
    ids.reserve(pending_.size());
    for (const auto& entry : pending_) ids.push_back(entry.first);
    std::sort(ids.begin(), ids.end());
    for (std::uint64_t id : ids) {
        auto it = pending_.find(id);
        Pending& p = it->second;
        if (p.attempts >= options_.attempts) {
            ++stats_.gave_up;
            const int attempts = p.attempts;
            complete(id, std::move(p),
                     Outcome<Frames>::failed(Status::gave_up, attempts,
                                             fmt::format("no reply after {} attempts", attempts)));
            pending_.erase(it);
            continue;
        }
        if (p.attempts > 0) ++stats_.moved;  // (0: sent while settling, its first send)
        transmit(id, p, now);
    }
}

void AsyncClient::transmit(std::uint64_t id, Pending& p, TimePoint now) {
    ++p.attempts;
    if (p.attempts > 1) ++stats_.retries;
    Frames body = share(p.body);
    body.push(make_correlation_frame(id));
    if (!encode_client_request(options_.version, p.service, std::move(body)).send(socket_, ZMQ_DONTWAIT))
        log::debug("async client: socket full, request {} waits for its retry", id);
    deadlines_.push_back(Deadline{now + options_.timeout, id, p.attempts});
}

void AsyncClient::complete(std::uint64_t id, Pending&& p, Outcome<Frames> outcome) {
    completed_.push_back(Completion{std::move(outcome), id, std::move(p.service)});
}

void AsyncClient::interrupt_all() {
    if (pending_.empty()) return;
    std::vector<std::uint64_t> ids;
    ids.reserve(pending_.size());
    for (const auto& entry : pending_) ids.push_back(entry.first);
    std::sort(ids.begin(), ids.end());  // completions in the order the requests were sent
    for (std::uint64_t id : ids) {
        Pending& p = pending_.at(id);
        ++stats_.interrupted;
        const int attempts = p.attempts;
        complete(id, std::move(p), Outcome<Frames>::failed(Status::interrupted, attempts, "interrupted"));
    }
    pending_.clear();
    deadlines_.clear();
}

std::uint64_t AsyncClient::send(std::string_view service, Frames body) {
    std::uint64_t id = next_id_++;
    ++stats_.requests;
    Pending p{std::string(service), std::move(body), 0};
    if (stop_->stop_requested()) {  // stopped: nothing leaves
        ++stats_.interrupted;
        complete(id, std::move(p), Outcome<Frames>::failed(Status::interrupted, 0, "interrupted"));
        return id;
    }
    auto [it, inserted] = pending_.try_emplace(id, std::move(p));
    // While settling before a fail-over it waits, and goes to the next broker with the others.
    if (!failover_.settling()) transmit(id, it->second, clock_.now());
    return id;
}

TimePoint AsyncClient::next_deadline() const {
    if (failover_.settling()) return failover_.settled_at();  // the attempts' deadlines wait for the switch
    return deadlines_.empty() ? TimePoint::max() : deadlines_.front().when;
}

void AsyncClient::on_timer() {
    if (stop_->stop_requested()) {
        interrupt_all();
        return;
    }
    const TimePoint now = clock_.now();
    if (failover_.settling()) {
        switch_over(now);
        return;
    }
    while (!deadlines_.empty() && deadlines_.front().when <= now) {
        Deadline d = deadlines_.front();
        deadlines_.pop_front();
        auto it = pending_.find(d.id);
        if (it == pending_.end() || it->second.attempts != d.attempt) continue;  // answered or resent since
        Pending& p = it->second;
        if (failover_.on_silence(now)) {
            // Several brokers: this one is presumed gone. Everything in flight moves after the settle.
            log::debug("async client: request {} to '{}' timed out on {}, failing over in {} ms", d.id,
                       p.service, endpoints_[failover_.current()], options_.settle.count());
            if (p.attempts >= options_.attempts) {  // its last attempt: it gives up now, the others move
                ++stats_.gave_up;
                const int attempts = p.attempts;
                complete(d.id, std::move(p),
                         Outcome<Frames>::failed(Status::gave_up, attempts,
                                                 fmt::format("no reply after {} attempts", attempts)));
                pending_.erase(it);
            }
            return;
        }
        if (p.attempts < options_.attempts) {
            log::debug("async client: request {} to '{}' timed out, resending", d.id, p.service);
            transmit(d.id, p, now);
            continue;
        }
        ++stats_.gave_up;
        const int attempts = p.attempts;
        complete(d.id, std::move(p),
                 Outcome<Frames>::failed(Status::gave_up, attempts,
                                         fmt::format("no reply after {} attempts", attempts)));
        pending_.erase(it);
    }
}

void AsyncClient::on_readable() {
    while (true) {
        Frames m;
        if (!recv_nowait(socket_, m)) return;
        auto reply = decode_client_answer(std::move(m), options_.version);
        if (!reply || reply->body.empty() || !is_correlation_frame(reply->body.front())) {
            ++stats_.malformed;
            log::debug("async client: discarded a reply without correlation frame");
            continue;
        }
        std::uint64_t id = correlation_id(reply->body.front());
        auto it = pending_.find(id);
        // (majortomo replies carry no service frame)
        if (it == pending_.end() ||
            (options_.version != Version::majortomo && !equals(reply->service, it->second.service))) {
            ++stats_.discarded;
            continue;
        }
        reply->body.pop();
        if (!reply->final) {
            ++stats_.partials;
            if (options_.on_partial) options_.on_partial(id, std::move(reply->body));
            continue;
        }
        ++stats_.replies;
        const int attempts = it->second.attempts;
        complete(id, std::move(it->second), Outcome<Frames>::answered(std::move(reply->body), attempts));
        pending_.erase(it);
    }
}

std::optional<Completion> AsyncClient::recv(Duration timeout) {
    const TimePoint deadline = clock_.now() + timeout;
    while (true) {
        if (stop_->stop_requested()) interrupt_all();
        if (!completed_.empty()) {
            Completion c = std::move(completed_.front());
            completed_.pop_front();
            return c;
        }
        if (stop_->stop_requested()) return std::nullopt;
        on_readable();
        if (clock_.now() >= next_deadline()) on_timer();
        if (!completed_.empty()) continue;
        if (clock_.now() >= deadline) return std::nullopt;
        // Ready, timed out or stopped: the next turn of the loop sorts it out.
        (void)wait_readable(socket_, std::min(deadline, next_deadline()), clock_, *stop_);
    }
}

}  // namespace pirates::majordomo
