// spqueue: the Simple Pirate queue. Clients (REQ / Lazy Pirate) on the frontend, REQ workers on the backend;
// each request goes to the least recently used idle worker.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/simple_pirate/metrics.hpp>
#include <pirates/simple_pirate/queue.hpp>

int main(int argc, char** argv) try {
    pirates::simple_pirate::QueueOptions config;
    std::string metrics_address;
    int max_held = static_cast<int>(config.max_held);
    pirates::CommandLine cli("spqueue",
                             "Simple Pirate queue: least-recently-used routing of requests to workers.");
    cli.endpoint("frontend", config.frontend, "endpoint to bind for clients, e.g. tcp://*:5555", true)
        .endpoint("backend", config.backend, "endpoint to bind for workers, e.g. tcp://*:5556", true)
        .integer("max-held", max_held, "requests held while no worker is idle, at most", 1)
        .bytes("max-queue-bytes", config.max_queue_bytes,
               "bytes of requests held while no worker is idle, at most; newer ones are dropped", 1)
        .message_bounds(config.max_message_bytes, config.hwm, "a client or worker");
    config.drain = pirates::Duration{2000};
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
    config.max_held = static_cast<std::size_t>(max_held);

    pirates::install_server_signals();
    zmq::context_t context;
    auto zap = pirates::start_zap(context, curve);
    pirates::simple_pirate::Queue queue(context, config);
    pirates::StopSignalHook hook([&] {
        pirates::notify_stopping();
        queue.request_stop();
    });
    pirates::SummarySignalHook summary_hook([&] { queue.request_summary(); });
    std::unique_ptr<pirates::metrics::Exporter> exporter;
    if (!metrics_address.empty()) exporter = pirates::simple_pirate::serve_metrics(queue, metrics_address);
    pirates::ZapHooks zap_hooks(zap.get(), exporter.get(), "spqueue");
    pirates::notify_ready();
    queue.run();
    return 0;
} catch (...) {
    return pirates::exit_on_exception();
}
