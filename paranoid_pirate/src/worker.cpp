#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/paranoid_pirate/worker.hpp>

namespace pirates::paranoid_pirate {

Worker::Worker(zmq::context_t& context, WorkerOptions options, Handler handler, const ClockSource& clock)
    : context_(context),
      options_(std::move(options)),
      handler_(std::move(handler)),
      clock_(clock),
      core_(options_.timing, clock.now()),
      reactor_(clock) {
    open();
    // Registered once: a reconnect replaces the socket in place, and a closed socket is not polled.
    reactor_.add(socket_, [this] { return on_readable(); });
    reactor_.add_timer_at(core_.next_deadline(), [this] { on_timer(); });
}

Worker::~Worker() {
    if (socket_) socket_.close();
}

bool Worker::stopped() const {
    return stop_.stop_requested() || reactor_.stopped();
}

void Worker::request_stop() {
    stop_.request_stop();
    reactor_.request_stop();
}

void Worker::open() {
    SocketOptions socket_options;
    socket_options.security = options_.security;
    socket_ = make_socket(context_, zmq::socket_type::dealer, socket_options);
    connect_endpoint(socket_, options_.connect);
    core_.on_connected(clock_.now(), out_);
    log::debug("connected to {}, READY sent", options_.connect);
}

bool Worker::on_readable() {
    if (!socket_ || !recv_nowait(socket_, in_)) return false;
    if (auto request = core_.on_message(std::move(in_), clock_.now())) handle(*request);
    in_.clear();  // what on_message() left of it
    return true;
}

void Worker::handle(WorkerRequest& request) {
    std::optional<Frames> reply = handler_(std::move(request.body));
    if (reply)
        (void)core_.reply(std::move(request), std::move(*reply), clock_.now(), out_);
    else
        core_.handled(clock_.now());
}

void Worker::on_timer() {
    const WorkerCore::Actions actions = core_.tick(clock_.now(), out_);
    if (actions.close_socket) {
        log::warn("queue silent for {} heartbeats, reconnecting in {} ms", core_.timing().liveness,
                  actions.reconnect_in.count());
        socket_.close();
    }
    if (actions.open_socket) {
        open();
        log::info("reconnected to {}", options_.connect);
    }
    reactor_.add_timer_at(core_.next_deadline(), [this] { on_timer(); });
}

bool Worker::run_once(Duration max_wait) {
    if (stopped()) return false;
    return reactor_.run_once(max_wait) && !stopped();
}

void Worker::run() {
    while (run_once(Duration{100})) {
    }
}

}  // namespace pirates::paranoid_pirate
