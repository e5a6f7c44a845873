#include <pirates/binary_star/client.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace pirates::binary_star {

Client::Client(zmq::context_t& context, ClientConfig config) : context_(context), config_(std::move(config)) {
    if (config_.servers.empty()) throw std::invalid_argument("binary_star::Client needs at least one server");
    open();
}

Client::~Client() = default;

void Client::open() {
    socket_.reset();  // closes the old REQ (linger 0): whatever was in flight is gone with it
    socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::req);
    socket_->set(zmq::sockopt::linger, 0);
    socket_->connect(config_.servers[current_]);
}

bool Client::wait_reply(Frames& out, Duration timeout) {
    const TimePoint deadline = Clock::now() + timeout;
    zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
    while (!stop_requested()) {
        const Duration left = until(Clock::now(), deadline);
        item.revents = 0;
        try {
            zmq::poll(&item, 1, std::chrono::milliseconds(std::min(left, Duration{100})));
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
            continue;
        }
        if ((item.revents & ZMQ_POLLIN) && out.recv(*socket_, ZMQ_DONTWAIT)) return true;
        if (left.count() == 0) return false;
    }
    return false;
}

Result<Reply> Client::request(Frames request) {
    if (request.empty()) return error("empty request");
    const TimePoint start = Clock::now();
    for (int attempt = 1; config_.attempts == 0 || attempt <= config_.attempts; ++attempt) {
        if (stop_requested()) return error("interrupted");
        Frames copy = request.clone();
        if (!copy.send(*socket_, ZMQ_DONTWAIT)) {
            // A REQ connected (not yet or no longer) to a peer queues the message; EAGAIN only at the HWM.
            log::debug("send to {} would block", current_endpoint());
        } else {
            Frames reply;
            if (wait_reply(reply, config_.timeout)) {
                auto elapsed = std::chrono::duration_cast<Duration>(Clock::now() - start);
                return Reply{std::move(reply), current_, attempt, elapsed};
            }
        }
        if (stop_requested()) {
            open();  // the REQ still waits for a reply: start clean for a next request
            return error("interrupted");
        }
        if (config_.attempts != 0 && attempt == config_.attempts) break;
        // Fail over: close now, let the pair settle, then ask the other server.
        const std::size_t from = current_;
        socket_.reset();
        log::debug("no reply from {} in {} ms, failing over after {} ms", config_.servers[from],
                   config_.timeout.count(), config_.settle.count());
        const TimePoint settled = Clock::now() + config_.settle;
        // The settle delay is the protocol's pause, not a wait for an event; sliced so a stop signal is seen.
        while (!stop_requested() && Clock::now() < settled)
            std::this_thread::sleep_for(std::min(until(Clock::now(), settled), Duration{50}));
        current_ = (current_ + 1) % config_.servers.size();
        open();
        if (on_switch) on_switch(from, current_);
    }
    open();  // the REQ socket is waiting for a reply that will not come: start clean for the next request
    return error(fmt::format("no reply after {} attempts", config_.attempts));
}

}  // namespace pirates::binary_star
