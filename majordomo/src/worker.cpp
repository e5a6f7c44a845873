#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker.hpp>

#include <algorithm>

namespace pirates::majordomo {

Worker::Worker(zmq::context_t& context, WorkerConfig config, const ClockSource& clock)
    : context_(context),
      config_(std::move(config)),
      clock_(clock),
      heartbeat_(config_.heartbeat, clock.now()),
      liveness_(std::max(config_.liveness, 1)),
      backoff_(config_.reconnect) {
    connect(clock_.now());
}

Worker::~Worker() {
    if (socket_) {
        try {
            send(encode_disconnect());
            socket_.set(zmq::sockopt::linger, 100);  // give the goodbye a moment to leave
        } catch (const zmq::error_t&) {
        }
    }
}

bool Worker::stopped() const {
    return stopped_ || stop_requested();
}

void Worker::connect(TimePoint now) {
    close_socket();
    SocketOptions options;
    options.max_message_bytes = config_.max_message_bytes;
    socket_ = make_socket(context_, zmq::socket_type::dealer, options);
    socket_.connect(config_.broker);
    ++connection_;
    reconnect_at_.reset();
    liveness_.heard();
    heard_ = false;
    heartbeat_.restart(now);
    ++stats_.connects;
    send(encode_ready(config_.service));
    log::debug("worker: connected to {} as '{}' (connection {})", config_.broker, config_.service,
               connection_);
}

void Worker::close_socket() {
    if (socket_) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.close();
    }
}

void Worker::schedule_reconnect(TimePoint now, Duration delay) {
    close_socket();
    if (delay.count() == 0) {
        connect(now);
        return;
    }
    reconnect_at_ = now + delay;
    log::debug("worker: reconnecting in {} ms", delay.count());
}

bool Worker::send(Frames&& message) {
    if (!socket_) return false;
    try {
        // DONTWAIT: a DEALER with no connected peer (broker down) would otherwise block; the message is lost,
        // which is what liveness and reconnection are for.
        return message.send(socket_, ZMQ_DONTWAIT);
    } catch (const zmq::error_t& e) {
        log::debug("worker: send failed: {}", e.what());
        return false;
    }
}

TimePoint Worker::next_deadline() const {
    return reconnect_at_ ? *reconnect_at_ : heartbeat_.next();
}

void Worker::on_timer() {
    const TimePoint now = clock_.now();
    if (reconnect_at_) {
        if (now >= *reconnect_at_) connect(now);
        return;
    }
    if (!heartbeat_.due(now)) return;
    if (heard_) {
        liveness_.heard();
    } else if (!liveness_.silent_interval()) {
        ++stats_.broker_deaths;
        log::warn("worker: broker {} silent for {} intervals, reconnecting", config_.broker, liveness_.max());
        schedule_reconnect(now, backoff_.next());
        return;
    }
    heard_ = false;
    if (send(encode_heartbeat())) ++stats_.heartbeats_sent;
    heartbeat_.sent(now);
}

std::optional<Request> Worker::on_readable() {
    while (socket_) {
        Frames m;
        bool got = false;
        try {
            got = m.recv(socket_, ZMQ_DONTWAIT);
        } catch (const zmq::error_t& e) {
            if (e.num() == EINTR) return std::nullopt;
            throw;
        }
        if (!got) return std::nullopt;
        heard_ = true;
        auto decoded = decode_worker_inbound(std::move(m));
        if (!decoded) {
            ++stats_.malformed;
            log::debug("worker: dropped malformed message from broker: {}", decoded.error().reason);
            continue;
        }
        if (std::holds_alternative<BrokerHeartbeat>(*decoded)) {
            ++stats_.heartbeats_received;
            backoff_.reset();
            disconnects_in_a_row_ = 0;
            continue;
        }
        if (std::holds_alternative<BrokerDisconnect>(*decoded)) {
            ++stats_.disconnects_received;
            log::info("worker: DISCONNECT from broker, registering again");
            Duration delay = disconnects_in_a_row_++ == 0 ? Duration{0} : backoff_.next();
            schedule_reconnect(clock_.now(), delay);
            return std::nullopt;
        }
        auto& req = std::get<BrokerRequest>(*decoded);
        backoff_.reset();
        disconnects_in_a_row_ = 0;
        ++stats_.requests;
        Request out{std::move(req.client), std::move(req.body), Frame(), connection_};
        if (out.body.size() >= 2 && is_correlation_frame(out.body.front())) out.correlation = out.body.pop();
        return out;
    }
    return std::nullopt;
}

std::optional<Request> Worker::recv(Duration timeout) {
    const TimePoint deadline = clock_.now() + timeout;
    while (!stopped()) {
        TimePoint now = clock_.now();
        if (now >= next_deadline()) {
            on_timer();
            continue;
        }
        // Poll first, then read: zmq_poll returns at once when a message is already queued, and an empty
        // non-blocking read would cost a system call on every request.
        auto wait = std::min({until(now, std::min(deadline, next_deadline())), Duration{100}});
        try {
            if (socket_) {
                zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
                zmq::poll(&item, 1, wait);
                if (item.revents & ZMQ_POLLIN) {
                    if (auto r = on_readable()) return r;
                    continue;
                }
            } else {
                // Waiting for the reconnect time: nothing to read meanwhile.
                zmq::poll(static_cast<zmq::pollitem_t*>(nullptr), 0, wait);
            }
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
        if (clock_.now() >= deadline) return std::nullopt;
    }
    return std::nullopt;
}

bool Worker::reply(Request&& request, Frames body) {
    if (request.connection != connection_ || !socket_) {
        ++stats_.replies_dropped;
        log::debug("worker: reply dropped, the connection it belongs to is gone");
        return false;
    }
    if (body.empty()) body.add(Frame());
    if (request.correlation.size() != 0) body.push(std::move(request.correlation));
    bool ok = send(encode_reply(std::move(request.client), std::move(body)));
    if (ok) ++stats_.replies;
    return ok;
}

void Worker::run(const Handler& handler) {
    while (!stopped()) {
        auto request = recv(Duration{1000});
        if (!request) continue;
        Frames body = std::move(request->body);
        reply(std::move(*request), handler(std::move(body)));
    }
}

}  // namespace pirates::majordomo
