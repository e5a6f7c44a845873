// mdworker: a Majordomo echo worker (replies with the request body), with fault injection for tests and
// demos.
#include <pirates/common/chaos.hpp>
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker.hpp>

#include <thread>

using namespace pirates;

int main(int argc, char** argv) try {
    majordomo::WorkerOptions options;
    Chaos chaos;
    CommandLine cli("mdworker", "Majordomo echo worker: registers for a service and echoes every request.");
    cli.endpoint("connect", options.connect, "broker endpoint", true)
        .text("service", options.service, "service name to serve", true)
        .millis("heartbeat-ms", options.heartbeat, "heartbeat interval")
        .integer("liveness", options.liveness, "silent heartbeats before the broker counts as dead", 1, 100)
        .millis("reconnect-ms", options.reconnect.initial, "first reconnect delay, doubled up to 32 s");
    chaos.add_flags(cli);
    cli.parse(argc, argv);
    chaos.check(cli);
    if (majordomo::is_mmi(options.service))
        cli.fail("mmi.* services are answered by the broker, not by workers");
    options.reconnect.max = std::max(options.reconnect.max, options.reconnect.initial);

    install_stop_signals();
    zmq::context_t context;
    majordomo::Worker worker(context, options);
    StopSignalHook hook([&] { worker.request_stop(); });
    log::info("worker for '{}' connecting to {}", options.service, options.connect);
    long n = 0;
    while (!worker.stopped()) {
        auto request = worker.recv(Duration{1000});
        if (!request) continue;
        ++n;
        switch (chaos.on_request(n)) {
            case Chaos::Action::crash:
                crash_now();
            case Chaos::Action::hang:
                hang_until_stopped();
            case Chaos::Action::drop:
                log::info("chaos: dropping request {}", n);
                continue;
            case Chaos::Action::delay_then_answer:
                std::this_thread::sleep_for(chaos.delay);
                break;
            case Chaos::Action::answer:
                break;
        }
        log::debug("request {}: {}", n, printable(request->body));
        Frames body = std::move(request->body);
        worker.reply(std::move(*request), std::move(body));
    }
    const auto& s = worker.stats();
    log::info("worker stopping: requests {} replies {} reconnects {}", s.requests, s.replies, s.reconnects);
    return 0;
} catch (...) {
    return exit_on_exception();
}
