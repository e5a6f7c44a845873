#pragma once
// SIGINT/SIGTERM, for programs (library objects never look at signals: they have request_stop()).
//
// install_stop_signals() makes SIGINT/SIGTERM set a process flag that a program's own loops may check
// (stop_requested()), ignores SIGPIPE, and wakes a watcher thread that runs every registered StopSignalHook:
// that is how a program stops the objects it runs, e.g.
//     install_stop_signals();
//     StopSignalHook hook([&] { broker.request_stop(); });
//     broker.run();
// Hooks run on the watcher thread (not in the signal handler), so they may do anything thread-safe.
#include <cstdint>
#include <functional>

namespace pirates {

void install_stop_signals();
bool stop_requested();
void request_stop();        // the same flag, set from code (tests, a fatal protocol state)
void clear_stop_request();  // for tests that stop and restart loops in one process

// Runs `on_stop` when SIGINT or SIGTERM arrives (at once if one already has), for as long as it lives.
class StopSignalHook {
  public:
    explicit StopSignalHook(std::function<void()> on_stop);
    ~StopSignalHook();
    StopSignalHook(const StopSignalHook&) = delete;
    StopSignalHook& operator=(const StopSignalHook&) = delete;

  private:
    std::uint64_t id_;
};

// Exit code of a client stopped by SIGINT/SIGTERM before all its requests were answered (128 + SIGINT, as a
// shell reports Ctrl-C): a clean stop, but not a success. Servers stopped by a signal exit 0.
inline constexpr int exit_interrupted = 130;

}  // namespace pirates
