#include <pirates/binary_star/witness.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace pirates::binary_star {

namespace {

// A decimal number of 1..19 digits, nothing else (no sign, no spaces).
std::optional<std::uint64_t> decimal(const Frame& f) {
    const std::string_view s = f.to_string_view();
    if (s.empty() || s.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

Frame number(std::uint64_t v) {
    return frame(fmt::format("{}", v));
}

std::uint64_t millis(Duration d) {
    return d.count() < 0 ? 0 : static_cast<std::uint64_t>(d.count());
}

}  // namespace

Frames encode_lease_request(const LeaseRequest& request) {
    Frames m;
    m.add(frame(kWitnessProtocol));
    m.add(frame("LEASE"));
    m.add(frame(request.role == State::primary ? "1" : "2"));
    m.add(number(millis(request.ttl)));
    m.add(number(request.seq));
    return m;
}

Result<LeaseRequest> decode_lease_request(const Frames& m) {
    if (m.size() != 5) return error(fmt::format("lease request of {} frames (want 5)", m.size()));
    if (!equals(m[0], kWitnessProtocol))
        return error(fmt::format("not {}: '{}'", kWitnessProtocol, printable(m[0])));
    if (!equals(m[1], "LEASE")) return error(fmt::format("unknown command '{}'", printable(m[1])));
    LeaseRequest r;
    if (equals(m[2], "1"))
        r.role = State::primary;
    else if (equals(m[2], "2"))
        r.role = State::backup;
    else
        return error(fmt::format("role '{}' is not 1 or 2", printable(m[2])));
    const auto ttl = decimal(m[3]);
    if (!ttl || *ttl == 0 || *ttl > (std::uint64_t{1} << 40))
        return error(fmt::format("ttl '{}' is not a positive number of ms", printable(m[3])));
    r.ttl = Duration{static_cast<Duration::rep>(*ttl)};
    const auto seq = decimal(m[4]);
    if (!seq || *seq == 0) return error(fmt::format("seq '{}' is not a positive number", printable(m[4])));
    r.seq = *seq;
    return r;
}

Frames encode_lease_reply(const LeaseReply& reply) {
    Frames m;
    m.add(frame(kWitnessProtocol));
    m.add(frame(reply.granted ? "GRANTED" : "DENIED"));
    m.add(number(millis(reply.remaining)));
    m.add(number(reply.seq));
    return m;
}

Result<LeaseReply> decode_lease_reply(const Frames& m) {
    if (m.size() != 4) return error(fmt::format("lease reply of {} frames (want 4)", m.size()));
    if (!equals(m[0], kWitnessProtocol))
        return error(fmt::format("not {}: '{}'", kWitnessProtocol, printable(m[0])));
    LeaseReply r;
    if (equals(m[1], "GRANTED"))
        r.granted = true;
    else if (!equals(m[1], "DENIED"))
        return error(fmt::format("unknown reply '{}'", printable(m[1])));
    const auto remaining = decimal(m[2]);
    if (!remaining || *remaining > (std::uint64_t{1} << 40))
        return error(fmt::format("remaining '{}' is not a number of ms", printable(m[2])));
    r.remaining = Duration{static_cast<Duration::rep>(*remaining)};
    const auto seq = decimal(m[3]);
    if (!seq || *seq == 0) return error(fmt::format("seq '{}' is not a positive number", printable(m[3])));
    r.seq = *seq;
    return r;
}

WitnessCore::WitnessCore(Duration max_ttl, TimePoint started)
    : max_ttl_(max_ttl), quiet_until_(started + max_ttl) {}

std::optional<State> WitnessCore::holder(TimePoint now) const {
    if (holder_ && now < expiry_) return holder_;
    return std::nullopt;
}

Result<WitnessCore::Decision> WitnessCore::on_request(const LeaseRequest& request, TimePoint now) {
    if (request.role != State::primary && request.role != State::backup)
        return error("the role is PRIMARY or BACKUP");
    if (request.ttl <= Duration{0} || request.ttl > max_ttl_)
        return error(fmt::format("{} asks for a {} ms lease; the longest granted is {} ms",
                                 name(request.role), request.ttl.count(), max_ttl_.count()));
    Decision d;
    d.reply.seq = request.seq;
    if (now < quiet_until_) {
        // Just started: a lease granted before (by us before a restart, or another witness) may still run.
        d.reply.remaining = std::chrono::ceil<Duration>(quiet_until_ - now);
        return d;
    }
    const auto current = holder(now);
    if (current && *current != request.role) {
        d.reply.remaining = std::chrono::ceil<Duration>(expiry_ - now);
        return d;
    }
    // Free, ours already, or run out: granted from now. A renewal never shortens a lease.
    if (!current) {
        d.new_grant = true;
        d.previous = holder_;
    }
    holder_ = request.role;
    expiry_ = std::max(expiry_, now + request.ttl);
    d.reply.granted = true;
    d.reply.remaining = std::chrono::ceil<Duration>(expiry_ - now);
    return d;
}

LeaseRequest LeaseCore::request(State role, TimePoint now) {
    LeaseRequest r{role, ttl_, next_seq_++};
    sent_.push_back(Sent{r.seq, now});
    while (sent_.size() > kRemembered) sent_.pop_front();
    return r;
}

bool LeaseCore::on_reply(const LeaseReply& reply) {
    auto it = std::find_if(sent_.begin(), sent_.end(), [&](const Sent& s) { return s.seq == reply.seq; });
    if (it == sent_.end()) return false;  // stale (older than one answered) or never sent
    const TimePoint sent_at = it->at;
    sent_.erase(sent_.begin(), it + 1);  // this one and every older one: their replies are stale now
    if (reply.granted) expiry_ = std::max(expiry_, sent_at + ttl_);
    return true;
}

}  // namespace pirates::binary_star
