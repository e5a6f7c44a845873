#pragma once
// The witness of a Binary Star pair: a third process that lends the right to be active to one server at a
// time, as a lease. docs/protocols.md (Binary Star, Witness) has the wire and the rules; server_core.hpp has
// the table the servers follow with a witness.
//
//   WitnessCore  the witness's decisions, socket-free: a lease request (role, TTL) and `now` in, GRANTED or
//                DENIED out. One holder at a time; the holder's renewals are granted; anyone else is denied
//                until the holder's lease has run out. A witness that has just started grants nothing for
//                max TTL: a previous witness (or itself before a restart) may have granted a lease still
//                running in its holder's view.
//   LeaseCore    a server's view of its lease, socket-free: each request remembers when it was SENT, and a
//                grant runs from that time for the TTL asked, so the server's lease always ends no later than
//                the witness's (which runs from when the request arrived). Replies carry the request's
//                sequence number; a reply to an older request than the newest one answered is ignored.
//
// Wire (DEALER server -> ROUTER witness):
//   request ["BSTARW1", "LEASE", role "1"|"2", ttl-ms, seq]      (decimal ASCII, ttl 1..max, seq 1..2^63)
//   reply   ["BSTARW1", "GRANTED"|"DENIED", remaining-ms, seq]   (remaining: of the lease, ours or the holder's)
#include <pirates/binary_star/server_core.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/result.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>

namespace pirates::binary_star {

inline constexpr std::string_view kWitnessProtocol = "BSTARW1";

struct LeaseRequest {
    State role = State::primary;  // PRIMARY or BACKUP: the configured role, not the current state
    Duration ttl{0};
    std::uint64_t seq = 0;
};

struct LeaseReply {
    bool granted = false;
    Duration remaining{0};  // GRANTED: the lease just granted; DENIED: what the holder's lease has left
    std::uint64_t seq = 0;
};

Frames encode_lease_request(const LeaseRequest& request);
// Anything but exactly the five frames above (role 1 or 2, ttl >= 1, seq >= 1) is an Error.
Result<LeaseRequest> decode_lease_request(const Frames& message);
Frames encode_lease_reply(const LeaseReply& reply);
Result<LeaseReply> decode_lease_reply(const Frames& message);

class WitnessCore {
  public:
    // `max_ttl`: the longest lease granted (a longer request is an Error: the pair is misconfigured);
    // also the quiet time after `started` during which no lease is granted.
    WitnessCore(Duration max_ttl, TimePoint started);

    struct Decision {
        LeaseReply reply;
        bool new_grant = false;         // granted to a server that held no running lease (not a renewal)
        std::optional<State> previous;  // with new_grant: the previous holder, whose lease had run out
    };
    Result<Decision> on_request(const LeaseRequest& request, TimePoint now);

    // The holder whose lease still runs at `now`, if any.
    std::optional<State> holder(TimePoint now) const;
    TimePoint quiet_until() const { return quiet_until_; }
    Duration max_ttl() const { return max_ttl_; }

  private:
    Duration max_ttl_;
    TimePoint quiet_until_;
    std::optional<State> holder_;
    TimePoint expiry_{};
};

class LeaseCore {
  public:
    explicit LeaseCore(Duration ttl) : ttl_(ttl) {}

    // A new request sent at `now`: its sequence number (remembered with the time, at most kRemembered).
    LeaseRequest request(State role, TimePoint now);
    // A reply: false (ignored) when it answers no remembered request or one older than the newest answered.
    // A grant extends the lease to (sent time of its request) + ttl. A denial changes nothing: a lease we
    // still hold ends no later than the witness's view of it (a restarted witness denies everyone for a
    // while, which must not cut short a lease it cannot see).
    bool on_reply(const LeaseReply& reply);
    bool held(TimePoint now) const { return now < expiry_; }
    TimePoint expiry() const { return expiry_; }
    Duration ttl() const { return ttl_; }
    std::uint64_t last_seq() const { return next_seq_ - 1; }

    static constexpr std::size_t kRemembered = 64;

  private:
    struct Sent {
        std::uint64_t seq;
        TimePoint at;
    };
    Duration ttl_;
    std::uint64_t next_seq_ = 1;
    std::deque<Sent> sent_;
    TimePoint expiry_{};
};

}  // namespace pirates::binary_star
