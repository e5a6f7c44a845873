#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>

namespace pirates {
namespace {
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

// Self-pipe: the handler writes one byte (async-signal-safe), the watcher thread reads it and runs the hooks.
int g_pipe[2] = {-1, -1};

struct Hooks {
    std::mutex mutex;
    std::map<std::uint64_t, std::function<void()>> hooks;    // stop (SIGINT, SIGTERM)
    std::map<std::uint64_t, std::function<void()>> summary;  // SIGUSR1
    std::map<std::uint64_t, std::function<void()>> reload;   // SIGHUP
    std::uint64_t next_id = 1;
    bool watcher_started = false;
};
Hooks& hooks() {
    static Hooks* h = new Hooks;  // never destroyed: the detached watcher may outlive main's statics
    return *h;
}

void run_hooks() {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    for (auto& [id, fn] : h.hooks) fn();
}

void run_summary_hooks() {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    if (h.summary.empty()) log::info("SIGUSR1: no summary to log");
    for (auto& [id, fn] : h.summary) fn();
}

void run_reload_hooks() {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    if (h.reload.empty()) log::info("SIGHUP ignored");
    for (auto& [id, fn] : h.reload) fn();
}

// One byte per signal in the pipe: 's' stop, 'u' SIGUSR1, 'h' SIGHUP.
void watch() {
    for (;;) {
        char c;
        ssize_t n = ::read(g_pipe[0], &c, 1);
        if (n == 1) {
            if (c == 'u')
                run_summary_hooks();
            else if (c == 'h')
                run_reload_hooks();
            else
                run_hooks();
        } else if (n < 0 && errno != EINTR) {
            return;
        }
    }
}

void wake_watcher(char what) {
    if (g_pipe[1] >= 0) {
        int saved = errno;
        [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &what, 1);
        errno = saved;
    }
}

extern "C" void on_stop_signal(int) {
    g_stop.store(true);
    wake_watcher('s');
}

extern "C" void on_server_signal(int sig) {
    wake_watcher(sig == SIGUSR1 ? 'u' : 'h');
}
}  // namespace

void install_stop_signals() {
    {
        auto& h = hooks();
        std::lock_guard lock(h.mutex);
        if (g_pipe[0] < 0 && ::pipe2(g_pipe, O_CLOEXEC) != 0) g_pipe[0] = g_pipe[1] = -1;
        if (g_pipe[0] >= 0 && !h.watcher_started) {
            h.watcher_started = true;
            std::thread(watch).detach();
        }
    }
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

void install_server_signals() {
    install_stop_signals();
    struct sigaction sa {};
    sa.sa_handler = on_server_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;  // nothing to interrupt: the watcher thread does the work
    sigaction(SIGUSR1, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
}

bool stop_requested() {
    return g_stop.load(std::memory_order_relaxed);
}
void request_stop() {
    g_stop.store(true);
    run_hooks();
}
void clear_stop_request() {
    g_stop.store(false);
}

StopSignalHook::StopSignalHook(std::function<void()> on_stop) {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    id_ = h.next_id++;
    if (g_stop.load()) on_stop();
    h.hooks.emplace(id_, std::move(on_stop));
}

StopSignalHook::~StopSignalHook() {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    h.hooks.erase(id_);
}

SummarySignalHook::SummarySignalHook(std::function<void()> on_summary) {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    id_ = h.next_id++;
    h.summary.emplace(id_, std::move(on_summary));
}

SummarySignalHook::~SummarySignalHook() {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    h.summary.erase(id_);
}

void request_summary() {
    run_summary_hooks();
}

ReloadSignalHook::ReloadSignalHook(std::function<void()> on_reload) {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    id_ = h.next_id++;
    h.reload.emplace(id_, std::move(on_reload));
}

ReloadSignalHook::~ReloadSignalHook() {
    auto& h = hooks();
    std::lock_guard lock(h.mutex);
    h.reload.erase(id_);
}

void request_reload() {
    run_reload_hooks();
}

}  // namespace pirates
