#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/simple_pirate/queue.hpp>
#include <pirates/simple_pirate/worker.hpp>

#include <atomic>
#include <cstring>

namespace pirates::simple_pirate {

Result<Request> split_request(Frames message) {
    std::size_t delimiter = 0;
    while (delimiter < message.size() && message[delimiter].size() != 0) ++delimiter;
    if (delimiter == 0 || delimiter >= message.size()) return error("no envelope");
    if (delimiter + 1 >= message.size()) return error("empty body");
    Request r;
    for (std::size_t i = 0; i <= delimiter; ++i) r.envelope.add(message.pop());
    r.body = std::move(message);
    return r;
}

Frames join_reply(Frames envelope, Frames body) {
    while (!body.empty()) envelope.add(body.pop());
    return envelope;
}

namespace {
std::atomic<std::uint64_t> monitor_serial{0};
}

Worker::Worker(zmq::context_t& context, std::string endpoint, WorkerOptions options, const ClockSource& clock)
    : context_(context), endpoint_(std::move(endpoint)), options_(options), clock_(clock), reactor_(clock) {
    open();
    // Registered once (a reopen replaces the sockets in place; a closed one is not polled). The monitor comes
    // first: a lost connection is seen before anything read from the socket that lost it.
    reactor_.add(monitor_, [this] { return on_monitor(); });
    reactor_.add(socket_, [this] { return on_socket(); });
}

Worker::~Worker() {
    close();
}

void Worker::request_stop() {
    stop_.request_stop();
    reactor_.request_stop();
}

bool Worker::stopped() const {
    return stop_.stop_requested() || reactor_.stopped();
}

void Worker::open() {
    SocketOptions socket_options;
    socket_options.security = options_.security;
    socket_ = make_socket(context_, zmq::socket_type::req, socket_options);
    if (options_.transport_heartbeat.count() > 0) {
        const int ivl = static_cast<int>(options_.transport_heartbeat.count());
        socket_.set(zmq::sockopt::heartbeat_ivl, ivl);
        socket_.set(zmq::sockopt::heartbeat_timeout, 3 * ivl);
    }
    if (options_.reregister_on_disconnect) {
        std::string address =
            "inproc://pirates.simple_pirate.worker-monitor." + std::to_string(++monitor_serial);
        if (zmq_socket_monitor(socket_.handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
            throw zmq::error_t();
        monitor_ = make_socket(context_, zmq::socket_type::pair);
        monitor_.connect(address);
    }
    connect_endpoint(socket_, endpoint_);
    Frames ready;
    ready.add(byte_frame(kReady));
    ready.send(socket_);  // REQ: queued on the connecting pipe, never blocks
    busy_ = false;
    envelope_.clear();
}

void Worker::close() {
    if (socket_ && monitor_) zmq_socket_monitor(socket_.handle(), nullptr, 0);
    if (monitor_) monitor_.close();
    if (socket_) socket_.close();
}

void Worker::reopen() {
    close();
    ++stats_.reconnects;
    open();
    reopened_ = true;
}

// Monitor events: only DISCONNECTED is asked for.
bool Worker::on_monitor() {
    Frames event;
    if (!monitor_ || !recv_nowait(monitor_, event)) return false;
    if (event.size() >= 1 && event[0].size() >= 2) {
        std::uint16_t id = 0;
        std::memcpy(&id, event[0].data(), sizeof id);
        if (id == ZMQ_EVENT_DISCONNECTED && !reopened_) {
            ++stats_.disconnects;
            // Anything already received on this socket came from the queue that dropped the connection; a
            // request in it could still be answered, but the connection is gone: start over.
            log::info("simple pirate worker: lost the queue at {}; reconnecting and sending READY",
                      endpoint_);
            reopen();
            return false;
        }
    }
    return true;
}

bool Worker::on_socket() {
    // A REQ socket with a request in hand must answer before it may receive again.
    if (busy_ || reopened_ || !socket_) return false;
    Frames message;
    if (!recv_nowait(socket_, message)) return false;
    auto request = split_request(std::move(message));
    if (!request) {
        ++stats_.malformed;
        log::debug("simple pirate worker: invalid request ({}); reopening", request.error().reason);
        reopen();
        return false;
    }
    ++stats_.requests;
    envelope_ = std::move(request->envelope);
    busy_ = true;
    ready_ = std::move(request->body);
    return false;
}

std::optional<Frames> Worker::receive(Duration timeout) {
    if (busy_) {
        log::warn("simple pirate worker: receive() with a request in hand; dropping it");
        drop();
    }
    const TimePoint deadline = clock_.now() + timeout;
    while (!stopped()) {
        reopened_ = false;
        const bool running = reactor_.run_once(until(clock_.now(), deadline));
        if (ready_) {
            std::optional<Frames> body = std::move(ready_);
            ready_.reset();
            return body;
        }
        if (reopened_ || !running || clock_.now() >= deadline) break;
    }
    return std::nullopt;
}

void Worker::reply(Frames body) {
    if (!busy_) {
        log::warn("simple pirate worker: reply() without a request in hand, ignored");
        return;
    }
    Frames message = join_reply(std::move(envelope_), std::move(body));
    busy_ = false;
    message.send(socket_);
    ++stats_.replies;
}

void Worker::drop() {
    if (!busy_) return;
    ++stats_.dropped;
    reopen();
}

}  // namespace pirates::simple_pirate
