#pragma once
// flserver's Prometheus metrics (common/metrics.hpp): server_metrics() renders stats(); serve_metrics() exposes them on
// http://HOST:PORT/metrics, published from the loop's thread.
#include <pirates/common/metrics.hpp>
#include <pirates/freelance/server.hpp>

#include <memory>
#include <string>

namespace pirates::freelance {

// Read on the loop's thread only.
std::string server_metrics(const Server& server);

// Call before run(), from its thread; the exporter must outlive run().
std::unique_ptr<metrics::Exporter> serve_metrics(Server& server, const std::string& address,
                                                 Duration interval = Duration{100});

}  // namespace pirates::freelance
