#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/freelance/server.hpp>

#include <thread>

namespace pirates::freelance {

namespace {

// Bind a concrete endpoint, retrying for a few seconds while the port is still held: a previous listener on
// it closing (libzmq closes listeners asynchronously), or a restarted server whose port is not free yet.
std::string bind_concrete(zmq::socket_t& socket, const std::string& endpoint, bool expect_busy = false) {
    const TimePoint deadline = Clock::now() + Duration{5000};
    bool warned = false;
    while (true) {
        try {
            return bind_and_announce(socket, endpoint, "server");
        } catch (const BindError& e) {
            if (e.error_number() != EADDRINUSE || Clock::now() >= deadline) throw;
            if (!warned && !expect_busy) log::warn("{} is in use, retrying for a few seconds", endpoint);
            warned = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
}

}  // namespace

std::string bind_with_identity(zmq::socket_t& socket, const std::string& bind, const std::string& identity) {
    if (!bind.ends_with(":*")) {
        socket.set(zmq::sockopt::routing_id, identity.empty() ? bind : identity);
        return bind_concrete(socket, bind);
    }
    if (!identity.empty()) {
        socket.set(zmq::sockopt::routing_id, identity);
        return bind_and_announce(socket, bind, "server");
    }
    // OS-picked port: learn it, then bind again with the identity set (see the header for why).
    bind_endpoint(socket, bind);
    std::string concrete = socket.get(zmq::sockopt::last_endpoint);
    socket.unbind(concrete);
    socket.set(zmq::sockopt::routing_id, concrete);
    return bind_concrete(socket, concrete, true);  // busy until libzmq has closed the first listener
}

Server::Server(zmq::context_t& context, ServerOptions options, const ClockSource& clock)
    : config_(std::move(options)),
      clock_(clock),
      reactor_(clock),
      socket_(make_router(context, config_.hwm, config_.max_message_bytes, config_.security)),
      delayed_(config_.max_queue_bytes) {
    if (config_.model == 3) {
        endpoint_ = bind_with_identity(socket_, config_.bind, config_.identity);
        identity_ = config_.identity.empty() ? endpoint_ : config_.identity;
    } else {
        endpoint_ = config_.bind.ends_with(":*") ? bind_and_announce(socket_, config_.bind, "server")
                                                 : bind_concrete(socket_, config_.bind);
    }
}

void Server::run(const std::atomic<bool>* stop) {
    // No reset of the stop request: a stop asked for before run() (a signal during start-up) ends it at once.
    reactor_.add(socket_, [this] {
        Frames message;
        if (!recv_nowait(socket_, message)) return false;
        handle(std::move(message));
        return true;
    });
    std::optional<Reactor::TimerId> watch;
    if (stop)
        watch = reactor_.add_repeating(Duration{10}, [this, stop] {
            if (stop->load(std::memory_order_relaxed)) reactor_.request_stop();
        });
    arm_flush();
    reactor_.run();
    reactor_.remove(socket_);
    if (watch) reactor_.cancel(*watch);
}

void Server::arm_flush() {
    auto due = delayed_.next_deadline();
    if (!due) return;
    if (flush_timer_ && reactor_.rearm_at(*flush_timer_, *due)) return;
    flush_timer_ = reactor_.add_timer_at(*due, [this] {
        flush_timer_.reset();
        flush_delayed(clock_.now());
        arm_flush();
    });
}

void Server::flush_delayed(TimePoint now) {
    delayed_.take_due(now, due_);
    for (auto& reply : due_) answer(std::move(reply));
    due_.clear();
}

void Server::answer(Frames reply) {
    switch (send_routed(socket_, reply)) {
        case SendResult::sent:
            return;
        case SendResult::peer_gone:
            ++counters_.peer_gone;
            log::debug("answer dropped: client {} has gone", hex(reply.front().to_string_view()));
            return;
        case SendResult::would_block:
            ++counters_.would_block;
            log::debug("answer dropped: client {} is not reading", hex(reply.front().to_string_view()));
            return;
    }
}

DecodedRequest decode_request(int model, Frames message) {
    using Kind = DecodedRequest::Kind;
    auto malformed = [](std::string_view why) { return DecodedRequest{Kind::malformed, {}, why}; };
    if (message.size() < 2) return malformed("no body");
    Frames reply;
    reply.add(message.pop());  // the client's identity
    if (model == 3) {
        if (message.size() == 1 && equals(message.front(), "PING")) {
            reply.add(frame("PONG"));
            return {Kind::ping, std::move(reply), {}};
        }
        if (message.front().size() == 0) return malformed("empty sequence");
        reply.add(message.pop());  // sequence
        reply.add(frame("OK"));
        return {Kind::request, std::move(reply), {}};
    }
    // REP envelope: everything up to and including the empty delimiter goes back as it came.
    while (!message.empty() && message.front().size() != 0) reply.add(message.pop());
    if (message.empty()) return malformed("no delimiter");
    reply.add(message.pop());
    if (message.empty()) return malformed("empty body");
    if (model == 2) {
        reply.add(message.pop());  // sequence
        reply.add(frame("OK"));
    } else {
        while (!message.empty()) reply.add(message.pop());  // echo
    }
    return {Kind::request, std::move(reply), {}};
}

void Server::handle(Frames message) {
    const std::string seen = log::enabled(log::Level::debug) ? printable(message) : std::string();
    auto decoded = decode_request(config_.model, std::move(message));
    switch (decoded.kind) {
        case DecodedRequest::Kind::malformed:
            ++counters_.malformed;
            log::debug("dropped malformed message ({}): {}", decoded.why, seen);
            return;
        case DecodedRequest::Kind::ping:
            ++counters_.pings;
            answer(std::move(decoded.reply));
            return;
        case DecodedRequest::Kind::request:
            break;
    }
    Frames reply = std::move(decoded.reply);
    long n = static_cast<long>(++counters_.requests);
    switch (config_.chaos.on_request(n)) {
        case Chaos::Action::crash:
            crash_now();
        case Chaos::Action::hang:
            hang_until_stopped();
        case Chaos::Action::drop:
            log::debug("chaos: dropping request {}", n);
            return;
        case Chaos::Action::delay_then_answer:
            if (!delayed_.hold(std::move(reply), clock_.now() + config_.chaos.delay)) {
                ++counters_.dropped_overflow;
                log::warn("request {}: dropped, {} bytes of late answers are held already", n,
                          delayed_.bytes());
            }
            arm_flush();
            return;
        case Chaos::Action::answer:
            answer(std::move(reply));
            return;
    }
}

}  // namespace pirates::freelance
