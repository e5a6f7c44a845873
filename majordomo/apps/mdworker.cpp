// mdworker: a Majordomo echo worker (replies with the request body), with fault injection for tests and
// demos.
#include <pirates/common/chaos.hpp>
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker.hpp>

#include <fmt/format.h>

#include <string>
#include <thread>
#include <vector>

using namespace pirates;

int main(int argc, char** argv) try {
    majordomo::WorkerOptions options;
    Chaos chaos;
    std::string mdp = "0.1";
    int partials = 0;
    CommandLine cli("mdworker", "Majordomo echo worker: registers for a service and echoes every request.");
    std::vector<std::string> brokers;
    cli.endpoints("connect", brokers,
                  "broker endpoint, or two (A,B: a Binary Star pair; registers with both, serves either)",
                  true)
        .text("service", options.service, "service name to serve", true)
        .millis("heartbeat-ms", options.heartbeat, "heartbeat interval")
        .integer("liveness", options.liveness, "silent heartbeats before the broker counts as dead", 1, 100)
        .millis("reconnect-ms", options.reconnect.initial, "first reconnect delay, doubled up to 32 s")
        .text("mdp", mdp, "protocol: 0.1, 0.2 (18/MDP) or majortomo")
        .integer("partials", partials, "PARTIAL replies (\"partial K/N\") before each final one (0.2)", 0,
                 1000000);
    chaos.add_flags(cli);
    CurveFlags curve;
    curve_client_flags(cli, curve);
    cli.parse(argc, argv);
    options.security = client_security(cli, curve);
    options.connect = fmt::format("{}", fmt::join(brokers, ","));
    chaos.check(cli);
    if (majordomo::is_mmi(options.service))
        cli.fail("mmi.* services are answered by the broker, not by workers");
    options.reconnect.max = std::max(options.reconnect.max, options.reconnect.initial);
    if (auto v = majordomo::parse_version(mdp))
        options.version = *v;
    else
        cli.fail("--mdp must be 0.1, 0.2 or majortomo");
    if (partials > 0 && !majordomo::has_partials(options.version))
        cli.fail("--partials needs --mdp 0.2 or majortomo");

    install_stop_signals();
    zmq::context_t context;
    majordomo::Worker worker(context, options);
    StopSignalHook hook([&] { worker.request_stop(); });
    log::info("worker for '{}' connecting to {} (MDP {})", options.service, options.connect, mdp);
    long n = 0;
    while (!worker.stopped()) {
        auto request = worker.recv(Duration{1000});
        if (!request) continue;
        ++n;
        Duration delay{0};
        switch (chaos.on_request(n)) {
            case Chaos::Action::crash:
                crash_now();
            case Chaos::Action::hang:
                hang_until_stopped();
            case Chaos::Action::drop:
                log::info("chaos: dropping request {}", n);
                continue;
            case Chaos::Action::delay_then_answer:
                delay = chaos.delay;  // in the handler: the worker heartbeats meanwhile
                break;
            case Chaos::Action::answer:
                break;
        }
        log::debug("request {}: {}", n, printable(request->body));
        // The handler runs on a thread of its own while this one heartbeats (Worker::handle).
        worker.handle(std::move(*request), [&](Frames&& body, const majordomo::Worker::PartialSink& partial) {
            if (delay.count() > 0) std::this_thread::sleep_for(delay);
            for (int k = 1; k <= partials; ++k) {
                const std::string text = "partial " + std::to_string(k) + "/" + std::to_string(partials);
                Frames p;
                p.add(Frame(text.data(), text.size()));
                partial(std::move(p));
            }
            return std::move(body);
        });
    }
    const auto s = worker.stats();
    log::info("worker stopping: requests {} replies {} partials {} reconnects {}", s.requests, s.replies,
              s.partials, s.reconnects);
    return 0;
} catch (...) {
    return exit_on_exception();
}
