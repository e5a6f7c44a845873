#pragma once
// An Outbox for the core targets: it keeps what the core sends (for the target to check) and answers each
// send with what the fuzz input chose: sent, or the peer gone, or its pipe full (drivers report those, and
// the cores must take a request back or forget a peer when they do).
#include "fuzz_input.hpp"

#include <pirates/common/outbox.hpp>

#include <deque>

namespace pirates::fuzz {

class FuzzOutbox final : public Outbox {
  public:
    struct Item {
        Channel channel;
        Frames message;
    };
    std::vector<Item> items;
    // The next sends' results, front first; `sent` once they run out.
    std::deque<SendResult> script;

    SendResult send(Frames& message, Channel channel = 0) override {
        SendResult r = SendResult::sent;
        if (!script.empty()) {
            r = script.front();
            script.pop_front();
        }
        if (r == SendResult::sent) items.push_back(Item{channel, std::move(message)});
        return r;
    }
    // Fuzz op: the next few sends fail (peer_gone or would_block) or succeed, as the input says.
    void plan(FuzzInput& in) {
        std::uint8_t b = in.byte();
        for (int i = 0; i < (b & 7); ++i) script.push_back(static_cast<SendResult>(in.byte() % 3));
    }
};

}  // namespace pirates::fuzz
