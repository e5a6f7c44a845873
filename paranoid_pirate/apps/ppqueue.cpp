// ppqueue: the Paranoid Pirate queue (6/PPP). Clients (REQ / Lazy Pirate) on the frontend, ppworkers on the
// backend; heartbeats to idle workers, silent workers dropped after liveness x heartbeat.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/paranoid_pirate/metrics.hpp>
#include <pirates/paranoid_pirate/queue.hpp>

using namespace pirates;

int main(int argc, char** argv) try {
    std::string frontend, backend;
    paranoid_pirate::QueueOptions config;
    std::string metrics_address;
    CommandLine cli("ppqueue", "Paranoid Pirate queue: LRU queue of heartbeating workers");
    cli.endpoint("frontend", frontend, "endpoint to bind for clients", true)
        .endpoint("backend", backend, "endpoint to bind for workers", true)
        .millis("heartbeat-ms", config.heartbeat, "heartbeat interval")
        .integer("liveness", config.liveness, "heartbeats missed before a worker is dropped", 1, 1000)
        .message_bounds(config.max_message_bytes, config.hwm, "a client or worker");
    config.drain = Duration{2000};
    cli.millis(
        "drain-ms", config.drain,
        "on SIGTERM/SIGINT, stop reading clients but keep forwarding replies to requests workers hold, "
        "for up to this long (until none is held); 0 = stop at once",
        0);
    pirates::CurveFlags curve;
    pirates::curve_server_flags(cli, curve);
    cli.metrics(metrics_address);
    cli.parse(argc, argv);
    config.security = pirates::server_security(cli, curve);
    install_server_signals();

    zmq::context_t context(1);
    auto zap = pirates::start_zap(context, curve);
    paranoid_pirate::Queue queue(context, config);
    queue.bind_frontend(frontend);  // a failed bind: BindError, reported below
    queue.bind_backend(backend);
    StopSignalHook hook([&] {
        notify_stopping();
        queue.request_stop();
    });
    SummarySignalHook summary_hook([&] { queue.request_summary(); });
    std::unique_ptr<metrics::Exporter> exporter;
    if (!metrics_address.empty()) exporter = paranoid_pirate::serve_metrics(queue, metrics_address);
    ZapHooks zap_hooks(zap.get(), exporter.get(), "ppqueue");
    log::info("ready: heartbeat {} ms, liveness {}", config.heartbeat.count(), config.liveness);
    notify_ready();
    queue.run();
    log::info("stopped: {}", queue.summary());
    return 0;
} catch (...) {
    return exit_on_exception();
}
