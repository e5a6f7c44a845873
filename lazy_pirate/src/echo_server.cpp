#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/lazy_pirate/echo_server.hpp>

namespace pirates::lazy_pirate {

Result<EchoDecision> EchoCore::on_request(Frames message, TimePoint now) {
    // The envelope is every frame up to and including the first empty one; a REP socket drops anything else.
    std::size_t delimiter = 0;
    while (delimiter < message.size() && message[delimiter].size() != 0) ++delimiter;
    if (delimiter == 0 || delimiter >= message.size()) {
        ++invalid_;
        return error("no envelope delimiter");
    }
    if (delimiter + 1 >= message.size()) {
        ++invalid_;
        return error("empty body");
    }
    EchoDecision d;
    d.number = static_cast<long>(++requests_);
    d.action = chaos_.on_request(d.number);
    if (d.action == Chaos::Action::answer) d.reply = std::move(message);  // echo: same envelope, same body
    if (d.action == Chaos::Action::delay_then_answer) {
        d.delay = chaos_.delay;
        if (!late_.hold(std::move(message), now + chaos_.delay)) {
            // Over the byte bound: the newest late answer goes (the client's retry finds a less loaded
            // server).
            d.action = Chaos::Action::drop;
            d.overflow = true;
        }
    }
    return d;
}

EchoServer::EchoServer(zmq::context_t& context, EchoServerConfig config)
    // ROUTER_MANDATORY: a reply to a client that has gone, or that does not read (its pipe is full), is
    // reported and dropped.
    : socket_(make_socket(context, zmq::socket_type::router,
                          router_options(config.hwm, config.max_message_bytes))),
      core_(config.chaos, config.max_queue_bytes) {
    endpoint_ = bind_and_announce(socket_, config.bind, "server");
    reactor_.add(socket_, [this] { return on_readable(); });
}

void EchoServer::send(Frames reply) {
    switch (send_routed(socket_, reply)) {
        case SendResult::sent:
            ++answered_;
            return;
        case SendResult::peer_gone:
            ++peer_gone_;  // as REP: a reply to a client that has gone is dropped
            log::debug("reply dropped: client {} has gone", hex(reply.front().to_string_view()));
            return;
        case SendResult::would_block:
            ++would_block_;  // the client does not read its replies: its pipe holds `hwm` of them already
            log::debug("reply dropped: client {} is not reading", hex(reply.front().to_string_view()));
            return;
    }
}

bool EchoServer::on_readable() {
    Frames message;
    if (!recv_nowait(socket_, message)) return false;
    if (log::enabled(log::Level::debug)) log::debug("request {}", printable(message));
    auto decision = core_.on_request(std::move(message), Clock::now());
    if (!decision) {
        log::debug("dropped an invalid request: {}", decision.error().reason);
        return true;
    }
    switch (decision->action) {
        case Chaos::Action::answer:
            send(std::move(decision->reply));
            break;
        case Chaos::Action::delay_then_answer:
            log::info("request {}: answering {} ms late", decision->number, decision->delay.count());
            arm_late_timer();
            break;
        case Chaos::Action::drop:
            ++dropped_;
            if (decision->overflow)
                log::warn("request {}: dropped, {} bytes of late answers are held already", decision->number,
                          core_.held_bytes());
            else
                log::info("request {}: dropped (no reply)", decision->number);
            break;
        case Chaos::Action::crash:
            crash_now();
        case Chaos::Action::hang:
            hang_until_stopped();
    }
    return true;
}

void EchoServer::arm_late_timer() {
    if (late_timer_) return;  // one delay for all: the armed timer is already the earliest deadline
    auto next = core_.next_deadline();
    if (!next) return;
    late_timer_ = reactor_.add_timer_at(*next, [this] { on_late(); });
}

void EchoServer::on_late() {
    late_timer_.reset();
    core_.take_due(Clock::now(), due_);
    for (auto& reply : due_) send(std::move(reply));
    due_.clear();
    arm_late_timer();
}

void EchoServer::run() {
    reactor_.run();
    log::info(
        "stopping: {} requests, {} answered, {} dropped, {} invalid, {} replies not delivered ({} to clients "
        "gone, {} to clients not reading)",
        core_.requests(), answered_, dropped_, core_.invalid(), peer_gone_ + would_block_, peer_gone_,
        would_block_);
}

}  // namespace pirates::lazy_pirate
