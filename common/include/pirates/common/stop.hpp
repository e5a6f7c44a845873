#pragma once
// A stop request that belongs to one object. Every long-running library object (broker, queue, server,
// worker, client) owns one and offers request_stop(): any thread may call it, the object's loop sees it
// within one poll slice (Reactor::max_poll, 100 ms by default). No library code reads a process-wide flag, so
// an application that embeds a broker and a client stops one without the other; programs wire SIGINT/SIGTERM
// to the objects they run (signals.hpp, StopSignalHook).
#include <atomic>

namespace pirates {

class StopSource {
  public:
    void request_stop() noexcept { stop_.store(true, std::memory_order_relaxed); }
    bool stop_requested() const noexcept { return stop_.load(std::memory_order_relaxed); }
    // Ready to run again (an object restarted after a stop).
    void reset() noexcept { stop_.store(false, std::memory_order_relaxed); }

  private:
    std::atomic<bool> stop_{false};
};

}  // namespace pirates
