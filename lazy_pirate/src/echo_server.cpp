#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/lazy_pirate/echo_server.hpp>

#include <cstdlib>

namespace pirates::lazy_pirate {

Result<EchoDecision> EchoServerCore::on_message(Frames&& message, TimePoint now, Outbox& out) {
    // The envelope is every frame up to and including the first empty one; a REP socket drops anything else.
    std::size_t delimiter = 0;
    while (delimiter < message.size() && message[delimiter].size() != 0) ++delimiter;
    if (delimiter == 0 || delimiter >= message.size()) {
        ++stats_.malformed;
        return error("no envelope delimiter");
    }
    if (delimiter + 1 >= message.size()) {
        ++stats_.malformed;
        return error("empty body");
    }
    EchoDecision d;
    d.number = static_cast<long>(++stats_.requests);
    d.action = chaos_.on_request(d.number);
    switch (d.action) {
        case Chaos::Action::answer:
            send(message, out);  // echo: same envelope, same body
            break;
        case Chaos::Action::delay_then_answer:
            d.delay = chaos_.delay;
            if (!late_.hold(std::move(message), now + chaos_.delay)) {
                // Over the byte bound: the newest late answer goes (the client's retry finds a less loaded
                // server).
                d.action = Chaos::Action::drop;
                d.overflow = true;
                ++stats_.dropped_overflow;
                ++stats_.dropped;
            }
            break;
        case Chaos::Action::drop:
            ++stats_.dropped;
            break;
        case Chaos::Action::crash:
        case Chaos::Action::hang:
            break;  // the driver's to do
    }
    return d;
}

void EchoServerCore::tick(TimePoint now, Outbox& out) {
    late_.take_due(now, due_);
    for (auto& reply : due_) send(reply, out);
    due_.clear();
}

void EchoServerCore::send(Frames& reply, Outbox& out) {
    switch (out.send(reply)) {
        case SendResult::sent:
            ++stats_.replies;
            return;
        case SendResult::peer_gone:
            ++stats_.unroutable;
            ++stats_.replies_to_gone_clients;  // as REP: a reply to a client that has gone is dropped
            log::debug("reply dropped: client {} has gone", hex(reply.front().to_string_view()));
            return;
        case SendResult::would_block:
            ++stats_.unroutable;
            ++stats_
                  .replies_would_block;  // the client does not read its replies: its pipe holds `hwm` already
            log::debug("reply dropped: client {} is not reading", hex(reply.front().to_string_view()));
            return;
    }
}

SendResult EchoServer::Sender::send(Frames& message, Channel) {
    return send_routed(socket_, message);
}

EchoServer::EchoServer(zmq::context_t& context, EchoServerOptions options, const ClockSource& clock)
    // ROUTER_MANDATORY: a reply to a client that has gone, or that does not read (its pipe is full), is
    // reported and dropped.
    : clock_(clock),
      socket_(make_router(context, options.hwm, options.max_message_bytes, options.security)),
      core_(options.chaos, options.max_queue_bytes),
      reactor_(clock),
      sender_(socket_) {
    endpoint_ = bind_and_announce(socket_, options.bind, "server");
    reactor_.add(socket_, [this] { return on_readable(); });
}

bool EchoServer::on_readable() {
    if (hung_) return false;
    Frames message;
    if (!recv_nowait(socket_, message)) return false;
    if (log::enabled(log::Level::debug)) log::debug("request {}", printable(message));
    auto decision = core_.on_message(std::move(message), clock_.now(), sender_);
    if (!decision) {
        log::debug("dropped an invalid request: {}", decision.error().reason);
        return true;
    }
    switch (decision->action) {
        case Chaos::Action::answer:
            break;
        case Chaos::Action::delay_then_answer:
            log::info("request {}: answering {} ms late", decision->number, decision->delay.count());
            arm_late_timer();
            break;
        case Chaos::Action::drop:
            if (decision->overflow)
                log::warn("request {}: dropped, {} bytes of late answers are held already", decision->number,
                          core_.held_bytes());
            else
                log::info("request {}: dropped (no reply)", decision->number);
            break;
        case Chaos::Action::crash:
            crash_now();
        case Chaos::Action::hang:
            hang();
            return false;
    }
    return true;
}

void EchoServer::hang() {
    // The simulated fault: a process alive and silent. Nothing is read or answered any more; run() ends the
    // process when stopped.
    log::warn("chaos: simulating a hang (alive and silent)");
    hung_ = true;
    reactor_.enable(socket_, false);
    if (late_timer_) reactor_.cancel(*late_timer_);
    late_timer_.reset();
}

void EchoServer::arm_late_timer() {
    if (late_timer_) return;  // one delay for all: the armed timer is already the earliest deadline
    const TimePoint next = core_.next_deadline();
    if (next == TimePoint::max()) return;
    late_timer_ = reactor_.add_timer_at(next, [this] { on_late(); });
}

void EchoServer::on_late() {
    late_timer_.reset();
    if (hung_) return;
    core_.tick(clock_.now(), sender_);
    arm_late_timer();
}

void EchoServer::run() {
    reactor_.run();
    if (hung_) std::_Exit(0);  // as a hung process that is killed: no summary
    const auto& s = core_.stats();
    log::info(
        "stopping: {} requests, {} answered, {} dropped, {} invalid, {} replies not delivered ({} to clients "
        "gone, {} to clients not reading)",
        s.requests, s.replies, s.dropped, s.malformed, s.replies_to_gone_clients + s.replies_would_block,
        s.replies_to_gone_clients, s.replies_would_block);
}

}  // namespace pirates::lazy_pirate
