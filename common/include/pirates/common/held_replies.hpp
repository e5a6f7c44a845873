#pragma once
// Replies a server holds to send later (fault injection: --slow-after N --delay-ms D answers late), bounded
// in bytes: a reply that would take the held bytes over `max_bytes` is refused (the newest one goes, counted
// in dropped()), so a client flooding a slow server cannot grow it without limit. Socket-free; the driver
// sends what take_due() hands back and wakes at next_deadline().
//
// Replies come out in the order they were held. Every server holds them for one constant delay, so that is
// also deadline order.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/limits.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace pirates {

class HeldReplies {
  public:
    explicit HeldReplies(std::size_t max_bytes = kDefaultMaxQueueBytes) : max_bytes_(max_bytes) {}

    // Hold `reply` until `due`. False when it does not fit (then it is dropped and counted).
    bool hold(Frames reply, TimePoint due) {
        const std::size_t size = byte_size(reply);
        if (size > max_bytes_ - bytes_) {
            ++dropped_;
            return false;
        }
        bytes_ += size;
        held_.push_back(Held{due, size, std::move(reply)});
        return true;
    }
    // The replies due at `now`, appended to `out` in the order they were held.
    void take_due(TimePoint now, std::vector<Frames>& out) {
        while (!held_.empty() && held_.front().due <= now) {
            bytes_ -= held_.front().bytes;
            out.push_back(std::move(held_.front().reply));
            held_.pop_front();
        }
    }
    // When the first held reply is due; nullopt when none is held.
    std::optional<TimePoint> next_deadline() const {
        if (held_.empty()) return std::nullopt;
        return held_.front().due;
    }

    std::size_t size() const { return held_.size(); }
    std::size_t bytes() const { return bytes_; }  // byte_size() of everything held
    std::size_t max_bytes() const { return max_bytes_; }
    std::uint64_t dropped() const { return dropped_; }

  private:
    struct Held {
        TimePoint due;
        std::size_t bytes;
        Frames reply;
    };
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;  // always <= max_bytes_
    std::deque<Held> held_;
    std::uint64_t dropped_ = 0;
};

}  // namespace pirates
