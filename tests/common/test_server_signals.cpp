// install_server_signals (SIGUSR1 -> SummarySignalHook, SIGHUP ignored), Reactor::request_summary, drain().
#include <doctest/doctest.h>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/signals.hpp>

#include "support/net.hpp"

#include <atomic>
#include <csignal>
#include <mutex>

using namespace pirates;
using namespace std::chrono_literals;

TEST_CASE("SIGUSR1 runs the summary hooks on the loop's thread, SIGHUP is logged, neither stops anything") {
    install_server_signals();
    clear_stop_request();
    std::mutex mutex;
    std::string lines;
    log::set_sink([&](log::Level, std::string_view message, std::string_view) {
        std::lock_guard lock(mutex);
        lines.append(message).append("\n");
    });
    Reactor r;
    int summaries = 0;
    r.on_summary([&] { ++summaries; });  // run on this thread, inside run()
    SummarySignalHook hook([&r] { r.request_summary(); });
    r.add_timer(1ms, [] {
        std::raise(SIGUSR1);
        std::raise(SIGHUP);
    });
    r.add_repeating(1ms, [&] {
        std::lock_guard lock(mutex);
        if (summaries >= 1 && lines.find("SIGHUP ignored") != std::string::npos) r.request_stop();
    });
    r.run();
    CHECK(summaries == 1);
    CHECK_FALSE(stop_requested());
    log::set_sink({});
}

TEST_CASE("SIGHUP runs the reload hooks while one lives, and is only logged without one") {
    install_server_signals();
    clear_stop_request();
    std::atomic<int> reloads{0};
    {
        ReloadSignalHook hook([&] { ++reloads; });
        std::raise(SIGHUP);
        CHECK(test::eventually([&] { return reloads.load() == 1; }));
        request_reload();
        CHECK(reloads.load() == 2);
    }
    std::atomic<bool> ignored{false};
    log::set_sink([&](log::Level, std::string_view message, std::string_view) {
        if (message.find("SIGHUP ignored") != std::string_view::npos) ignored = true;
    });
    std::raise(SIGHUP);
    CHECK(test::eventually([&] { return ignored.load(); }));
    log::set_sink({});
    CHECK(reloads.load() == 2);
    CHECK_FALSE(stop_requested());
}

TEST_CASE("drain: runs a stopped loop again while busy, up to its limit, and a new stop ends it") {
    Reactor r;
    int busy = 3;
    r.request_stop();
    // Busy for three more turns: done before the limit.
    r.add_repeating(1ms, [&] { busy = std::max(busy - 1, 0); });
    CHECK(drain(r, 10s, [&] { return busy > 0; }));
    CHECK(r.stopped());
    // Busy for ever: ends at its limit, not done.
    busy = 1000000;
    const auto start = Clock::now();
    CHECK_FALSE(drain(r, 20ms, [&] { return busy > 0; }));
    CHECK(Clock::now() - start >= 20ms);
    // A stop requested during the drain (a second SIGTERM) ends it at once.
    r.add_timer(1ms, [&] { r.request_stop(); });
    CHECK_FALSE(drain(r, 10s, [&] { return busy > 0; }));
    // Nothing busy, or no time: nothing runs.
    CHECK(drain(r, 10s, [] { return false; }));
    CHECK_FALSE(drain(r, 0ms, [] { return true; }));
}
