#include <pirates/paranoid_pirate/metrics.hpp>

namespace pirates::paranoid_pirate {

std::string queue_metrics(const Queue& queue) {
    auto n = [](std::uint64_t v) { return static_cast<double>(v); };
    metrics::MetricsText m;
    const QueueStats& s = queue.stats();
    m.counter("ppqueue_requests_total", "client requests dispatched to a worker", n(s.requests));
    m.counter("ppqueue_replies_total", "worker replies forwarded to clients", n(s.replies));
    m.counter("ppqueue_readies_total", "READY received", n(s.readies));
    m.counter("ppqueue_heartbeats_received_total", "HEARTBEAT received", n(s.heartbeats_received));
    m.counter("ppqueue_heartbeats_sent_total", "HEARTBEAT sent", n(s.heartbeats_sent));
    m.counter("ppqueue_workers_expired_total", "idle workers purged for silence", n(s.expired));
    m.counter("ppqueue_unroutable_total", "workers the backend could not route to", n(s.unroutable));
    m.counter("ppqueue_malformed_total", "malformed messages dropped", n(s.malformed));
    m.counter("ppqueue_malformed_from_workers_total", "malformed messages from workers",
              n(s.malformed_from_workers));
    m.counter("ppqueue_replies_to_gone_clients_total", "replies dropped: the client had gone",
              n(s.replies_to_gone_clients));
    m.counter("ppqueue_replies_would_block_total", "replies dropped: the client was not reading",
              n(s.replies_would_block));
    m.gauge("ppqueue_idle_workers", "workers waiting for a request",
            static_cast<double>(queue.core().idle_count()));
    m.gauge("ppqueue_in_workers_hands", "requests given to workers and not answered yet",
            n(queue.in_workers_hands()));
    return m.take();
}

std::unique_ptr<metrics::Exporter> serve_metrics(Queue& queue, const std::string& address,
                                                 Duration interval) {
    return metrics::serve(queue, address, interval, queue_metrics);
}

}  // namespace pirates::paranoid_pirate
