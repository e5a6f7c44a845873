#pragma once
// spqueue's Prometheus metrics (common/metrics.hpp): queue_metrics() renders stats() and the held requests; serve_metrics() exposes them on
// http://HOST:PORT/metrics, published from the loop's thread.
#include <pirates/common/metrics.hpp>
#include <pirates/simple_pirate/queue.hpp>

#include <memory>
#include <string>

namespace pirates::simple_pirate {

// Read on the loop's thread only.
std::string queue_metrics(const Queue& queue);

// Call before run(), from its thread; the exporter must outlive run().
std::unique_ptr<metrics::Exporter> serve_metrics(Queue& queue, const std::string& address,
                                                 Duration interval = Duration{100});

}  // namespace pirates::simple_pirate
