#include <pirates/binary_star/pairing.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/socket.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>

namespace pirates::binary_star {

Pairing::Pairing(zmq::context_t& context, PairingOptions options, Reactor& reactor, const ClockSource& clock)
    : options_(std::move(options)),
      context_(context),
      reactor_(reactor),
      clock_(clock),
      fsm_(options_.role, options_.heartbeat, clock.now() + 2 * options_.heartbeat),  // set again by start()
      // A subscriber that has not subscribed to everything this long after connecting is not the peer.
      statepub_(context, std::max(2 * options_.heartbeat, Duration{1000})),
      statesub_(make_socket(context, zmq::socket_type::sub)),
      statesub_events_(make_socket(context, zmq::socket_type::pair)),
      lease_(lease_ttl(options_)) {
    if (options_.role != State::primary && options_.role != State::backup)
        throw std::invalid_argument("binary_star: the role is PRIMARY or BACKUP");
}

PairSecurity pair_security(const Certificate& own, const std::string& peer_public_key) {
    PairSecurity s{Security::server(own), Security::client(own, peer_public_key)};
    s.pub.domain = zap_peer_domain;
    return s;
}

void Pairing::open_subscriber() {
    // Replacing the members in place: the reactor polls whatever socket they hold on its next turn.
    SocketOptions sub_options;
    // libzmq applies the limit to the handshake's commands too, and CURVE's INITIATE is larger than a state.
    sub_options.max_message_bytes =
        options_.sub_security.enabled() ? kMaxCurveCommandBytes : kMaxStateMessageBytes;
    sub_options.security = options_.sub_security;
    statesub_ = make_socket(context_, zmq::socket_type::sub, sub_options);
    statesub_.set(zmq::sockopt::subscribe, "");
    // Unique in the process: a Pairing made later at the same address in the same context (or a monitor
    // endpoint libzmq has not yet released) never collides with an earlier one's.
    static std::atomic<std::uint64_t> monitors{0};
    ++subscriber_opened_;
    const std::string monitor = fmt::format("inproc://pirates-bstar-statesub-{}", ++monitors);
    if (zmq_socket_monitor(statesub_.handle(), monitor.c_str(),
                           ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_CONNECTED) != 0)
        throw zmq::error_t();
    statesub_events_ = make_socket(context_, zmq::socket_type::pair);
    statesub_events_.connect(monitor);
    connect_endpoint(statesub_, options_.state_sub);
}

bool Pairing::on_subscriber_event() {
    Frames m;
    if (!recv_nowait(statesub_events_, m)) return false;
    std::uint16_t event = 0;
    if (m.empty() || m[0].size() < sizeof event) return true;
    std::memcpy(&event, m[0].data(), sizeof event);
    if (event == ZMQ_EVENT_CONNECT_RETRIED || event == ZMQ_EVENT_CONNECTED) {
        // libzmq is reconnecting (or has) by itself: nothing for us to do.
        if (reopen_timer_) reactor_.cancel(*reopen_timer_);
        reopen_timer_.reset();
    } else if (event == ZMQ_EVENT_DISCONNECTED && !reopen_timer_) {
        // After a normal disconnection libzmq says CONNECT_RETRIED at once. After a protocol error (a
        // message over kMaxStateMessageBytes, a broken handshake) it says nothing more: a connecting socket
        // gives up on its endpoint for good, and we would never hear the peer again. So unless the retry is
        // announced within half a heartbeat, open a new subscriber (at most once per half heartbeat).
        reopen_timer_ = reactor_.add_timer(std::max(options_.heartbeat / 2, Duration{1}), [this] {
            reopen_timer_.reset();
            // What the old connection delivered is still the peer's word: hear it before closing.
            for (std::size_t n = 0; n < reactor_.max_burst && on_peer_state(); ++n) {
            }
            if (fatal_) return;
            ++stats_.subscriber_reopened;
            log::info(
                "state-sub: libzmq gave up on the connection to {} (the peer sent what it refuses); "
                "reconnecting with a new subscriber",
                options_.state_sub);
            open_subscriber();
        });
    }
    return true;
}

void Pairing::start() {
    if (started_) return;
    started_ = true;
    // Until the peer is first heard, it counts as alive for two heartbeats from now: a primary that restarts
    // next to an active backup hears it before it could take a client request and make two actives. (The
    // reference starts with the peer already expired.)
    fsm_ = ServerCore(options_.role, options_.heartbeat, clock_.now() + 2 * options_.heartbeat);
    if (!options_.witness.empty()) fsm_.use_witness();
    fsm_.awake(clock_.now());
    if (options_.pub_security.enabled()) {
        SocketOptions pub_options;
        pub_options.security = options_.pub_security;
        pub_options.max_message_bytes = kMaxCurveCommandBytes;  // subscriptions and the handshake only
        pub_options.sndhwm = 10;                                // a state is only worth its newest value
        curve_pub_.emplace(make_socket(context_, zmq::socket_type::pub, pub_options));
        state_pub_ep_ = bind_and_announce(*curve_pub_, options_.state_pub, "state-pub");
    } else {
        state_pub_ep_ = statepub_.bind(options_.state_pub, "state-pub");
    }
    open_subscriber();
    log::info("state {} (heartbeat {} ms, peer publisher {})", name(fsm_.state()), options_.heartbeat.count(),
              options_.state_sub);
    // The order is the order of each turn: the peer's states before anything else.
    watch(statesub_, [this] { return on_peer_state(); });
    watch(statesub_events_, [this] { return on_subscriber_event(); });
    if (!options_.witness.empty()) {
        SocketOptions witness_options;
        witness_options.immediate = 1;  // no queue for a witness not connected: a late request is no use
        witness_options.sndhwm = 4;
        witness_options.max_message_bytes = kMaxStateMessageBytes;
        witness_ = make_socket(context_, zmq::socket_type::dealer, witness_options);
        connect_endpoint(witness_, options_.witness);
        log::info("witness {} (lease {} ms)", options_.witness, lease_.ttl().count());
        watch(witness_, [this] { return on_witness_reply(); });
    }
    if (!curve_pub_)  // a PUB has nothing to read; StatePublisher handles its connections' subscriptions
        watch(statepub_.socket(), [this] { return statepub_.on_readable(clock_.now()); });
    if (options_.read_on_timer)
        reactor_.add_repeating(std::max(options_.heartbeat / 4, Duration{1}), [this] {
            awake();
            drain_watched();
        });
    // The heartbeat runs on its own timer: nothing that arrives moves it (every socket's burst per turn is
    // bounded, so a flood delays it by one turn at most).
    reactor_.add_repeating(options_.heartbeat, [this] {
        awake();
        publish_state();
        ask_witness();
    });
    // The stall watch: an idle server still says it is awake at least every half heartbeat.
    reactor_.add_repeating(std::max(options_.heartbeat / 2, Duration{1}), [this] { awake(); });
}

void Pairing::watch(zmq::socket_t& socket, std::function<bool()> handler) {
    if (options_.read_on_timer) {
        watched_.push_back(std::move(handler));
        return;
    }
    reactor_.add(socket, [this, handler = std::move(handler)] {
        awake();
        return handler();
    });
}

void Pairing::drain_watched() {
    for (auto& handler : watched_) {
        for (std::size_t n = 0; n < reactor_.max_burst && !fatal_ && handler(); ++n) {
        }
        if (fatal_) return;
    }
}

void Pairing::awake() {
    const TimePoint before = fsm_.peer_expiry();
    const bool stalled = fsm_.awake(clock_.now());
    check_lease();
    if (!stalled) return;
    ++stats_.stalls;
    if (fsm_.peer_expiry() != before)
        log::info(
            "stalled for more than a heartbeat: the peer is not judged on it (expiry moved {} ms later)",
            std::chrono::duration_cast<Duration>(fsm_.peer_expiry() - before).count());
}

void Pairing::publish_state() {
    // Never blocks: a subscriber whose queue is full misses this one; with no subscriber it is dropped.
    if (curve_pub_)
        (void)curve_pub_->send(encode_state(fsm_.state()), zmq::send_flags::dontwait);
    else
        statepub_.publish(encode_state(fsm_.state()).to_string_view(), clock_.now());
    ++stats_.heartbeats_sent;
}

void Pairing::fail(Error e) {
    log::error("{} in state {}; stopping", e.reason, name(fsm_.state()));
    fatal_ = std::move(e);
    reactor_.stop();
}

std::optional<Step> Pairing::apply(Event event) {
    const State before = fsm_.state();
    auto step = fsm_.on_event(event, clock_.now());
    if (!step) {
        fail(step.error());
        return std::nullopt;
    }
    if (step->next != before) {
        log::info("state {} -> {} on {}", name(before), name(step->next), name(event));
        if (before == State::passive && step->next == State::active) ++stats_.failovers;
        if (on_state_) on_state_(before, step->next, event);
    }
    return *step;
}

bool Pairing::on_peer_state() {
    Frames m;
    if (!recv_nowait(statesub_, m)) return false;
    auto peer = decode_state(m);
    if (!peer) {
        ++stats_.peer_invalid;
        log::debug("dropped invalid peer state: {} ({})", peer.error().reason, printable(m));
        return true;
    }
    ++stats_.peer_states;
    apply(peer_event(*peer));
    return true;
}

bool Pairing::admit_client_request() {
    if (fatal_) return false;
    check_lease();
    if (fsm_.state() != State::active && fsm_.peer_expired(clock_.now())) {
        // This request may make us active: first hear whatever the peer said before it, so that a state
        // queued behind a stall (or arriving just as it ends) is not judged after the request.
        for (std::size_t n = 0; n < reactor_.max_burst && on_peer_state(); ++n) {
        }
        if (fatal_) return false;
    }
    auto step = apply(Event::client_request);  // never fatal by the table, but the table is the judge
    if (!step) return false;
    if (!step->accepted) {
        ++stats_.requests_refused;
        log::debug("refused a request in state {}", name(fsm_.state()));
        return false;
    }
    return true;
}

// The witness link: separate from the rest so that it merges easily.

void Pairing::ask_witness() {
    if (!witness_ || fatal_ || !fsm_.wants_lease(clock_.now())) return;
    const LeaseRequest request = lease_.request(options_.role, clock_.now());
    Frames m = encode_lease_request(request);
    // Never blocks: a witness not connected (ZMQ_IMMEDIATE) or not reading misses this one.
    if (m.send(witness_, ZMQ_DONTWAIT))
        ++stats_.lease_requests;
    else
        log::debug("witness: lease request {} not sent (not connected)", request.seq);
}

bool Pairing::on_witness_reply() {
    Frames m;
    if (!recv_nowait(witness_, m)) return false;
    auto reply = decode_lease_reply(m);
    if (!reply || !lease_.on_reply(*reply)) {
        ++stats_.witness_invalid;
        log::debug("witness: dropped {}: {}", reply ? "a stale reply" : "an invalid reply",
                   reply ? printable(m) : reply.error().reason);
        return true;
    }
    if (reply->granted)
        ++stats_.lease_granted;
    else
        ++stats_.lease_denied;
    fsm_.lease_until(lease_.expiry());
    check_lease();
    return true;
}

void Pairing::check_lease() {
    if (!witness_ || fatal_) return;
    const TimePoint now = clock_.now();
    const bool held = fsm_.lease_held(now);
    if (held != lease_logged_) {
        lease_logged_ = held;
        if (held)
            log::info("witness: lease held (until {} ms from now)",
                      std::chrono::duration_cast<Duration>(lease_.expiry() - now).count());
        else
            log::info("witness: lease not held");
    }
    if (fsm_.state() == State::active) apply(Event::lease_lost);
}

}  // namespace pirates::binary_star
