// ppworker: a Paranoid Pirate worker that echoes each request. Heartbeats the queue, reconnects with back-off
// when the queue goes silent. The chaos flags make it crash, hang (alive, silent), drop or slow down.
#include <pirates/common/chaos.hpp>
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/paranoid_pirate/worker.hpp>

#include <thread>

using namespace pirates;

int main(int argc, char** argv) try {
    paranoid_pirate::WorkerOptions options;
    Chaos chaos;
    CommandLine cli("ppworker", "Paranoid Pirate worker: echoes requests, heartbeats, reconnects");
    cli.endpoint("connect", options.connect, "the queue's backend endpoint", true)
        .millis("heartbeat-ms", options.timing.heartbeat, "heartbeat interval")
        .integer("liveness", options.timing.liveness, "silent heartbeats before the queue is presumed dead",
                 1, 1000)
        .millis("reconnect-ms", options.timing.reconnect.initial, "first reconnect delay")
        .millis("reconnect-max-ms", options.timing.reconnect.max, "longest reconnect delay");
    chaos.add_flags(cli);
    pirates::CurveFlags curve;
    pirates::curve_client_flags(cli, curve);
    cli.parse(argc, argv);
    options.security = pirates::client_security(cli, curve);
    chaos.check(cli);
    if (options.timing.reconnect.max < options.timing.reconnect.initial)
        cli.fail("--reconnect-max-ms must be at least --reconnect-ms");
    install_stop_signals();

    long count = 0;
    bool hang = false;
    auto handler = [&](Frames request) -> std::optional<Frames> {
        ++count;
        log::debug("request {}: {}", count, printable(request));
        switch (chaos.on_request(count)) {
            case Chaos::Action::crash:
                crash_now();
            case Chaos::Action::hang:
                hang_until_stopped();
            case Chaos::Action::drop:
                log::info("chaos: dropping request {}", count);
                return std::nullopt;
            case Chaos::Action::delay_then_answer:
                log::info("chaos: answering request {} after {} ms", count, chaos.delay.count());
                // The simulated fault itself: a worker busy for that long.
                std::this_thread::sleep_for(chaos.delay);
                break;
            case Chaos::Action::answer:
                break;
        }
        // --hang-after N: answer the N-th request, then go silent (no replies, no heartbeats) while idle.
        if (chaos.hang_after > 0 && count >= chaos.hang_after) hang = true;
        return request;
    };

    zmq::context_t context(1);
    paranoid_pirate::Worker worker(context, options, handler);
    StopSignalHook hook([&] { worker.request_stop(); });
    log::info("worker connecting to {}", options.connect);
    while (worker.run_once(Duration{100})) {
        if (hang) hang_until_stopped();
    }
    log::info("stopped after {} requests", count);
    return 0;
} catch (...) {
    return exit_on_exception();
}
