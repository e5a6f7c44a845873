// mdbroker: the Majordomo (7/MDP 0.1 + 8/MMI) broker. One ROUTER socket for clients and workers.
// Every bound on its memory is a flag with a safe default (docs/majordomo.md, "Bounded memory").
// With --primary or --backup it is one of a Binary Star pair (docs/majordomo.md, "High availability"):
//   mdbroker --primary --bind tcp://*:5555 --state-pub tcp://*:5003 --state-sub tcp://hostb:5004
//   mdbroker --backup  --bind tcp://*:5555 --state-pub tcp://*:5004 --state-sub tcp://hosta:5003
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
    bool primary = false, backup = false;
    std::string state_pub, state_sub;
    Duration state_heartbeat{0}, lease{0};
    std::string witness;
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
                0)
        .flag("primary", primary,
              "run as the primary of a Binary Star pair of brokers (with --state-pub and --state-sub)")
        .flag("backup", backup, "run as the backup of a Binary Star pair of brokers")
        .endpoint("state-pub", state_pub, "a pair's broker: endpoint to bind the state publisher on")
        .endpoint("state-sub", state_sub, "a pair's broker: the peer's state publisher, to connect to")
        .millis("state-heartbeat-ms", state_heartbeat,
                "a pair's broker: interval of the state heartbeat to the peer, which is taken for gone after "
                "2 of them; 0 = --heartbeat-ms",
                0)
        .endpoint(
            "witness", witness,
            "a pair's broker: the pair's witness (bstarwitness), to connect to: a take-over then needs its "
            "lease")
        .millis("lease-ms", lease,
                "a pair's broker: the lease asked of the witness; 0 = 3 x the state heartbeat", 0);
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
    if (primary && backup) cli.fail("give at most one of --primary and --backup");
    if (primary || backup) {
        if (state_pub.empty() || state_sub.empty())
            cli.fail("--primary and --backup need --state-pub and --state-sub");
        binary_star::PairingOptions pair;
        pair.role = primary ? binary_star::State::primary : binary_star::State::backup;
        pair.state_pub = state_pub;
        pair.state_sub = state_sub;
        pair.heartbeat = state_heartbeat.count() > 0 ? state_heartbeat : options.core.heartbeat;
        pair.witness = witness;
        pair.lease_ttl = lease;
        options.pair = pair;
    } else if (!state_pub.empty() || !state_sub.empty() || state_heartbeat.count() > 0 || !witness.empty() ||
               lease.count() > 0) {
        cli.fail(
            "--state-pub, --state-sub, --state-heartbeat-ms, --witness and --lease-ms are for one of a pair: "
            "give "
            "--primary or --backup");
    }

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
        if (broker.fatal()) return 1;  // logged by the broker
    } catch (const zmq::error_t& e) {
        log::error("{}", e.what());
        return 1;
    }
    return 0;
} catch (...) {
    return exit_on_exception();
}
