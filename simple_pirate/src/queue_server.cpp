#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/simple_pirate/queue_server.hpp>

namespace pirates::simple_pirate {

bool try_route(zmq::socket_t& router, Frames& message) {
    if (message.empty()) return true;
    const int more = message.size() > 1 ? ZMQ_SNDMORE : 0;
    // The first frame decides: once libzmq accepts it, the rest of the message cannot fail. On failure
    // zmq_msg_send leaves the frame untouched, so the message is still whole.
    try {
        if (!router.send(message[0], static_cast<zmq::send_flags>(more | ZMQ_DONTWAIT))) return false;
    } catch (const zmq::error_t& e) {
        if (e.num() == EHOSTUNREACH) return false;
        throw;
    }
    message.pop();
    return message.empty() || message.send(router, ZMQ_DONTWAIT);
}

QueueServer::QueueServer(zmq::context_t& context, QueueConfig config)
    : frontend_(context, zmq::socket_type::router),
      backend_(context, zmq::socket_type::router),
      core_(config.max_held) {
    for (auto* s : {&frontend_, &backend_}) {
        s->set(zmq::sockopt::linger, 0);
        s->set(zmq::sockopt::router_mandatory, true);
    }
    frontend_endpoint_ = bind_and_announce(frontend_, config.frontend, "frontend");
    backend_endpoint_ = bind_and_announce(backend_, config.backend, "backend");
    reactor_.add(frontend_, [this] { return on_frontend(); });
    reactor_.add(backend_, [this] { return on_backend(); });
    reactor_.enable(frontend_, false);  // no worker yet
}

bool QueueServer::on_frontend() {
    if (!core_.accepting()) return false;
    Frames message;
    if (!recv_nowait(frontend_, message)) return false;
    core_.on_frontend(std::move(message), out_);
    flush();
    return true;
}

bool QueueServer::on_backend() {
    Frames message;
    if (!recv_nowait(backend_, message)) return false;
    core_.on_backend(std::move(message), out_);
    flush();
    return true;
}

void QueueServer::flush() {
    // Sending may produce more to send (a request re-routed after a lost worker): index, not iterators.
    for (std::size_t i = 0; i < out_.size(); ++i) {
        Outgoing o = std::move(out_[i]);
        if (o.to == Outgoing::To::backend) {
            if (!try_route(backend_, o.frames)) core_.on_undeliverable(std::move(o.frames), out_);
        } else if (!try_route(frontend_, o.frames)) {
            ++replies_to_gone_clients_;
            log::debug("frontend: client {} has gone, reply dropped", hex(o.frames.front().to_string_view()));
        }
    }
    out_.clear();
    reactor_.enable(frontend_, core_.accepting());
}

void QueueServer::run() {
    reactor_.run();
    const auto& c = core_.counters();
    log::info("stopping: {} requests, {} replies, {} workers idle, {} workers lost, {} invalid", c.requests,
              c.replies, core_.idle_workers(), c.workers_lost, c.invalid_frontend + c.invalid_backend);
}

}  // namespace pirates::simple_pirate
