#pragma once
// mdbroker's Prometheus metrics: broker_metrics() renders Broker::stats() and the core's per-service views;
// serve_metrics() exposes them on http://HOST:PORT/metrics with one call, for mdbroker and for any
// application that embeds a Broker:
//
//     majordomo::Broker broker(context, options);
//     auto exporter = majordomo::serve_metrics(broker, "127.0.0.1:9100");  // keep it while run() runs
//     broker.run();
#include <pirates/common/metrics.hpp>
#include <pirates/majordomo/broker.hpp>

#include <memory>
#include <string>

namespace pirates::majordomo {

// The text of mdbroker's metrics. Read on the loop's thread only (it reads the core).
std::string broker_metrics(const Broker& broker);

// Binds the exporter (logs "bound metrics http://HOST:PORT") and has the broker's loop publish a fresh
// snapshot every `interval`; scrapes never touch the loop. Call before broker.run(), from its thread; the
// returned exporter must outlive run().
std::unique_ptr<metrics::Exporter> serve_metrics(Broker& broker, const std::string& address,
                                                 Duration interval = Duration{100});

}  // namespace pirates::majordomo
