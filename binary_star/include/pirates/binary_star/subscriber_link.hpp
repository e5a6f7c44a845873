#pragma once
// The publisher's side of one ZMTP 3.x connection from a subscriber, as a socket-free state machine: bytes
// in, bytes to send back out, and what the subscriber asked for.
//
// Why not libzmq's PUB: a PUB (and an XPUB, even with ZMQ_XPUB_MANUAL, which still records every subscription
// in a shadow trie) keeps every subscription any connected peer sends, in a trie that libzmq walks whole each
// time a connection that ever subscribed closes. A stranger who can reach the port loads the trie (20,000
// distinct subscriptions) and churns connections: each close then costs a walk of the whole trie on the
// publisher's thread (measured with libzmq 4.3.4: one thread frozen for 12-30 s). The Binary Star state
// channel needs one thing from a subscriber: "send me everything". So the server speaks the publisher's half
// of ZMTP itself, over a ZMQ_STREAM socket, and keeps nothing per subscription: a connection either
// subscribed to everything (the empty prefix, which is what the peer's SUB sends) or it did not. Any other
// subscription is dropped and counted, as is anything else a subscriber may send; a frame larger than
// kMaxFrameBytes, a broken greeting or handshake closes the connection. The state stays bounded: at most one
// incomplete frame (kMaxFrameBytes plus a header) per connection.
//
// What it speaks (ZMTP 3.0, rfc.zeromq.org/spec/23, and 3.1, spec/37, with the NULL mechanism):
//   greeting  0xFF, 8 bytes of padding, 0x7F, version 3.1, mechanism "NULL" (20 bytes, zero padded),
//             as-server 0, 31 bytes of filler; then READY with Socket-Type "PUB". Sent as soon as the
//             connection is up. A peer of major version < 3 (ZMTP 1.0/2.0: libzmq before 4.0) is refused.
//   from the subscriber: its greeting (NULL mechanism), READY (Socket-Type SUB or XSUB), then either
//             subscription messages (ZMTP 3.0: one frame, 0x01 + prefix subscribes, 0x00 + prefix cancels)
//             or SUBSCRIBE / CANCEL commands (ZMTP 3.1); PING (answered with PONG).
//   to the subscriber: messages, as frames (flags, size, body), only once it subscribed to everything.
#include <pirates/common/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pirates::binary_star {

// What the subscribers sent, summed over connections by the caller.
struct SubscriberCounts {
    std::uint64_t subscribed_all = 0;         // subscriptions to everything (the empty prefix): applied
    std::uint64_t subscriptions_dropped = 0;  // subscriptions to (or cancels of) any other prefix: dropped
    std::uint64_t messages_dropped = 0;       // other messages and unknown commands: dropped
    std::uint64_t pings = 0;                  // ZMTP 3.1 PING, answered with PONG
};

class SubscriberLink {
  public:
    // Largest frame a subscriber may send (a READY, a subscription, a PING fit in far less); larger closes
    // the connection, as ZMQ_MAXMSGSIZE does.
    static constexpr std::size_t kMaxFrameBytes = 256;
    static constexpr std::size_t kGreetingBytes = 64;

    // Our greeting and READY: what to send as soon as the connection is up.
    static const std::string& hello();

    // Bytes from the subscriber. Sets `reply` to what to send back, if anything: the PONG to the last PING in
    // these bytes (one answer says "alive" as well as many). An Error means: close the connection (its reason
    // says why); the link is then dead and takes no more bytes.
    std::optional<Error> on_bytes(std::string_view bytes, std::string& reply, SubscriberCounts& counts);

    // Greeting and READY received: the connection is a subscriber.
    bool ready() const { return phase_ == Phase::open; }
    // Subscribed to everything: send it messages.
    bool wants_all() const { return ready() && all_; }
    // Bytes held for an incomplete greeting or frame (bounded by kMaxFrameBytes + 9).
    std::size_t buffered() const { return buffer_.size(); }

  private:
    enum class Phase { greeting, handshake, open, dead };
    std::optional<Error> on_greeting(std::string_view g);
    std::optional<Error> on_frame(unsigned char flags, std::string_view body, std::string& reply,
                                  SubscriberCounts& counts);
    std::optional<Error> on_command(std::string_view body, std::string& reply, SubscriberCounts& counts);
    void on_subscription(bool subscribe, std::string_view prefix, SubscriberCounts& counts);

    Phase phase_ = Phase::greeting;
    std::string buffer_;
    bool all_ = false;        // subscribed to the empty prefix
    bool multipart_ = false;  // inside a multi-frame message (no use to a publisher: dropped)
};

// One single-frame message as ZMTP bytes (flags, size, body): what a publisher writes to each subscriber.
std::string encode_message(std::string_view body);

}  // namespace pirates::binary_star
