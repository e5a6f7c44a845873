#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/worker.hpp>

namespace pirates::paranoid_pirate {

Worker::Worker(zmq::context_t& context, WorkerConfig config, Handler handler, const ClockSource& clock)
    : context_(context),
      config_(std::move(config)),
      handler_(std::move(handler)),
      clock_(clock),
      core_(config_.timing, clock.now()) {
    open();
}

Worker::~Worker() {
    close();
}

bool Worker::stopped() const {
    return stopped_ || stop_requested();
}

void Worker::open() {
    socket_ = zmq::socket_t(context_, zmq::socket_type::dealer);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(config_.endpoint);
    Frames ready = ready_message();
    ready.send(socket_, ZMQ_DONTWAIT);  // queued until the connection is up
    log::debug("connected to {}, READY sent", config_.endpoint);
}

void Worker::close() {
    if (socket_) socket_.close();
}

void Worker::handle(Frames request) {
    std::size_t start = body_start(request);
    // Keep the envelope in `request`, give the handler the body frames (moved, not copied).
    Frames envelope;
    for (std::size_t i = 0; i < start; ++i) envelope.add(request.pop());
    std::optional<Frames> reply = handler_(std::move(request));
    const bool answer = reply.has_value() && socket_;
    if (answer) {
        Frames out = WorkerCore::make_reply(std::move(envelope), std::move(*reply));
        out.send(socket_, ZMQ_DONTWAIT);
    }
    core_.handled(clock_.now(), answer);
}

bool Worker::run_once(Duration max_wait) {
    if (stopped()) return false;
    Duration wait = std::min(max_wait, until(clock_.now(), core_.next_deadline()));
    if (socket_) {
        zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
        try {
            zmq::poll(&item, 1, wait);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
            return !stopped();
        }
        if (item.revents & ZMQ_POLLIN) {
            Frames message;
            // Drain what is waiting, one request at a time; a stop request ends the burst.
            for (int n = 0; n < 1000 && socket_ && !stopped() && recv_nowait(socket_, message); ++n) {
                auto request = core_.on_message(std::move(message), clock_.now());
                message.clear();
                if (request) handle(std::move(*request));
            }
        }
    } else {
        // No socket while waiting to reconnect: wait for the deadline, in short steps so a stop is seen.
        try {
            zmq::poll(static_cast<zmq::pollitem_t*>(nullptr), 0, std::min(wait, Duration{100}));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
    }
    if (stopped()) return false;
    WorkerCore::Actions actions = core_.on_tick(clock_.now());
    if (actions.close_socket) {
        log::warn("queue silent for {} heartbeats, reconnecting in {} ms", core_.timing().liveness,
                  actions.reconnect_in.count());
        close();
    }
    if (actions.open_socket) {
        open();
        log::info("reconnected to {}", config_.endpoint);
    }
    if (actions.send_heartbeat && socket_) {
        Frames hb = heartbeat_message();
        hb.send(socket_, ZMQ_DONTWAIT);
    }
    return !stopped();
}

void Worker::run() {
    while (run_once(Duration{100})) {
    }
}

}  // namespace pirates::paranoid_pirate
