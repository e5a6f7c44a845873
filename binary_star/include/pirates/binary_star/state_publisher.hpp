#pragma once
// The Binary Star state publisher: a PUB on the wire (ZMTP 3.x, one frame per message, what the peer's SUB
// expects; Guide-compatible), built on a ZMQ_STREAM socket and SubscriberLink (subscriber_link.hpp says why)
// so that a stranger who reaches the port cannot load it.
//
// Per connection it keeps a SubscriberLink (at most one incomplete frame) and when it connected. Bounds:
//   - a connection that has not subscribed to everything within the handshake timeout is closed;
//   - at most kMaxConnections connections: a new one past that closes the oldest connection that has not
//     subscribed to everything, or, if every one has, is itself closed;
//   - a subscriber whose queue is full (not reading) misses that message (counted), it never blocks us;
//   - PINGs are answered only for connections subscribed to everything, at most once per kMinReplyInterval.
// A STREAM socket closes a connection with a message queued behind the others, so a connection whose queue is
// full (it does not read) cannot be closed until it reads or goes: it is retried at each publish and does not
// count towards kMaxConnections. With the bounds above, filling a queue takes a subscriber to everything
// that never reads, getting one state per heartbeat and at most 100 PONGs a second, behind the kernel's
// socket buffers.
// Nothing else a connection sends is kept. Work per received byte is constant, per connect and disconnect
// O(1) (a hash map), per publish O(connections).
#include <pirates/binary_star/subscriber_link.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace pirates::binary_star {

struct StatePublisherStats {
    std::uint64_t connections = 0;         // accepted, in all
    std::uint64_t closed_protocol = 0;     // closed for a broken greeting, handshake or frame (oversize too)
    std::uint64_t closed_handshake = 0;    // closed for not subscribing to everything in time
    std::uint64_t closed_full = 0;         // closed because kMaxConnections were open
    std::uint64_t messages_published = 0;  // publish() calls
    std::uint64_t deliveries_dropped = 0;  // a subscriber's queue was full: it missed that message
    std::uint64_t replies_dropped = 0;     // PONGs not sent (not subscribed to everything, too soon, full)
    SubscriberCounts subscribers;          // what the subscribers sent (subscriptions dropped and applied)
};

class StatePublisher {
  public:
    static constexpr std::size_t kMaxConnections = 64;
    static constexpr Duration kMinReplyInterval{10};

    // `handshake_timeout`: how long a connection may take to subscribe to everything.
    StatePublisher(zmq::context_t& context, Duration handshake_timeout);
    StatePublisher(const StatePublisher&) = delete;
    StatePublisher& operator=(const StatePublisher&) = delete;

    // Bind (logging "bound <role> <endpoint>") and return the endpoint bound.
    std::string bind(const std::string& endpoint, std::string_view role);
    // The socket to poll: call on_readable() while it has input.
    zmq::socket_t& socket() { return socket_; }
    // Take one message from the socket, if any (false if there was none): a connection, a disconnection, or
    // bytes from a connection.
    bool on_readable(TimePoint now);
    // Send `body` as a one-frame message to every connection subscribed to everything; close connections past
    // their handshake timeout.
    void publish(std::string_view body, TimePoint now);

    std::size_t connections() const { return links_.size(); }
    std::size_t subscribers() const;  // connections subscribed to everything
    const StatePublisherStats& stats() const { return stats_; }

  private:
    struct Connection {
        SubscriberLink link;
        TimePoint since;
        bool closing = false;    // its close was refused (queue full): retried at the next publish
        TimePoint last_reply{};  // the last PONG sent
    };
    void on_connect(const std::string& id, TimePoint now);
    void close(const std::string& id);

    zmq::socket_t socket_;
    Duration handshake_timeout_;
    std::unordered_map<std::string, Connection> links_;  // by the STREAM socket's routing id
    StatePublisherStats stats_;
};

}  // namespace pirates::binary_star
