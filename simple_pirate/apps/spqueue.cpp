// spqueue: the Simple Pirate queue. Clients (REQ / Lazy Pirate) on the frontend, REQ workers on the backend;
// each request goes to the least recently used idle worker.
#include <pirates/common/cli.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/simple_pirate/queue.hpp>

int main(int argc, char** argv) try {
    pirates::simple_pirate::QueueOptions config;
    int max_held = static_cast<int>(config.max_held);
    pirates::CommandLine cli("spqueue",
                             "Simple Pirate queue: least-recently-used routing of requests to workers.");
    cli.endpoint("frontend", config.frontend, "endpoint to bind for clients, e.g. tcp://*:5555", true)
        .endpoint("backend", config.backend, "endpoint to bind for workers, e.g. tcp://*:5556", true)
        .integer("max-held", max_held, "requests held while no worker is idle, at most", 1)
        .bytes("max-queue-bytes", config.max_queue_bytes,
               "bytes of requests held while no worker is idle, at most; newer ones are dropped", 1)
        .message_bounds(config.max_message_bytes, config.hwm, "a client or worker");
    cli.parse(argc, argv);
    config.max_held = static_cast<std::size_t>(max_held);

    pirates::install_stop_signals();
    zmq::context_t context;
    pirates::simple_pirate::Queue queue(context, config);
    pirates::StopSignalHook hook([&] { queue.request_stop(); });
    queue.run();
    return 0;
} catch (...) {
    return pirates::exit_on_exception();
}
