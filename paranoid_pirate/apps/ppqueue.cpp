// ppqueue: the Paranoid Pirate queue (6/PPP). Clients (REQ / Lazy Pirate) on the frontend, ppworkers on the
// backend; heartbeats to idle workers, silent workers dropped after liveness x heartbeat.
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/paranoid_pirate/queue.hpp>

using namespace pirates;

int main(int argc, char** argv) {
    std::string frontend, backend;
    paranoid_pirate::QueueOptions config;
    CommandLine cli("ppqueue", "Paranoid Pirate queue: LRU queue of heartbeating workers");
    cli.endpoint("frontend", frontend, "endpoint to bind for clients", true)
        .endpoint("backend", backend, "endpoint to bind for workers", true)
        .millis("heartbeat-ms", config.heartbeat, "heartbeat interval (default 1000)")
        .integer("liveness", config.liveness, "heartbeats missed before a worker is dropped (default 3)", 1,
                 1000)
        .message_bounds(config.max_message_bytes, config.hwm, "a client or worker");
    config.drain = Duration{2000};
    cli.millis(
        "drain-ms", config.drain,
        "on SIGTERM/SIGINT, stop reading clients but keep forwarding replies to requests workers hold, "
        "for up to this long (until none is held); 0 = stop at once (default 2000)",
        0);
    cli.parse(argc, argv);
    install_server_signals();

    zmq::context_t context(1);
    paranoid_pirate::Queue queue(context, config);
    try {
        queue.bind_frontend(frontend);
        queue.bind_backend(backend);
    } catch (const zmq::error_t& e) {
        log::error("cannot bind: {}", e.what());
        return 1;
    }
    StopSignalHook hook([&] {
        notify_stopping();
        queue.request_stop();
    });
    SummarySignalHook summary_hook([&] { queue.request_summary(); });
    log::info("ready: heartbeat {} ms, liveness {}", config.heartbeat.count(), config.liveness);
    notify_ready();
    queue.run();
    log::info("stopped: {}", queue.summary());
    return 0;
}
