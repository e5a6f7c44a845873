#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/freelance/shotgun.hpp>

namespace pirates::freelance {

std::string ShotgunClientCore::begin(TimePoint now) {
    current_ = std::to_string(++sequence_);
    in_flight_ = true;
    deadline_ = now + timeout_;
    return current_;
}

ShotgunClientCore::Verdict ShotgunClientCore::on_reply(Frames& reply) {
    if (reply.size() < 2 || reply.front().size() != 0) {
        ++counters_.malformed;
        return Verdict::malformed;
    }
    reply.pop();  // empty delimiter
    Frame sequence = reply.pop();
    if (!in_flight_ || !equals(sequence, current_)) {
        ++counters_.stale;
        return Verdict::stale;
    }
    in_flight_ = false;
    ++counters_.answers;
    return Verdict::answer;
}

void ShotgunClientCore::time_out() {
    if (!in_flight_) return;
    in_flight_ = false;
    ++counters_.timeouts;
}

void ShotgunClientCore::interrupt() {
    if (!in_flight_) return;
    in_flight_ = false;
    ++counters_.interrupted;
}

ShotgunClient::ShotgunClient(zmq::context_t& context, ShotgunOptions options, const ClockSource& clock)
    : clock_(clock),
      socket_(make_socket(context, zmq::socket_type::dealer,
                          [&] {
                              SocketOptions o;
                              o.security = options.security;
                              return o;
                          }())),
      core_(options.timeout) {}

void ShotgunClient::connect(const std::string& endpoint) {
    connect_endpoint(socket_, endpoint);
    ++servers_;
}

Reply ShotgunClient::request(const Frames& body) {
    if (servers_ == 0) return Reply::failed(Status::gave_up, 0, "no server endpoints");
    if (stop_.stop_requested()) return Reply::failed(Status::interrupted, 0, "interrupted");
    const std::string sequence = core_.begin(clock_.now());
    // A DEALER deals round robin over its peers: one copy per connected server reaches each of them.
    for (std::size_t i = 0; i < servers_; ++i) {
        Frames message;
        message.add(empty_frame());
        message.add(frame(sequence));
        for (const auto& f : body) message.add(Frame(f.data(), f.size()));
        // Never block: with every server gone for long, their pipes fill up; the request then just times out.
        if (!message.send(socket_, ZMQ_DONTWAIT))
            log::debug("request {} not queued: every pipe is full", sequence);
    }
    while (true) {
        // A stop request is seen within 10 ms.
        if (wait_readable(socket_, core_.deadline(), clock_, stop_, Duration{10}) == WaitResult::stopped) {
            core_.interrupt();
            return Reply::failed(Status::interrupted, 1, "interrupted");
        }
        Frames reply;
        while (recv_nowait(socket_, reply)) {
            auto verdict = core_.on_reply(reply);
            if (verdict == ShotgunClientCore::Verdict::answer)
                return Reply::answered(Answer{std::move(reply), {}}, 1);
            log::debug("discarded {} reply {}",
                       verdict == ShotgunClientCore::Verdict::stale ? "stale" : "malformed",
                       printable(reply));
            reply.clear();
        }
        if (core_.expired(clock_.now())) {
            core_.time_out();
            return Reply::failed(
                Status::timed_out, 1,
                fmt::format("no reply from {} server(s) within {} ms", servers_, core_.timeout().count()));
        }
    }
}

}  // namespace pirates::freelance
