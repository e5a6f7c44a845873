#include <pirates/common/log.hpp>
#include <pirates/simple_pirate/echo_worker.hpp>

#include <algorithm>
#include <thread>

namespace pirates::simple_pirate {

EchoWorker::EchoWorker(zmq::context_t& context, EchoWorkerOptions options, const ClockSource& clock)
    : options_(std::move(options)),
      clock_(clock),
      worker_(context, options_.connect, options_.options, clock) {}

bool EchoWorker::wait(Duration delay) {
    const TimePoint when = clock_.now() + delay;
    // The simulated slowness itself; checked in short steps so that a stop is not held up.
    while (!stopped() && clock_.now() < when)
        std::this_thread::sleep_for(std::min(until(clock_.now(), when), Duration{20}));
    return !stopped();
}

const WorkerStats& EchoWorker::run() {
    log::info("worker ready, connected to {}", options_.connect);
    long n = 0;
    while (!stopped()) {
        auto request = worker_.receive(Duration{100});
        if (!request) continue;
        ++n;
        if (log::enabled(log::Level::debug)) log::debug("request {}: {}", n, printable(*request));
        switch (options_.chaos.on_request(n)) {
            case Chaos::Action::answer:
                worker_.reply(std::move(*request));
                break;
            case Chaos::Action::delay_then_answer:
                log::info("request {}: answering {} ms late", n, options_.chaos.delay.count());
                if (wait(options_.chaos.delay)) worker_.reply(std::move(*request));
                break;
            case Chaos::Action::drop:
                log::info("request {}: dropped (socket reopened, READY sent again)", n);
                worker_.drop();
                break;
            case Chaos::Action::crash:
                crash_now();
            case Chaos::Action::hang:
                hang_until_stopped(stop_);
        }
    }
    const auto& s = worker_.stats();
    log::info("stopping: {} requests, {} replies, {} dropped, {} reconnects", s.requests, s.replies,
              s.dropped, s.reconnects);
    return s;
}

}  // namespace pirates::simple_pirate
