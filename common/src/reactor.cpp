#include <pirates/common/reactor.hpp>

#include <algorithm>

namespace pirates {

Reactor::Reactor(const ClockSource& clock) : clock_(clock) {}

Reactor::Entry* Reactor::find(zmq::socket_t& socket) {
    for (auto& e : entries_)
        if (e->socket == &socket && !e->removed) return e.get();
    return nullptr;
}

void Reactor::add(zmq::socket_t& socket, Handler on_readable) {
    if (Entry* e = find(socket)) {
        e->handler = std::move(on_readable);
        e->enabled = true;
        return;
    }
    entries_.push_back(std::make_unique<Entry>(Entry{&socket, std::move(on_readable)}));
}

void Reactor::remove(zmq::socket_t& socket) {
    if (Entry* e = find(socket)) e->removed = true;  // erased after the current turn
}

void Reactor::enable(zmq::socket_t& socket, bool enabled) {
    if (Entry* e = find(socket)) e->enabled = enabled;
}

Reactor::TimerId Reactor::add_timer_at(TimePoint when, std::function<void()> fn) {
    TimerId id = next_id_++;
    timers_.emplace(id, Timer{when, Duration{0}, std::move(fn)});
    queue_.emplace(when, id);
    return id;
}

Reactor::TimerId Reactor::add_timer(Duration delay, std::function<void()> fn) {
    return add_timer_at(clock_.now() + delay, std::move(fn));
}

Reactor::TimerId Reactor::add_repeating(Duration interval, std::function<void()> fn) {
    TimerId id = add_timer(interval, std::move(fn));
    timers_.at(id).interval = std::max(interval, Duration{1});
    return id;
}

bool Reactor::cancel(TimerId id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    queue_.erase({it->second.when, id});
    timers_.erase(it);
    return true;
}

bool Reactor::rearm_at(TimerId id, TimePoint when) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    queue_.erase({it->second.when, id});
    it->second.when = when;
    queue_.emplace(when, id);
    return true;
}

bool Reactor::rearm(TimerId id, Duration delay) {
    return rearm_at(id, clock_.now() + delay);
}

bool Reactor::stopped() const {
    return stop_.stop_requested();
}

void Reactor::fire_due_timers() {
    const TimePoint now = clock_.now();
    // Take the due ids first: a timer's callback may add, cancel or re-arm timers.
    std::vector<TimerId> due;
    for (auto it = queue_.begin(); it != queue_.end() && it->first <= now; ++it) due.push_back(it->second);
    for (TimerId id : due) {
        if (stopped()) return;
        auto it = timers_.find(id);
        if (it == timers_.end() || it->second.when > now)
            continue;  // cancelled or moved by an earlier callback
        queue_.erase({it->second.when, id});
        std::function<void()> fn;
        if (it->second.interval.count() > 0) {
            Timer& t = it->second;
            t.when += t.interval;
            if (t.when <= now) t.when = now + t.interval;  // fell behind: no burst of catch-up calls
            queue_.emplace(t.when, id);
            fn = t.fn;  // copy: the callback may cancel its own timer
        } else {
            fn = std::move(it->second.fn);
            timers_.erase(it);
        }
        fn();
    }
}

bool Reactor::run_once(Duration max_wait) {
    if (stopped()) return false;
    // At the start of a turn: a turn cut short by a signal (EINTR, as SIGUSR1 itself does) still gets here.
    if (summary_requested_.exchange(false, std::memory_order_relaxed) && on_summary_) on_summary_();

    std::vector<zmq::pollitem_t> items;
    std::vector<Entry*> polled;
    items.reserve(entries_.size());
    for (auto& e : entries_) {
        if (e->removed || !e->enabled || !*e->socket) continue;
        items.push_back({e->socket->handle(), 0, ZMQ_POLLIN, 0});
        polled.push_back(e.get());
    }

    Duration wait = std::min(max_wait, max_poll);
    if (!queue_.empty()) wait = std::min(wait, until(clock_.now(), queue_.begin()->first));
    try {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(wait));
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
        return !stopped();
    }

    for (std::size_t i = 0; i < items.size() && !stopped(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        Entry* e = polled[i];
        for (std::size_t n = 0; n < max_burst; ++n) {
            if (e->removed || !e->enabled || stopped()) break;
            if (!e->handler()) break;
        }
    }
    std::erase_if(entries_, [](const auto& e) { return e->removed; });

    fire_due_timers();
    return !stopped();
}

void Reactor::run() {
    while (run_once(max_poll)) {
    }
}

WaitResult wait_readable(zmq::socket_t& socket, TimePoint deadline, const ClockSource& clock,
                         const StopSource& stop, Duration slice) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    for (;;) {
        if (stop.stop_requested()) return WaitResult::stopped;
        // Polled at least once, even with the deadline passed: a message already there is not a time-out.
        const Duration wait = std::min(until(clock.now(), deadline), slice);
        item.revents = 0;
        try {
            zmq::poll(&item, 1, wait);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
            continue;
        }
        if (item.revents & ZMQ_POLLIN) return WaitResult::ready;
        if (clock.now() >= deadline) return WaitResult::timeout;
    }
}

bool drain(Reactor& reactor, Duration limit, const std::function<bool()>& busy,
           const std::function<void()>& after_turn) {
    if (limit.count() <= 0 || !busy()) return !busy();
    reactor.reset_stop();
    const Reactor::TimerId deadline = reactor.add_timer(limit, [&reactor] { reactor.request_stop(); });
    while (busy() && reactor.run_once(reactor.max_poll))
        if (after_turn) after_turn();
    reactor.cancel(deadline);
    reactor.request_stop();  // stopped again, as the caller found it
    return !busy();
}

}  // namespace pirates
