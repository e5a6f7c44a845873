#include <pirates/common/chaos.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <thread>

namespace pirates {

void Chaos::add_flags(CommandLine& cli) {
    cli.integer("crash-after", crash_after, "exit abruptly on the request after the N-th (0: never)")
        .integer("hang-after", hang_after,
                 "go silent (no replies, no heartbeats) after N requests (0: never)")
        .integer("slow-after", slow_after, "answer late after N requests (with --delay-ms; 0: never)")
        .millis("delay-ms", delay, "how late a slow answer is", 0)
        .integer("drop-every", drop_every, "never answer every K-th request (0: never)");
}

void Chaos::check(const CommandLine& cli) const {
    if (slow_after > 0 && delay.count() == 0) cli.fail("--slow-after needs --delay-ms");
}

Chaos::Action Chaos::on_request(long n) const {
    if (crash_after > 0 && n > crash_after) return Action::crash;
    if (hang_after > 0 && n > hang_after) return Action::hang;
    if (drop_every > 0 && n % drop_every == 0) return Action::drop;
    if (slow_after > 0 && n > slow_after && delay.count() > 0) return Action::delay_then_answer;
    return Action::answer;
}

void crash_now() {
    log::warn("chaos: simulating a crash");
    std::_Exit(3);
}

void hang_until_stopped() {
    log::warn("chaos: simulating a hang (alive and silent)");
    // Not waiting for an event of ours: this *is* the simulated fault, a process that does nothing.
    while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::_Exit(0);
}

void hang_until_stopped(const StopSource& stop) {
    log::warn("chaos: simulating a hang (alive and silent)");
    while (!stop.stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::_Exit(0);
}

}  // namespace pirates
