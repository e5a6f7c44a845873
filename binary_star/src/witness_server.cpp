#include <pirates/binary_star/witness_server.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>

namespace pirates::binary_star {

// A request is five short frames: a larger frame is not one (libzmq drops that connection).
constexpr std::size_t kMaxWitnessFrameBytes = 256;

Witness::Witness(zmq::context_t& context, WitnessOptions options, const ClockSource& clock)
    : options_(std::move(options)),
      clock_(clock),
      reactor_(clock),
      socket_(make_socket(context, zmq::socket_type::router, router_options(1000, kMaxWitnessFrameBytes))),
      core_(options_.max_lease, clock.now()) {}

void Witness::start() {
    if (started_) return;
    started_ = true;
    endpoint_ = bind_and_announce(socket_, options_.bind, "witness");
    core_ = WitnessCore(options_.max_lease, clock_.now());
    log::info("no lease granted for the first {} ms (a lease granted before a restart may still run)",
              options_.max_lease.count());
    reactor_.add(socket_, [this] { return on_request(); });
}

void Witness::run() {
    start();
    reactor_.run();
}

bool Witness::on_request() {
    Frames m;
    if (!recv_nowait(socket_, m)) return false;
    auto identity = pop_identity(m);
    auto request = decode_lease_request(m);
    if (!identity || !request) {
        ++stats_.malformed;
        log::debug("dropped a malformed request: {} ({})", request ? "no identity" : request.error().reason,
                   printable(m));
        return true;
    }
    auto decision = core_.on_request(*request, clock_.now());
    if (!decision) {
        ++stats_.refused;
        log::warn("dropped a request: {}", decision.error().reason);
        return true;
    }
    if (decision->reply.granted) {
        ++stats_.granted;
        if (decision->new_grant) {
            ++stats_.new_holders;
            log::info("lease: {} -> {} ({} ms)", decision->previous ? name(*decision->previous) : "none",
                      name(request->role), request->ttl.count());
        }
    } else {
        ++stats_.denied;
        log::debug("lease denied to {} ({} ms left)", name(request->role), decision->reply.remaining.count());
    }
    Frames reply = encode_lease_reply(decision->reply);
    reply.push(std::move(*identity));
    if (send_routed(socket_, reply) != SendResult::sent) ++stats_.unroutable;
    return true;
}

}  // namespace pirates::binary_star
