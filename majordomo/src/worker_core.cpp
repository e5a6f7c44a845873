#include <pirates/common/log.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker_core.hpp>

#include <algorithm>
#include <variant>

namespace pirates::majordomo {

WorkerCore::WorkerCore(WorkerOptions options, TimePoint now, std::uint64_t seed)
    : options_(std::move(options)), link_(peer_link_options(options_), now, seed) {}

void WorkerCore::on_connected(TimePoint now, Outbox& out) {
    // Silence counts from the READY: the time the driver took to open the socket (the first one starts
    // libzmq's I/O thread, slow on a loaded machine) is not the broker's.
    link_.resume(now);
    ++connection_;
    Frames ready = encode_ready(options_.service, options_.version);
    (void)out.send(ready);  // on a new DEALER: queued until the connection is up
    log::debug("worker: connected to {} as '{}' (connection {})", options_.endpoint(), options_.service,
               connection_);
}

std::optional<Request> WorkerCore::on_message(Frames&& message, TimePoint now) {
    // A late message from a socket already closed, or about to be (a DISCONNECT came before it).
    if (!link_.connected() || disconnect_pending_) return std::nullopt;
    auto decoded = decode_worker_inbound(std::move(message), options_.version);
    if (!decoded) {
        ++stats_.malformed;
        link_.resume(now);  // the broker is there, if confused: liveness, but the back-off stays
        log::debug("worker: dropped malformed message from broker: {}", decoded.error().reason);
        return std::nullopt;
    }
    if (std::holds_alternative<BrokerHeartbeat>(*decoded)) {
        ++stats_.heartbeats_received;
        link_.heard(now);
        disconnects_in_a_row_ = 0;
        return std::nullopt;
    }
    if (std::holds_alternative<BrokerDisconnect>(*decoded)) {
        ++stats_.disconnects;
        log::info("worker: DISCONNECT from broker, registering again");
        disconnect_pending_ = true;
        disconnect_at_ = now;
        return std::nullopt;
    }
    auto& req = std::get<BrokerRequest>(*decoded);
    link_.heard(now);
    disconnects_in_a_row_ = 0;
    ++stats_.requests;
    Request out{std::move(req.client), std::move(req.body), Frame(), connection_};
    if (out.body.size() >= 2 && is_correlation_frame(out.body.front())) out.correlation = out.body.pop();
    return out;
}

WorkerCore::Actions WorkerCore::tick(TimePoint now, Outbox& out) {
    Actions actions;
    if (disconnect_pending_) {
        disconnect_pending_ = false;
        actions.close_socket = true;
        if (disconnects_in_a_row_++ == 0) {
            // The first time: register again at once (a restarted broker forgot us).
            link_.restart(now);
            actions.open_socket = true;
            ++stats_.reconnects;
        } else {
            // It keeps refusing us: back off.
            actions.reconnect_in = link_.disconnect(now);
            log::debug("worker: reconnecting in {} ms", actions.reconnect_in.count());
        }
        return actions;
    }
    if (handling_) link_.resume(now);  // a busy worker hears nothing from the broker: not silence
    const PeerLink::Actions link = link_.tick(now);
    actions.close_socket = link.close_socket;
    actions.open_socket = link.open_socket;
    actions.reconnect_in = link.reconnect_in;
    if (link.close_socket) {
        ++stats_.expired;
        log::warn("worker: broker {} silent for {} intervals, reconnecting", options_.endpoint(),
                  std::max(options_.liveness, 1));
        log::debug("worker: reconnecting in {} ms", link.reconnect_in.count());
    }
    if (link.open_socket) ++stats_.reconnects;
    if (link.send_heartbeat) {
        Frames heartbeat = encode_heartbeat(options_.version);
        if (out.send(heartbeat) == SendResult::sent) ++stats_.heartbeats_sent;
    }
    return actions;
}

bool WorkerCore::reply(Request&& request, Frames&& body, TimePoint now, Outbox& out) {
    handled(now);
    if (request.connection != connection_ || !link_.connected() || disconnect_pending_) {
        ++stats_.unroutable;
        log::debug("worker: reply dropped, the connection it belongs to is gone");
        return false;
    }
    if (body.empty()) body.add(Frame());
    if (request.correlation.size() != 0) body.push(std::move(request.correlation));
    Frames message = encode_reply(std::move(request.client), std::move(body), options_.version, true);
    if (out.send(message) != SendResult::sent) {
        ++stats_.unroutable;
        log::debug("worker: reply dropped, the socket refused it");
        return false;
    }
    ++stats_.replies;
    return true;
}

bool WorkerCore::partial(const Request& request, Frames&& body, TimePoint now, Outbox& out) {
    if (!has_partials(options_.version)) {
        ++stats_.unroutable;
        log::debug("worker: partial reply dropped, MDP 0.1 has none");
        return false;
    }
    if (request.connection != connection_ || !link_.connected() || disconnect_pending_) {
        ++stats_.unroutable;
        log::debug("worker: partial reply dropped, the connection it belongs to is gone");
        return false;
    }
    (void)now;
    if (body.empty()) body.add(Frame());
    if (request.correlation.size() != 0)
        body.push(Frame(request.correlation.data(), request.correlation.size()));
    Frames message = encode_reply(Frame(request.client.data(), request.client.size()), std::move(body),
                                  options_.version, false);
    if (out.send(message) != SendResult::sent) {
        ++stats_.unroutable;
        return false;
    }
    ++stats_.partials;
    return true;
}

void WorkerCore::handling(TimePoint now) {
    handling_ = true;
    link_.resume(now);
}

void WorkerCore::handled(TimePoint now) {
    handling_ = false;
    if (!disconnect_pending_) link_.resume(now);
}

void WorkerCore::on_close(Outbox& out) {
    if (!link_.connected()) return;
    Frames goodbye = encode_disconnect(options_.version);
    (void)out.send(goodbye);
}

TimePoint WorkerCore::next_deadline() const {
    if (disconnect_pending_) return disconnect_at_;
    return link_.next_deadline();
}

}  // namespace pirates::majordomo
