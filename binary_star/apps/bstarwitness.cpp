// bstarwitness: the witness of a Binary Star pair (docs/binary_star.md, Witness). Run it on a third host; both
// servers connect to it (--witness EP). It lends the right to be active to one server at a time, as a lease.
//   bstarwitness --bind tcp://*:5005
#include <pirates/binary_star/witness.hpp>
#include <pirates/common/cli.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/common/socket.hpp>

using namespace pirates;
using namespace pirates::binary_star;

namespace {

struct Counts {
    std::uint64_t granted = 0, denied = 0, malformed = 0, refused = 0, unroutable = 0, holder_changes = 0;
};

}  // namespace

int main(int argc, char** argv) try {
    std::string bind;
    Duration max_ttl{10000};
    Duration summary_every{0};
    CommandLine cli("bstarwitness",
                    "Binary Star witness: lends the active role to one server of a pair at a time");
    cli.endpoint("bind", bind, "endpoint to bind for the pair's servers", true)
        .millis("max-lease-ms", max_ttl,
                "longest lease granted; also how long after start no lease is granted (one granted before a "
                "restart may still run)")
        .millis("summary-ms", summary_every,
                "log a one-line summary at info level at this interval; 0 = never", 0);
    cli.parse(argc, argv);
    install_server_signals();

    zmq::context_t context(1);
    // A request is five short frames: anything large is not one (libzmq drops the connection).
    auto socket = make_socket(context, zmq::socket_type::router, router_options(1000, 256));
    bind_and_announce(socket, bind, "witness");
    const ClockSource& clock = steady_clock();
    Reactor reactor(clock);
    WitnessCore core(max_ttl, clock.now());
    Counts counts;
    log::info("no lease granted for the first {} ms (--max-lease-ms)", max_ttl.count());
    reactor.add(socket, [&] {
        Frames m;
        if (!recv_nowait(socket, m)) return false;
        auto identity = pop_identity(m);
        auto request = decode_lease_request(m);
        if (!identity || !request) {
            ++counts.malformed;
            log::debug("dropped a malformed request: {} ({})",
                       request ? "no identity" : request.error().reason, printable(m));
            return true;
        }
        const TimePoint now = clock.now();
        auto decision = core.on_request(*request, now);
        if (!decision) {
            ++counts.refused;
            log::warn("dropped a request: {}", decision.error().reason);
            return true;
        }
        if (decision->reply.granted) {
            ++counts.granted;
            if (decision->new_grant) {
                ++counts.holder_changes;
                log::info("lease: {} -> {} ({} ms)", decision->previous ? name(*decision->previous) : "none",
                          name(request->role), request->ttl.count());
            }
        } else {
            ++counts.denied;
            log::debug("lease denied to {} ({} ms left)", name(request->role),
                       decision->reply.remaining.count());
        }
        Frames reply = encode_lease_reply(decision->reply);
        reply.push(std::move(*identity));
        if (send_routed(socket, reply) != SendResult::sent) ++counts.unroutable;
        return true;
    });
    auto summary = [&] {
        const auto holder = core.holder(clock.now());
        return fmt::format(
            "holder {}: {} granted, {} denied, {} new holders, {} malformed, {} refused, {} unroutable",
            holder ? name(*holder) : "none", counts.granted, counts.denied, counts.holder_changes,
            counts.malformed, counts.refused, counts.unroutable);
    };
    reactor.on_summary([&] { log::info("{}", summary()); });
    if (summary_every.count() > 0) reactor.add_repeating(summary_every, [&] { log::info("{}", summary()); });
    StopSignalHook stop_hook([&] {
        notify_stopping();
        reactor.request_stop();
    });
    SummarySignalHook summary_hook([&] { reactor.request_summary(); });
    notify_ready();
    reactor.run();
    log::info("stopping: {}", summary());
    return 0;
} catch (...) {
    return exit_on_exception();
}
