#include <pirates/majordomo/broker_metrics.hpp>

namespace pirates::majordomo {

std::string broker_metrics(const Broker& broker) {
    const BrokerStats stats = broker.stats();
    const BrokerCoreStats& s = stats.core;
    const BrokerCore& core = broker.core();
    metrics::MetricsText m;
    auto count = [](std::uint64_t v) { return static_cast<double>(v); };
    m.counter("mdbroker_requests_total", "well-formed client requests (mmi included)", count(s.requests));
    m.counter("mdbroker_dispatched_total", "requests sent to workers", count(s.dispatched));
    m.counter("mdbroker_replies_total", "replies forwarded to clients", count(s.replies));
    m.counter("mdbroker_mmi_requests_total", "mmi.* requests answered by the broker", count(s.mmi_requests));
    m.counter("mdbroker_malformed_total", "messages dropped as invalid", count(s.malformed));
    m.counter("mdbroker_protocol_errors_total", "messages breaking the protocol", count(s.protocol_errors));
    m.counter("mdbroker_workers_registered_total", "READYs accepted", count(s.workers_registered));
    m.counter("mdbroker_workers_expired_total", "workers dropped by liveness or busy-timeout",
              count(s.expired));
    m.counter("mdbroker_workers_vanished_total", "workers forgotten because their connection was gone",
              count(s.workers_vanished));
    m.counter("mdbroker_worker_disconnects_total", "DISCONNECTs from known workers",
              count(s.worker_disconnects));
    m.counter("mdbroker_queue_full_drops_total", "requests refused by a full service queue (--max-queue)",
              count(s.queue_full_drops));
    m.counter("mdbroker_queue_bytes_drops_total", "requests refused by --max-queue-bytes",
              count(s.queue_bytes_drops));
    m.counter("mdbroker_service_limit_drops_total", "requests or READYs refused by --max-services",
              count(s.service_limit_drops));
    m.counter("mdbroker_requests_expired_total", "queued requests dropped after --request-ttl-ms",
              count(s.requests_expired));
    m.counter("mdbroker_requests_requeued_total", "requests given back to their queue by a worker lost busy",
              count(s.requests_requeued));
    m.counter("mdbroker_redelivery_drops_total", "requests dropped after --max-redeliveries",
              count(s.redelivery_drops));
    m.counter("mdbroker_unroutable_total", "messages to clients that were gone", count(s.unroutable));
    m.counter("mdbroker_hwm_drops_total", "messages to clients whose pipe was full (--hwm)",
              count(s.hwm_drops));
    m.counter("mdbroker_refused_draining_total", "client requests dropped while stopping",
              count(s.refused_draining));
    m.counter("mdbroker_connections_accepted_total", "TCP/IPC connections accepted",
              count(stats.driver.connections_accepted));
    m.counter("mdbroker_connections_closed_total", "TCP/IPC connections closed",
              count(stats.driver.connections_closed));
    m.counter("mdbroker_requests_refused_passive_total",
              "client requests dropped because this broker of a pair was not the active one",
              count(s.requests_refused_passive));
    m.counter("mdbroker_requests_dropped_passive_total",
              "queued requests dropped when this broker of a pair stopped being the active one",
              count(s.requests_dropped_passive));
    const binary_star::Pairing* pair = broker.pairing();
    m.gauge("mdbroker_ha_active",
            "1 while this broker dispatches client requests (single, or ACTIVE of a pair)",
            broker.serving() ? 1 : 0);
    const std::string state = pair ? std::string(binary_star::name(pair->state())) : "SINGLE";
    for (const char* st : {"SINGLE", "PRIMARY", "BACKUP", "ACTIVE", "PASSIVE"})
        m.gauge("mdbroker_ha_state",
                "1 for the broker's current state (SINGLE: not one of a pair), 0 for the others",
                state == st ? 1 : 0, {{"state", st}});
    m.counter("mdbroker_ha_failovers_total", "PASSIVE -> ACTIVE: took over from a peer found gone",
              count(pair ? pair->stats().failovers : 0));
    m.gauge("mdbroker_workers", "workers registered now", static_cast<double>(core.worker_count()));
    m.gauge("mdbroker_idle_workers", "workers waiting for a request", static_cast<double>(core.idle_count()));
    m.gauge("mdbroker_services", "services known now", static_cast<double>(core.service_count()));
    m.gauge("mdbroker_queued_requests", "requests waiting for a worker",
            static_cast<double>(core.queued_count()));
    m.gauge("mdbroker_queued_bytes", "bytes the queued requests count against --max-queue-bytes",
            static_cast<double>(core.queued_bytes()));
    const auto services = core.services();
    for (const auto& v : services)
        m.gauge("mdbroker_service_workers", "workers registered for the service",
                static_cast<double>(v.workers), {{"service", v.name}});
    for (const auto& v : services)
        m.gauge("mdbroker_service_queued", "requests queued for the service", static_cast<double>(v.queued),
                {{"service", v.name}});
    // Per-service counters live with the service: they start again from 0 when a service is forgotten (no
    // worker, nothing queued), which Prometheus reads as a counter reset.
    for (const auto& v : services)
        m.counter("mdbroker_service_requests_total", "client requests for the service", count(v.requests),
                  {{"service", v.name}});
    for (const auto& v : services)
        m.counter("mdbroker_service_replies_total", "replies forwarded for the service", count(v.replies),
                  {{"service", v.name}});
    m.histogram("mdbroker_request_duration_seconds", "from a request's arrival to its reply leaving",
                s.request_duration);
    return m.take();
}

std::unique_ptr<metrics::Exporter> serve_metrics(Broker& broker, const std::string& address,
                                                 Duration interval) {
    return metrics::serve(broker, address, interval, broker_metrics);
}

}  // namespace pirates::majordomo
