#include <pirates/freelance/metrics.hpp>

namespace pirates::freelance {

std::string server_metrics(const Server& server) {
    auto n = [](std::uint64_t v) { return static_cast<double>(v); };
    metrics::MetricsText m;
    const ServerStats& s = server.stats();
    m.counter("flserver_requests_total", "requests answered", n(s.requests));
    m.counter("flserver_pings_total", "PINGs answered (model 3)", n(s.pings));
    m.counter("flserver_malformed_total", "malformed messages dropped", n(s.malformed));
    m.counter("flserver_peer_gone_total", "answers to clients that had gone, dropped", n(s.peer_gone));
    m.counter("flserver_would_block_total", "answers to clients not reading, dropped", n(s.would_block));
    m.counter("flserver_dropped_overflow_total", "late answers dropped: --max-queue-bytes held",
              n(s.dropped_overflow));
    return m.take();
}

std::unique_ptr<metrics::Exporter> serve_metrics(Server& server, const std::string& address,
                                                 Duration interval) {
    return metrics::serve(server, address, interval, server_metrics);
}

}  // namespace pirates::freelance
