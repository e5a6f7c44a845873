#pragma once
// bstarsrv's Prometheus metrics (common/metrics.hpp): the state as a gauge (bstarsrv_state{state=".."} is 1 for
// the current state, 0 for the others), the fail-over counter and the rest of stats(); serve_metrics()
// exposes them on http://HOST:PORT/metrics, published from the loop's thread.
#include <pirates/binary_star/server.hpp>
#include <pirates/binary_star/witness_server.hpp>
#include <pirates/common/metrics.hpp>

#include <memory>
#include <string>

namespace pirates::binary_star {

// Read on the loop's thread only.
std::string server_metrics(const Server& server);

// Call before run(), from its thread; the exporter must outlive run().
std::unique_ptr<metrics::Exporter> serve_metrics(Server& server, const std::string& address,
                                                 Duration interval = Duration{100});

// bstarwitness's: bstarwitness_lease_holder{role=".."} (1 for the holder, 0 for the other) and its counters.
std::string witness_metrics(const Witness& witness);
std::unique_ptr<metrics::Exporter> serve_metrics(Witness& witness, const std::string& address,
                                                 Duration interval = Duration{100});

}  // namespace pirates::binary_star
