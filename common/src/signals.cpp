#include <pirates/common/signals.hpp>

#include <atomic>
#include <csignal>

namespace pirates {
namespace {
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

extern "C" void on_stop_signal(int) {
    g_stop.store(true);
}
}  // namespace

void install_stop_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR and loops look at the flag
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() {
    return g_stop.load(std::memory_order_relaxed);
}
void request_stop() {
    g_stop.store(true);
}
void clear_stop_request() {
    g_stop.store(false);
}

}  // namespace pirates
