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
//
// Servers (brokers, queues, Titanic, servers) call install_server_signals() instead: the same, and also
//   SIGUSR1: runs every SummarySignalHook (each server logs its one-line summary) and carries on;
//   SIGHUP:  runs every ReloadSignalHook (a CURVE server re-reads its client key folder) and carries on; with
//            no hook, logged ("SIGHUP ignored") and ignored. It never stops a server.
//     install_server_signals();
//     StopSignalHook stop([&] { broker.request_stop(); });
//     SummarySignalHook summary([&] { broker.request_summary(); });
//     ReloadSignalHook reload([&] { zap->reload(); });
// Clients keep SIGHUP's default (a client started from a terminal ends with it).
#include <cstdint>
#include <functional>

namespace pirates {

void install_stop_signals();
void install_server_signals();
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

// Runs `on_summary` each time SIGUSR1 arrives (after install_server_signals()), for as long as it lives.
// With no hook registered, SIGUSR1 is logged and otherwise ignored.
class SummarySignalHook {
  public:
    explicit SummarySignalHook(std::function<void()> on_summary);
    ~SummarySignalHook();
    SummarySignalHook(const SummarySignalHook&) = delete;
    SummarySignalHook& operator=(const SummarySignalHook&) = delete;

  private:
    std::uint64_t id_;
};

// Runs the SIGUSR1 hooks now, as the signal would (tests).
void request_summary();

// Runs `on_reload` each time SIGHUP arrives (after install_server_signals()), for as long as it lives.
// With no hook registered, SIGHUP is logged and otherwise ignored.
class ReloadSignalHook {
  public:
    explicit ReloadSignalHook(std::function<void()> on_reload);
    ~ReloadSignalHook();
    ReloadSignalHook(const ReloadSignalHook&) = delete;
    ReloadSignalHook& operator=(const ReloadSignalHook&) = delete;

  private:
    std::uint64_t id_;
};

// Runs the SIGHUP hooks now, as the signal would (tests).
void request_reload();

// Exit code of a client stopped by SIGINT/SIGTERM before all its requests were answered (128 + SIGINT, as a
// shell reports Ctrl-C): a clean stop, but not a success. Servers stopped by a signal exit 0.
inline constexpr int exit_interrupted = 130;

}  // namespace pirates
