// mdbroker: the Majordomo (7/MDP 0.1 + 8/MMI) broker. One ROUTER socket for clients and workers.
// Every bound on its memory is a flag with a safe default (docs/majordomo.md, "Bounded memory").
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/broker_metrics.hpp>

using namespace pirates;

int main(int argc, char** argv) try {
    majordomo::BrokerOptions options;
    options.bind = "tcp://*:5555";
    int liveness = options.core.liveness;
    int max_queue = static_cast<int>(options.core.max_queue);
    int max_services = static_cast<int>(options.core.max_services);
    int max_redeliveries = options.core.max_redeliveries;
    Duration summary{0};
    std::string metrics_address;
    options.drain = Duration{2000};
    CommandLine cli(
        "mdbroker",
        "Majordomo broker (7/MDP 0.1, 18/MDP 0.2, 8/MMI): routes client requests to workers by service.");
    cli.endpoint("bind", options.bind, "endpoint to bind for clients and workers")
        .millis("heartbeat-ms", options.core.heartbeat, "heartbeat interval")
        .integer("liveness", liveness, "heartbeats a worker may miss before it is dropped", 1, 100)
        .integer("max-queue", max_queue, "queued requests per service; newer ones are dropped", 1)
        .integer("max-services", max_services, "services known at once", 1)
        .millis(
            "busy-timeout-ms", options.core.busy_timeout,
            "drop a worker silent this long in the middle of a request (alive but hung; its request goes to "
            "the next worker); 0 = never, as the reference broker. A worker whose connection "
            "closes is forgotten at once whatever this says",
            0)
        .bytes("max-message-bytes", options.max_message_bytes,
               "largest frame a peer may send (ZMQ_MAXMSGSIZE); a peer sending a larger one has its "
               "connection closed by libzmq, nothing else is affected; K/M/G suffixes; 0 = no limit")
        .bytes("max-queue-bytes", options.core.max_queue_bytes,
               "bytes all queued requests may hold, across services (each counts its frames + 1K); the "
               "newest request past it is dropped",
               1)
        .millis("request-ttl-ms", options.core.request_ttl,
                "a request queued this long while its service has no worker is dropped; 0 = never", 0)
        .integer("hwm", options.hwm,
                 "socket high-water mark in messages per peer; messages to a peer that does "
                 "not read are dropped past it, so what waits for one peer is at most about hwm x "
                 "max-message-bytes (libzmq counts messages, not bytes)",
                 1)
        .integer("max-redeliveries", max_redeliveries,
                 "times a request is given back to its queue by busy workers expired (hung), then dropped; "
                 "0 = never",
                 0, 1000)
        .millis("summary-ms", summary,
                "log a one-line summary at info level at this interval; 0 = only with -v, every 5000 ms", 0)
        .metrics(metrics_address)
        .millis("drain-ms", options.drain,
                "on SIGTERM/SIGINT, drop new requests but keep forwarding replies to requests workers hold, "
                "for up to this long (until none is held), then DISCONNECT the workers; 0 = stop at once",
                0);
    CurveFlags curve;
    curve_server_flags(cli, curve);
    cli.parse(argc, argv);
    options.security = server_security(cli, curve);
    options.core.liveness = liveness;
    options.core.max_queue = static_cast<std::size_t>(max_queue);
    options.core.max_services = static_cast<std::size_t>(max_services);
    options.core.max_redeliveries = max_redeliveries;
    if (summary.count() == 0 && cli.verbose()) summary = Duration{5000};
    options.summary_interval = summary;

    install_server_signals();
    try {
        zmq::context_t context;
        auto zap = start_zap(context, curve);
        majordomo::Broker broker(context, options);
        std::unique_ptr<metrics::Exporter> exporter;
        if (!metrics_address.empty()) exporter = majordomo::serve_metrics(broker, metrics_address);
        ZapHooks zap_hooks(zap.get(), exporter.get(), "mdbroker");
        StopSignalHook hook([&] {
            notify_stopping();
            broker.request_stop();
        });
        SummarySignalHook summary_hook([&] { broker.request_summary(); });
        notify_ready();
        broker.run();
    } catch (const zmq::error_t& e) {
        log::error("{}", e.what());
        return 1;
    }
    return 0;
} catch (...) {
    return exit_on_exception();
}
