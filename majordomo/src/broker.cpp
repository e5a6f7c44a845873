#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/protocol.hpp>

#include <cstring>

namespace pirates::majordomo {

namespace {
std::atomic<unsigned> monitor_count{0};

SocketOptions broker_socket_options(const BrokerOptions& options) {
    SocketOptions o = router_options(options.hwm, options.max_message_bytes);
    o.linger_ms = 100;
    o.security = options.security;
    return o;
}

SocketOptions monitor_socket_options() {
    // Its pipe is unbounded on our side (rcvhwm 0): libzmq must never have to drop or wait on an event; we
    // read them every loop turn.
    SocketOptions o;
    o.rcvhwm = 0;
    return o;
}
}  // namespace

Broker::Broker(zmq::context_t& context, BrokerOptions options, const ClockSource& clock)
    : socket_(make_socket(context, zmq::socket_type::router, broker_socket_options(options))),
      monitor_(make_socket(context, zmq::socket_type::pair, monitor_socket_options())),
      options_(std::move(options)),
      clock_(clock),
      core_(options_.core),
      reactor_(clock) {
    reactor_.on_summary([this] { log::info("{}", summary()); });
    // The monitor before the bind, so that no connection is missed.
    const std::string monitor_endpoint = "inproc://pirates-mdbroker-monitor-" +
                                         std::to_string(reinterpret_cast<std::uintptr_t>(this)) + "-" +
                                         std::to_string(monitor_count.fetch_add(1));
    if (zmq_socket_monitor(socket_.handle(), monitor_endpoint.c_str(),
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0)
        throw zmq::error_t();
    monitor_.connect(monitor_endpoint);
    endpoint_ = bind_and_announce(socket_, options_.bind, "broker");
    if (options_.pair) {
        // The state channel is read on the Pairing's own timer, not polled with the ROUTER on every turn:
        // a round trip through the broker then costs what a single broker's does (bench_ha). Whenever a
        // client request could make this broker active, the Pairing reads the peer's states first.
        binary_star::PairingOptions pair = *options_.pair;
        pair.read_on_timer = true;
        pairing_.emplace(context, pair, reactor_, clock);
        pairing_->on_state_change([this](binary_star::State from, binary_star::State to,
                                         binary_star::Event cause) { on_pair_state(from, to, cause); });
        core_.set_admission([this] { return pairing_->admit_client_request(); });
        pairing_->start();
        core_.set_ha(ha_view());
    }
}

HaView Broker::ha_view() const {
    HaView v;
    if (!pairing_) return v;
    const binary_star::State state = pairing_->state();
    v.ha = state == binary_star::State::active ? "active" : "passive";
    v.role = pairing_->options().role == binary_star::State::primary ? "primary" : "backup";
    v.state = std::string(binary_star::name(state));
    v.failovers = pairing_->stats().failovers;
    return v;
}

void Broker::on_pair_state(binary_star::State from, binary_star::State to, binary_star::Event) {
    core_.set_ha(ha_view());
    if (from == binary_star::State::active && to != binary_star::State::active) {
        // No longer the one that serves: what waits here is left to the other broker (the clients' retries).
        const std::size_t dropped = core_.drop_queued();
        if (dropped > 0) log::info("no longer active: {} queued requests dropped", dropped);
    }
}

Broker::~Broker() {
    zmq_socket_monitor(socket_.handle(), nullptr, 0);  // stop the monitor before either socket closes
}

bool Broker::read_monitor_event() {
    // Each event: a 6-byte frame (uint16 event, uint32 value = the fd for these two) and the endpoint.
    if (!event_.recv(monitor_, ZMQ_DONTWAIT)) return false;
    if (event_.size() >= 1 && event_[0].size() >= 6) {
        std::uint16_t event = 0;
        std::uint32_t value = 0;
        std::memcpy(&event, event_[0].data(), sizeof event);
        std::memcpy(&value, static_cast<const char*>(event_[0].data()) + sizeof event, sizeof value);
        const int fd = static_cast<int>(value);
        if (event == ZMQ_EVENT_ACCEPTED) {
            ++stats_.connections_accepted;
            open_.insert(fd);
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            log::debug("connection {} closed", fd);
            ++stats_.connections_closed;
            open_.erase(fd);
            core_.on_connection_closed(fd, clock_.now(), out_);
        }
    }
    event_.clear();
    return true;
}

void Broker::drain_monitor() {
    while (read_monitor_event()) {
    }
}

void Broker::on_message() {
    // The connection it came on: ZMQ_SRCFD of the first frame from the wire (the identity frame a ROUTER
    // makes carries no metadata when it was prefetched by a poll); -1 for inproc: no tracking.
    const int fd = in_.size() >= 2 ? zmq_msg_get(in_[1].handle(), ZMQ_SRCFD) : -1;
    if (fd < 0) {
        core_.on_message(std::move(in_), clock_.now(), out_);
        return;
    }
    if (!is_ready_command(in_)) {
        core_.on_message(std::move(in_), clock_.now(), out_, fd);
        return;
    }
    // A READY binds the connection to a worker. First every pending event: a DISCONNECTED of an older
    // connection on the same (reused) fd comes before the ACCEPTED of this one, which comes before this
    // message. If the fd is then not open, this connection has closed already (its close was read before
    // its READY): the worker is registered and forgotten at once, never bound to a dead fd.
    drain_monitor();
    const bool closed = !open_.contains(fd);
    core_.on_message(std::move(in_), clock_.now(), out_, fd);
    if (closed) {
        log::debug("READY on connection {}, which has closed already", fd);
        core_.on_connection_closed(fd, clock_.now(), out_);
    }
}

std::string Broker::summary() const {
    const auto& s = core_.stats();
    const auto& d = stats_;
    std::string line = fmt::format(
        "services {} workers {} idle {} queued {} queued-bytes {} | requests {} replies {} mmi {} queue-full "
        "{} "
        "queue-bytes-full {} requests-expired {} service-limit {} evicted {} malformed {} protocol-errors {} "
        "expired {} vanished {} requeued {} unroutable {} hwm-drops {} refused-draining {} connections {} "
        "closed {} partials {} partials-dropped {} busy-expired {} redelivery-drops {}",
        core_.service_count(), core_.worker_count(), core_.idle_count(), core_.queued_count(),
        core_.queued_bytes(), s.requests, s.replies, s.mmi_requests, s.queue_full_drops, s.queue_bytes_drops,
        s.requests_expired, s.service_limit_drops, s.evicted_requests, s.malformed, s.protocol_errors,
        s.expired, s.workers_vanished, s.requests_requeued, s.unroutable, s.hwm_drops, s.refused_draining,
        d.connections_accepted, d.connections_closed, s.partials, s.partials_dropped, s.busy_expired,
        s.redelivery_drops);
    if (!pairing_) return line + " ha single";
    const auto p = pairing_->stats();
    return fmt::format("{} ha {} state {} refused-passive {} dropped-passive {} failovers {} peer-states {}",
                       line, core_.ha().ha, binary_star::name(pairing_->state()), s.requests_refused_passive,
                       s.requests_dropped_passive, p.failovers, p.peer_states);
}

void Broker::publish() {
    const auto& s = core_.stats();
    workers_.store(core_.worker_count(), std::memory_order_relaxed);
    idle_.store(core_.idle_count(), std::memory_order_relaxed);
    services_.store(core_.service_count(), std::memory_order_relaxed);
    queued_.store(core_.queued_count(), std::memory_order_relaxed);
    requests_.store(s.requests, std::memory_order_relaxed);
    replies_.store(s.replies, std::memory_order_relaxed);
    malformed_.store(s.malformed, std::memory_order_relaxed);
    protocol_errors_.store(s.protocol_errors, std::memory_order_relaxed);
}

Broker::Snapshot Broker::snapshot() const {
    return Snapshot{workers_.load(),  idle_.load(),    services_.load(),  queued_.load(),
                    requests_.load(), replies_.load(), malformed_.load(), protocol_errors_.load()};
}

void Broker::after_turn(Reactor::TimerId tick) {
    reactor_.rearm_at(tick, core_.next_deadline());
    publish();
}

void Broker::drain(Reactor::TimerId tick) {
    core_.begin_drain();
    const std::uint64_t replies_before = core_.stats().replies;
    log::info("draining: {} requests in workers' hands, new requests dropped, for up to {} ms",
              core_.busy_count(), options_.drain.count());
    const bool done = pirates::drain(
        reactor_, options_.drain, [this] { return core_.busy_count() > 0; },
        [this, tick] { after_turn(tick); });
    const std::uint64_t forwarded = core_.stats().replies - replies_before;
    if (done)
        log::info("drained: {} replies forwarded", forwarded);
    else
        log::info("drain ended with {} requests still in workers' hands ({} replies forwarded)",
                  core_.busy_count(), forwarded);
}

void Broker::run() {
    log::info(
        "broker ready on {} (heartbeat {} ms, liveness {}, max-queue {}, max-queue-bytes {}, request-ttl {} "
        "ms, "
        "max-message-bytes {}, hwm {})",
        endpoint_, options_.core.heartbeat.count(), options_.core.liveness, options_.core.max_queue,
        options_.core.max_queue_bytes, options_.core.request_ttl.count(), options_.max_message_bytes,
        options_.hwm);
    if (pairing_)
        log::info("one of a Binary Star pair: {} (state heartbeat {} ms, state-pub {}, peer {})",
                  core_.ha().role, pairing_->options().heartbeat.count(), pairing_->state_pub_endpoint(),
                  pairing_->options().state_sub);
    // Drain what is waiting (bounded, so timers are not starved under a flood).
    reactor_.max_burst = 10000;
    reactor_.add(socket_, [this] {
        // One message object reused for every receive: its storage is kept between messages.
        if (pairing_) pairing_->awake();  // the stall watch, before anything is handled
        if (!in_.recv(socket_, ZMQ_DONTWAIT)) return false;
        on_message();
        return true;
    });
    reactor_.add(monitor_, [this] { return read_monitor_event(); });
    // Repeating (so that it outlives its firing); its time is set from the core after every turn.
    const Reactor::TimerId tick = reactor_.add_repeating(options_.core.heartbeat, [this] {
        const TimePoint now = clock_.now();
        if (now >= core_.next_deadline()) core_.tick(now, out_);
    });
    reactor_.rearm_at(tick, core_.next_deadline());
    Reactor::TimerId summary_timer = 0;
    if (options_.summary_interval.count() > 0)
        summary_timer =
            reactor_.add_repeating(options_.summary_interval, [this] { log::info("{}", summary()); });
    while (reactor_.run_once(Duration{100})) after_turn(tick);
    if (fatal())
        log::error("broker of a pair stopping: {}", fatal()->reason);
    else if (options_.drain.count() > 0 && core_.busy_count() > 0)
        drain(tick);
    reactor_.cancel(tick);
    if (summary_timer) reactor_.cancel(summary_timer);
    reactor_.remove(socket_);
    reactor_.remove(monitor_);
    if (options_.disconnect_on_stop) {
        core_.disconnect_all(out_);
    }
    publish();
    log::info("broker stopping: {}", summary());
}

}  // namespace pirates::majordomo
