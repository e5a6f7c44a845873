// bstarsrv: one server of a Binary Star pair, with an echo service. Logs every state change.
//   bstarsrv --primary --frontend tcp://*:5001 --state-pub tcp://*:5003 --state-sub tcp://localhost:5004
//   bstarsrv --backup  --frontend tcp://*:5002 --state-pub tcp://*:5004 --state-sub tcp://localhost:5003
#include <pirates/binary_star/metrics.hpp>
#include <pirates/binary_star/server.hpp>
#include <pirates/common/chaos.hpp>
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/signals.hpp>

#include <thread>

using namespace pirates;
using namespace pirates::binary_star;

int main(int argc, char** argv) try {
    bool primary = false, backup = false;
    ServerOptions config;
    Chaos chaos;
    std::string metrics_address;
    Duration summary_every{0};
    CommandLine cli("bstarsrv", "Binary Star server (primary or backup) with an echo service");
    cli.flag("primary", primary, "run as the primary (exactly one of --primary/--backup)")
        .flag("backup", backup, "run as the backup")
        .endpoint("frontend", config.frontend, "endpoint to bind for clients", true)
        .endpoint("state-pub", config.state_pub, "endpoint to bind the state publisher on", true)
        .endpoint("state-sub", config.state_sub, "the peer's state publisher, to connect to", true)
        .millis("heartbeat-ms", config.heartbeat, "state heartbeat interval")
        .endpoint("witness", config.witness,
                  "the pair's witness (bstarwitness), to connect to: a take-over then needs its lease")
        .millis("lease-ms", config.lease_ttl, "the lease asked of the witness; 0 = 3 x heartbeat", 0)
        .bytes("max-message-bytes", config.max_message_bytes,
               "largest client request; a client sending more is disconnected (0: no limit)")
        .millis("summary-ms", summary_every,
                "log a one-line summary at info level at this interval; 0 = never", 0)
        .metrics(metrics_address);
    chaos.add_flags(cli);
    CurveFlags curve;
    curve_server_flags(cli, curve);
    cli.parse(argc, argv);
    config.security = server_security(cli, curve);
    chaos.check(cli);
    if (primary == backup) cli.fail("give exactly one of --primary and --backup");
    config.role = primary ? State::primary : State::backup;
    install_server_signals();

    zmq::context_t context(1);
    auto zap = start_zap(context, curve);
    Server server(context, config);
    long n = 0;
    server.on_request([&](Frames request) -> std::optional<Frames> {
        switch (chaos.on_request(++n)) {
            case Chaos::Action::crash:
                crash_now();
            case Chaos::Action::hang:
                hang_until_stopped();
            case Chaos::Action::drop:
                log::info("chaos: dropping request {}", n);
                return std::nullopt;
            case Chaos::Action::delay_then_answer:
                std::this_thread::sleep_for(chaos.delay);
                break;
            case Chaos::Action::answer:
                break;
        }
        return request;  // echo
    });
    StopSignalHook stop_hook([&] {
        notify_stopping();
        server.request_stop();
    });
    auto summary = [&] {
        const auto s = server.stats();
        return fmt::format(
            "state {}: served {}, refused {}, peer states {}, invalid peer messages {}, stalls {}, "
            "subscriber "
            "reopened {}, fail-overs {}",
            name(server.state()), s.requests_served, s.requests_refused, s.peer_states, s.peer_invalid,
            s.stalls, s.subscriber_reopened, s.failovers);
    };
    server.on_summary([&] { log::info("{}", summary()); });
    SummarySignalHook summary_hook([&] { server.request_summary(); });
    if (summary_every.count() > 0) server.every(summary_every, [&] { log::info("{}", summary()); });
    server.start();  // bound and serving: ready
    std::unique_ptr<metrics::Exporter> exporter;
    if (!metrics_address.empty()) exporter = serve_metrics(server, metrics_address);
    notify_ready();
    auto fatal = server.run();
    const auto s = server.stats();
    log::info("stopping in {}", summary());
    log::info(
        "state-pub: {} connections, {} subscribed to everything, {} other subscriptions dropped, {} other "
        "messages dropped, closed {} (protocol) {} (handshake timeout) {} (full)",
        s.state_pub.connections, s.state_pub.subscribers.subscribed_all,
        s.state_pub.subscribers.subscriptions_dropped, s.state_pub.subscribers.messages_dropped,
        s.state_pub.closed_protocol, s.state_pub.closed_handshake, s.state_pub.closed_full);
    return fatal ? 1 : 0;
} catch (...) {
    return exit_on_exception();
}
