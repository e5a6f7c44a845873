#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/simple_pirate/echo_worker.hpp>

#include <thread>

namespace pirates::simple_pirate {

WorkerCounters run_echo_worker(zmq::context_t& context, const EchoWorkerConfig& config) {
    Worker worker(context, config.connect, config.options);
    log::info("worker ready, connected to {}", config.connect);
    long n = 0;
    while (!stop_requested()) {
        auto request = worker.receive(Duration{100});
        if (!request) continue;
        ++n;
        if (log::enabled(log::Level::debug)) log::debug("request {}: {}", n, printable(*request));
        switch (config.chaos.on_request(n)) {
            case Chaos::Action::answer:
                worker.reply(std::move(*request));
                break;
            case Chaos::Action::delay_then_answer: {
                log::info("request {}: answering {} ms late", n, config.chaos.delay.count());
                const TimePoint when = Clock::now() + config.chaos.delay;
                // The simulated slowness itself; checked in short steps so that a stop signal is not held up.
                while (!stop_requested() && Clock::now() < when)
                    std::this_thread::sleep_for(std::min(until(Clock::now(), when), Duration{20}));
                if (!stop_requested()) worker.reply(std::move(*request));
                break;
            }
            case Chaos::Action::drop:
                log::info("request {}: dropped (socket reopened, READY sent again)", n);
                worker.drop();
                break;
            case Chaos::Action::crash:
                crash_now();
            case Chaos::Action::hang:
                hang_until_stopped();
        }
    }
    const auto& c = worker.counters();
    log::info("stopping: {} requests, {} replies, {} dropped, {} reconnects", c.requests, c.replies,
              c.dropped, c.reconnects);
    return c;
}

}  // namespace pirates::simple_pirate
