// flserver: a Freelance server. --model 1: echo (REP envelope); 2: `seq "OK"` (REP envelope); 3: ROUTER whose
// routing identity is its endpoint, PONG to PING and `seq "OK"` to requests.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/freelance/metrics.hpp>
#include <pirates/freelance/server.hpp>

using namespace pirates;

int main(int argc, char** argv) try {
    freelance::ServerOptions config;
    std::string metrics_address;
    CommandLine cli("flserver", "Freelance server (10/FLP), model 1, 2 or 3");
    cli.integer("model", config.model, "1: echo, 2: seq \"OK\", 3: router with PING/PONG", 1, 3, true)
        .endpoint("bind", config.bind, "endpoint to bind (tcp://127.0.0.1:* picks a port)", true)
        .text("identity", config.identity,
              "model 3: routing identity, the endpoint clients connect to "
              "(if not given: the bound endpoint)")
        .message_bounds(config.max_message_bytes, config.hwm, "a client")
        .bytes("max-queue-bytes", config.max_queue_bytes,
               "late answers (--slow-after) held at most; newer ones are dropped", 1);
    config.chaos.add_flags(cli);
    CurveFlags curve;
    curve_server_flags(cli, curve);
    cli.metrics(metrics_address);
    cli.parse(argc, argv);
    config.security = server_security(cli, curve);
    config.chaos.check(cli);
    if (!config.identity.empty() && config.model != 3)
        cli.fail("--identity is only meaningful with --model 3");

    install_server_signals();
    zmq::context_t context;
    auto zap = start_zap(context, curve);
    freelance::Server server(context, config);  // a failed bind: BindError, reported below
    if (config.model == 3) log::info("model 3 server, identity {}", server.identity());
    StopSignalHook stop_hook([&] {
        notify_stopping();
        server.request_stop();
    });
    auto summary = [&] {
        const auto& c = server.stats();
        return fmt::format(
            "{} requests, {} pings, {} malformed, {} late answers dropped (queue full), {} answers not "
            "delivered ({} to clients gone, {} to clients not reading)",
            c.requests, c.pings, c.malformed, c.dropped_overflow, c.peer_gone + c.would_block, c.peer_gone,
            c.would_block);
    };
    server.on_summary([&] { log::info("{}", summary()); });
    SummarySignalHook summary_hook([&] { server.request_summary(); });
    std::unique_ptr<metrics::Exporter> exporter;
    if (!metrics_address.empty()) exporter = freelance::serve_metrics(server, metrics_address);
    ZapHooks zap_hooks(zap.get(), exporter.get(), "flserver");
    notify_ready();
    server.run();
    log::info("stopping: {}", summary());
    return 0;
} catch (...) {
    return exit_on_exception();
}
