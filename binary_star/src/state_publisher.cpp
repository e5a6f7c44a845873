#include <pirates/binary_star/state_publisher.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>

#include <vector>

namespace pirates::binary_star {

namespace {

// A STREAM socket takes [routing id][bytes]; empty bytes close the connection. A peer that is gone or a
// full queue come back as values (the routing id is refused first), as on a ROUTER.
SendResult send_to(zmq::socket_t& socket, const std::string& id, std::string_view bytes) {
    Frames m;
    m.add(frame(id));
    m.add(frame(bytes));
    return send_routed(socket, m);
}

}  // namespace

StatePublisher::StatePublisher(zmq::context_t& context, Duration handshake_timeout)
    : socket_(make_socket(context, zmq::socket_type::stream)), handshake_timeout_(handshake_timeout) {
    // STREAM_NOTIFY (on by default): a connection and a disconnection each arrive as [id][""].
    socket_.set(zmq::sockopt::stream_notify, 1);
}

std::string StatePublisher::bind(const std::string& endpoint, std::string_view role) {
    return bind_and_announce(socket_, endpoint, role);
}

std::size_t StatePublisher::subscribers() const {
    std::size_t n = 0;
    for (const auto& [id, c] : links_) n += c.link.wants_all() && !c.closing ? 1 : 0;
    return n;
}

void StatePublisher::close(const std::string& id) {
    auto it = links_.find(id);
    if (it == links_.end()) return;
    // A full queue refuses even the close: keep the connection, marked, and try again at the next publish.
    if (send_to(socket_, id, {}) == SendResult::would_block) {
        it->second.closing = true;
        return;
    }
    links_.erase(it);
}

void StatePublisher::on_connect(const std::string& id, TimePoint now) {
    ++stats_.connections;
    std::size_t open = 0;  // connections not stuck in closing (those cannot be closed again anyway)
    for (const auto& entry : links_) open += entry.second.closing ? 0 : 1;
    if (open >= kMaxConnections) {
        ++stats_.closed_full;
        auto victim = links_.end();
        for (auto it = links_.begin(); it != links_.end(); ++it)
            if (!it->second.closing && !it->second.link.wants_all() &&
                (victim == links_.end() || it->second.since < victim->second.since))
                victim = it;
        if (victim == links_.end()) {
            log::debug("state-pub: {} connections, all subscribed: closing the new one {}", links_.size(),
                       hex(id));
            (void)send_to(socket_, id, {});
            return;
        }
        log::debug("state-pub: {} connections: closing {}, the oldest not subscribed", links_.size(),
                   hex(victim->first));
        close(victim->first);
    }
    if (send_to(socket_, id, SubscriberLink::hello()) != SendResult::sent) return;  // gone already
    links_.emplace(id, Connection{SubscriberLink{}, now, false, TimePoint{}});
}

bool StatePublisher::on_readable(TimePoint now) {
    Frames m;
    if (!recv_nowait(socket_, m)) return false;
    if (m.size() != 2) return true;  // a STREAM socket always gives [id][bytes]
    const std::string id = m[0].to_string();
    auto it = links_.find(id);
    if (m[1].size() == 0) {
        // Routing ids are never reused: an unknown one is a new connection, a known one has disconnected.
        // (Closing a connection ourselves brings no notice: it is forgotten at once.)
        if (it == links_.end())
            on_connect(id, now);
        else
            links_.erase(it);
        return true;
    }
    if (it == links_.end() || it->second.closing) return true;  // bytes from a connection we are closing
    std::string reply;
    if (auto e = it->second.link.on_bytes(m[1].to_string_view(), reply, stats_.subscribers)) {
        ++stats_.closed_protocol;
        log::debug("state-pub: closing {}: {}", hex(id), e->reason);
        close(id);
        return true;
    }
    if (reply.empty()) return true;
    Connection& c = it->second;
    if (!c.link.wants_all() || now - c.last_reply < kMinReplyInterval) {
        ++stats_.replies_dropped;
        return true;
    }
    switch (send_to(socket_, id, reply)) {
        case SendResult::sent:
            c.last_reply = now;
            break;
        case SendResult::would_block:
            ++stats_.replies_dropped;
            break;
        case SendResult::peer_gone:
            links_.erase(it);
            break;
    }
    return true;
}

void StatePublisher::publish(std::string_view body, TimePoint now) {
    ++stats_.messages_published;
    const std::string bytes = encode_message(body);
    std::vector<std::string> gone, late;
    for (auto& [id, c] : links_) {
        if (c.closing) {
            late.push_back(id);
        } else if (c.link.wants_all()) {
            switch (send_to(socket_, id, bytes)) {
                case SendResult::sent:
                    break;
                case SendResult::would_block:
                    ++stats_.deliveries_dropped;
                    break;
                case SendResult::peer_gone:
                    gone.push_back(id);
                    break;
            }
        } else if (now - c.since >= handshake_timeout_) {
            ++stats_.closed_handshake;
            log::debug("state-pub: closing {}: not subscribed to everything after {} ms", hex(id),
                       handshake_timeout_.count());
            late.push_back(id);
        }
    }
    for (const auto& id : gone) links_.erase(id);
    for (const auto& id : late) close(id);
}

}  // namespace pirates::binary_star
