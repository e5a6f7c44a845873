#include <pirates/common/log.hpp>
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

Worker::Worker(zmq::context_t& context, std::string endpoint, WorkerOptions options)
    : context_(context), endpoint_(std::move(endpoint)), options_(options) {
    open();
}

Worker::~Worker() {
    close();
}

void Worker::open() {
    socket_.emplace(context_, zmq::socket_type::req);
    socket_->set(zmq::sockopt::linger, 0);
    if (options_.transport_heartbeat.count() > 0) {
        const int ivl = static_cast<int>(options_.transport_heartbeat.count());
        socket_->set(zmq::sockopt::heartbeat_ivl, ivl);
        socket_->set(zmq::sockopt::heartbeat_timeout, 3 * ivl);
    }
    if (options_.reregister_on_disconnect) {
        std::string address =
            "inproc://pirates.simple_pirate.worker-monitor." + std::to_string(++monitor_serial);
        if (zmq_socket_monitor(socket_->handle(), address.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
            throw zmq::error_t();
        monitor_.emplace(context_, zmq::socket_type::pair);
        monitor_->set(zmq::sockopt::linger, 0);
        monitor_->connect(address);
    }
    socket_->connect(endpoint_);
    Frames ready;
    ready.add(byte_frame(kReady));
    ready.send(*socket_);  // REQ: queued on the connecting pipe, never blocks
    busy_ = false;
    envelope_.clear();
}

void Worker::close() {
    if (socket_ && monitor_) zmq_socket_monitor(socket_->handle(), nullptr, 0);
    monitor_.reset();
    socket_.reset();
}

void Worker::reopen() {
    close();
    ++counters_.reconnects;
    open();
}

bool Worker::drain_monitor() {
    if (!monitor_) return false;
    bool dropped = false;
    Frames event;
    while (event.recv(*monitor_, ZMQ_DONTWAIT)) {
        if (event.size() >= 1 && event[0].size() >= 2) {
            std::uint16_t id = 0;
            std::memcpy(&id, event[0].data(), sizeof id);
            if (id == ZMQ_EVENT_DISCONNECTED) dropped = true;
        }
        event.clear();
    }
    return dropped;
}

std::optional<Frames> Worker::receive(Duration timeout) {
    if (busy_) {
        log::warn("simple pirate worker: receive() with a request in hand; dropping it");
        drop();
    }
    zmq::pollitem_t items[2] = {{socket_->handle(), 0, ZMQ_POLLIN, 0},
                                {monitor_ ? monitor_->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    try {
        zmq::poll(items, monitor_ ? 2 : 1, timeout);
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
        return std::nullopt;
    }
    if (monitor_ && (items[1].revents & ZMQ_POLLIN) && drain_monitor()) {
        ++counters_.disconnects;
        // Anything already received on this socket came from the queue that dropped the connection; a request
        // in it could still be answered, but the connection is gone: start over.
        log::info("simple pirate worker: lost the queue at {}; reconnecting and sending READY", endpoint_);
        reopen();
        return std::nullopt;
    }
    Frames message;
    if (!(items[0].revents & ZMQ_POLLIN) || !message.recv(*socket_, ZMQ_DONTWAIT)) return std::nullopt;
    auto request = split_request(std::move(message));
    if (!request) {
        ++counters_.invalid;
        log::debug("simple pirate worker: invalid request ({}); reopening", request.error().reason);
        reopen();
        return std::nullopt;
    }
    ++counters_.requests;
    envelope_ = std::move(request->envelope);
    busy_ = true;
    return std::move(request->body);
}

void Worker::reply(Frames body) {
    if (!busy_) {
        log::warn("simple pirate worker: reply() without a request in hand, ignored");
        return;
    }
    Frames message = join_reply(std::move(envelope_), std::move(body));
    busy_ = false;
    message.send(*socket_);
    ++counters_.replies;
}

void Worker::drop() {
    if (!busy_) return;
    ++counters_.dropped;
    reopen();
}

}  // namespace pirates::simple_pirate
