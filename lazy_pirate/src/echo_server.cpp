#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/lazy_pirate/echo_server.hpp>

#include <memory>

namespace pirates::lazy_pirate {

Result<EchoDecision> EchoCore::on_request(Frames message) {
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
    if (d.action == Chaos::Action::delay_then_answer) d.delay = chaos_.delay;
    if (d.action == Chaos::Action::answer || d.action == Chaos::Action::delay_then_answer)
        d.reply = std::move(message);  // echo: same envelope, same body
    return d;
}

EchoServer::EchoServer(zmq::context_t& context, EchoServerConfig config)
    : socket_(context, zmq::socket_type::router), core_(config.chaos) {
    socket_.set(zmq::sockopt::linger, 0);
    endpoint_ = bind_and_announce(socket_, config.bind, "server");
    reactor_.add(socket_, [this] { return on_readable(); });
}

void EchoServer::send(Frames reply) {
    // ROUTER_MANDATORY is off: a reply to a client that has gone is dropped by libzmq, as REP would.
    try {
        reply.send(socket_, ZMQ_DONTWAIT);
        ++answered_;
    } catch (const zmq::error_t& e) {
        log::debug("reply not sent: {}", e.what());
    }
}

bool EchoServer::on_readable() {
    Frames message;
    if (!recv_nowait(socket_, message)) return false;
    if (log::enabled(log::Level::debug)) log::debug("request {}", printable(message));
    auto decision = core_.on_request(std::move(message));
    if (!decision) {
        log::debug("dropped an invalid request: {}", decision.error().reason);
        return true;
    }
    switch (decision->action) {
        case Chaos::Action::answer:
            send(std::move(decision->reply));
            break;
        case Chaos::Action::delay_then_answer: {
            log::info("request {}: answering {} ms late", decision->number, decision->delay.count());
            // std::function needs a copyable callable: the frames wait in a shared_ptr.
            auto late = std::make_shared<Frames>(std::move(decision->reply));
            reactor_.add_timer(decision->delay, [this, late] { send(std::move(*late)); });
            break;
        }
        case Chaos::Action::drop:
            ++dropped_;
            log::info("request {}: dropped (no reply)", decision->number);
            break;
        case Chaos::Action::crash:
            crash_now();
        case Chaos::Action::hang:
            hang_until_stopped();
    }
    return true;
}

void EchoServer::run() {
    reactor_.run();
    log::info("stopping: {} requests, {} answered, {} dropped, {} invalid", core_.requests(), answered_,
              dropped_, core_.invalid());
}

}  // namespace pirates::lazy_pirate
