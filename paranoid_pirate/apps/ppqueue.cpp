// ppqueue: the Paranoid Pirate queue (6/PPP). Clients (REQ / Lazy Pirate) on the frontend, ppworkers on the
// backend; heartbeats to idle workers, silent workers dropped after liveness x heartbeat.
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/paranoid_pirate/queue.hpp>

using namespace pirates;

int main(int argc, char** argv) try {
    std::string frontend, backend;
    paranoid_pirate::QueueOptions config;
    CommandLine cli("ppqueue", "Paranoid Pirate queue: LRU queue of heartbeating workers");
    cli.endpoint("frontend", frontend, "endpoint to bind for clients", true)
        .endpoint("backend", backend, "endpoint to bind for workers", true)
        .millis("heartbeat-ms", config.heartbeat, "heartbeat interval")
        .integer("liveness", config.liveness, "heartbeats missed before a worker is dropped", 1, 1000)
        .message_bounds(config.max_message_bytes, config.hwm, "a client or worker");
    cli.parse(argc, argv);
    install_stop_signals();

    zmq::context_t context(1);
    paranoid_pirate::Queue queue(context, config);
    queue.bind_frontend(frontend);  // a failed bind: BindError, reported below
    queue.bind_backend(backend);
    StopSignalHook hook([&] { queue.request_stop(); });
    log::info("ready: heartbeat {} ms, liveness {}", config.heartbeat.count(), config.liveness);
    queue.run();
    const auto& s = queue.core().stats();
    log::info(
        "stopped: {} requests, {} replies, {} workers expired, {} invalid worker and {} invalid client "
        "messages, {} replies not delivered ({} to clients gone, {} to clients not reading)",
        s.requests, s.replies, s.expired, s.malformed_from_workers, s.malformed - s.malformed_from_workers,
        queue.stats().replies_to_gone_clients + queue.stats().replies_would_block,
        queue.stats().replies_to_gone_clients, queue.stats().replies_would_block);
    return 0;
} catch (...) {
    return exit_on_exception();
}
