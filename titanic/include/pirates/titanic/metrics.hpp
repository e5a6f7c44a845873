#pragma once
// titanic's Prometheus metrics (common/metrics.hpp): titanic_metrics() renders stats(), the core's counters and
// the store's; serve_metrics() exposes them on http://HOST:PORT/metrics, published from the loop's thread.
#include <pirates/common/metrics.hpp>
#include <pirates/titanic/titanic.hpp>

#include <memory>
#include <string>

namespace pirates::titanic {

// Read on the loop's thread only.
std::string titanic_metrics(const Titanic& titanic);

// Call before run(), from its thread; the exporter must outlive run().
std::unique_ptr<metrics::Exporter> serve_metrics(Titanic& titanic, const std::string& address,
                                                 Duration interval = Duration{100});

}  // namespace pirates::titanic
