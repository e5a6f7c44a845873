// bstarwitness: the witness of a Binary Star pair (docs/binary_star.md, Witness). Run it on a third host; both
// servers connect to it (--witness EP). It lends the right to be active to one server at a time, as a lease.
//   bstarwitness --bind tcp://*:5005
#include <pirates/binary_star/metrics.hpp>
#include <pirates/binary_star/witness_server.hpp>
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/signals.hpp>

using namespace pirates;
using namespace pirates::binary_star;

int main(int argc, char** argv) try {
    WitnessOptions config;
    Duration summary_every{0};
    std::string metrics_address;
    CommandLine cli("bstarwitness",
                    "Binary Star witness: lends the active role to one server of a pair at a time");
    cli.endpoint("bind", config.bind, "endpoint to bind for the pair's servers", true)
        .millis("max-lease-ms", config.max_lease,
                "longest lease granted; also how long after start no lease is granted (one granted before a "
                "restart may still run)")
        .millis("summary-ms", summary_every,
                "log a one-line summary at info level at this interval; 0 = never", 0)
        .metrics(metrics_address);
    cli.parse(argc, argv);
    install_server_signals();

    zmq::context_t context(1);
    Witness witness(context, config);
    auto summary = [&] {
        const auto& s = witness.stats();
        const auto holder = witness.holder();
        return fmt::format(
            "holder {}: {} granted, {} denied, {} new holders, {} malformed, {} refused, {} unroutable",
            holder ? name(*holder) : "none", s.granted, s.denied, s.new_holders, s.malformed, s.refused,
            s.unroutable);
    };
    witness.on_summary([&] { log::info("{}", summary()); });
    if (summary_every.count() > 0) witness.every(summary_every, [&] { log::info("{}", summary()); });
    StopSignalHook stop_hook([&] {
        notify_stopping();
        witness.request_stop();
    });
    SummarySignalHook summary_hook([&] { witness.request_summary(); });
    witness.start();  // bound: ready
    std::unique_ptr<metrics::Exporter> exporter;
    if (!metrics_address.empty()) exporter = serve_metrics(witness, metrics_address);
    notify_ready();
    witness.run();
    log::info("stopping: {}", summary());
    return 0;
} catch (...) {
    return exit_on_exception();
}
