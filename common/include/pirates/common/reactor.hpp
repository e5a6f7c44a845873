#pragma once
// One poll loop with socket handlers and timers.
//
// A socket handler is called when its socket is readable. It should receive at most one message without
// blocking (recv_nowait below) and return true if it got one, false if the socket had nothing. The reactor
// calls it again until it returns false, so each ready socket is drained before the next poll (bounded by
// max_burst, so one busy socket cannot starve the others). A disabled socket is not polled: that is how a
// queue stops reading clients while it has no worker.
//
// Poll items are rebuilt from the registered sockets on every turn, so a driver that closes a socket and
// opens a new one in its place (reconnecting workers) is polled on the new one without further ado.
//
// The loop stops when request_stop() is called, from a handler, a timer or any other thread (the loop sees it
// within max_poll).
//
// This file holds the only code that polls: blocking clients wait for their one socket with wait_readable().
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/stop.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <unordered_map>
#include <vector>

namespace pirates {

// Receive one whole message if one is waiting. False if none was.
inline bool recv_nowait(zmq::socket_t& socket, Frames& out) {
    return out.recv(socket, ZMQ_DONTWAIT);
}

class Reactor {
  public:
    using Handler = std::function<bool()>;
    using TimerId = std::uint64_t;

    explicit Reactor(const ClockSource& clock = steady_clock());

    void add(zmq::socket_t& socket, Handler on_readable);
    void remove(zmq::socket_t& socket);
    void enable(zmq::socket_t& socket, bool enabled);

    // One-shot timer `delay` from now.
    TimerId add_timer(Duration delay, std::function<void()> fn);
    // Timer at an absolute time.
    TimerId add_timer_at(TimePoint when, std::function<void()> fn);
    // Repeating timer every `interval`, first after one interval.
    TimerId add_repeating(Duration interval, std::function<void()> fn);
    // Cancelled timers never fire. False if the id was unknown (already fired or cancelled).
    bool cancel(TimerId id);
    // Move a timer to `delay` from now (a repeating timer keeps its interval afterwards).
    bool rearm(TimerId id, Duration delay);
    bool rearm_at(TimerId id, TimePoint when);
    std::size_t timer_count() const { return timers_.size(); }

    // Run until stopped.
    void run();
    // One turn: poll up to max_wait (less if a timer is due sooner), drain ready sockets, fire due timers.
    // Returns false once the reactor is stopped.
    bool run_once(Duration max_wait);
    // Thread-safe.
    void request_stop() { stop_.request_stop(); }
    void stop() { request_stop(); }
    bool stopped() const;
    // Run again after a stop.
    void reset_stop() { stop_.reset(); }
    // A summary on request (SIGUSR1): on_summary() sets what to call; request_summary(), from any thread, has
    // the loop call it on its own thread at the start of its next turn (within max_poll).
    void on_summary(std::function<void()> fn) { on_summary_ = std::move(fn); }
    void request_summary() { summary_requested_.store(true, std::memory_order_relaxed); }

    std::size_t max_burst = 1000;
    // Longest single poll, so that a stop signal arriving just before poll() is seen promptly.
    Duration max_poll{100};

  private:
    struct Entry {
        zmq::socket_t* socket;
        Handler handler;
        bool enabled = true;
        bool removed = false;
    };
    struct Timer {
        TimePoint when;
        Duration interval{0};  // 0: one-shot
        std::function<void()> fn;
    };

    void fire_due_timers();
    Entry* find(zmq::socket_t& socket);

    const ClockSource& clock_;
    std::vector<std::unique_ptr<Entry>> entries_;
    std::set<std::pair<TimePoint, TimerId>> queue_;  // deadline order; ties in creation order
    std::unordered_map<TimerId, Timer> timers_;
    TimerId next_id_ = 1;
    StopSource stop_;
    std::function<void()> on_summary_;
    std::atomic<bool> summary_requested_{false};
};

// A graceful stop's drain, for a driver whose loop has just stopped: run the loop again while `busy()` holds
// (requests in workers' hands), for at most `limit`, calling `after_turn` after each turn. A request_stop()
// during the drain (a second SIGTERM) ends it at once. Returns true if it ended with nothing busy. The driver
// first stops taking new requests (disables its frontend, or tells its core).
bool drain(Reactor& reactor, Duration limit, const std::function<bool()>& busy,
           const std::function<void()>& after_turn = {});

enum class WaitResult { ready, timeout, stopped };

// Wait until `socket` has a message, `deadline` passes, or `stop` is requested (checked every `slice`, so a
// stop from another thread is seen promptly). EINTR is a spurious wake-up, not an error.
[[nodiscard]] WaitResult wait_readable(zmq::socket_t& socket, TimePoint deadline, const ClockSource& clock,
                                       const StopSource& stop, Duration slice = Duration{100});

}  // namespace pirates
