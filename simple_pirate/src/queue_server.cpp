#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/simple_pirate/queue_server.hpp>

namespace pirates::simple_pirate {

QueueServer::QueueServer(zmq::context_t& context, QueueConfig config)
    : frontend_(make_socket(context, zmq::socket_type::router,
                            router_options(config.hwm, config.max_message_bytes))),
      backend_(make_socket(context, zmq::socket_type::router,
                           router_options(config.hwm, config.max_message_bytes))),
      core_(config.max_held, config.max_queue_bytes) {
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
            // A worker gone, or one whose pipe is full (a REQ worker holds one request at a time, so a full
            // pipe is not a worker to wait for): forget it and give the request to the next one.
            if (send_routed(backend_, o.frames) != SendResult::sent)
                core_.on_undeliverable(std::move(o.frames), out_);
            continue;
        }
        switch (send_routed(frontend_, o.frames)) {
            case SendResult::sent:
                break;
            case SendResult::peer_gone:
                ++replies_to_gone_clients_;
                log::debug("frontend: client {} has gone, reply dropped",
                           hex(o.frames.front().to_string_view()));
                break;
            case SendResult::would_block:
                ++replies_would_block_;
                log::debug("frontend: client {} is not reading, reply dropped",
                           hex(o.frames.front().to_string_view()));
                break;
        }
    }
    out_.clear();
    reactor_.enable(frontend_, core_.accepting());
}

void QueueServer::run() {
    reactor_.run();
    const auto& c = core_.counters();
    log::info(
        "stopping: {} requests, {} replies, {} workers idle, {} workers lost, {} invalid, {} dropped from a "
        "full "
        "hold queue, {} replies not delivered ({} to clients gone, {} to clients not reading)",
        c.requests, c.replies, core_.idle_workers(), c.workers_lost, c.invalid_frontend + c.invalid_backend,
        c.dropped_overflow, replies_to_gone_clients_ + replies_would_block_, replies_to_gone_clients_,
        replies_would_block_);
}

}  // namespace pirates::simple_pirate
