#pragma once
// Where a core puts what it wants sent: the one output type of every socket-free core.
//
// Each message goes to one of the driver's sockets, named by a channel number the module defines (a broker
// with one ROUTER uses 0; a queue names frontend and backend). A message for a ROUTER starts with the peer's
// routing identity. The driver sends at once (send_routed) and returns what happened, so the core can act on
// a gone peer in the same step (re-queue a request, forget the peer). The receiver may consume the frames.
#include <pirates/common/frames.hpp>
#include <pirates/common/routed_send.hpp>

#include <vector>

namespace pirates {

using Channel = int;

class Outbox {
  public:
    virtual ~Outbox() = default;
    virtual SendResult send(Frames& message, Channel channel = 0) = 0;
};

// An Outbox onto one socket that is not a ROUTER (a worker's DEALER): each message is sent at once, without
// blocking. A closed socket (a worker waiting to reconnect) is peer_gone; a full pipe, or a socket with no
// connection to queue on, is would_block. Either way the message is dropped (a DEALER accepts a message whole
// or not at all): a worker's heartbeats and reconnects are what recover from that.
class SocketOutbox final : public Outbox {
  public:
    explicit SocketOutbox(zmq::socket_t& socket) : socket_(socket) {}
    SendResult send(Frames& message, Channel = 0) override {
        if (!socket_) return SendResult::peer_gone;
        return message.send(socket_, ZMQ_DONTWAIT) ? SendResult::sent : SendResult::would_block;
    }

  private:
    zmq::socket_t& socket_;
};

// An Outbox that sends each message at once on the ROUTER its channel names (channel i: the i-th socket
// given), through send_routed: what every ROUTER driver with a core needs.
class RouterOutbox final : public Outbox {
  public:
    explicit RouterOutbox(std::vector<zmq::socket_t*> routers) : routers_(std::move(routers)) {}
    SendResult send(Frames& message, Channel channel = 0) override {
        return send_routed(*routers_.at(static_cast<std::size_t>(channel)), message);
    }

  private:
    std::vector<zmq::socket_t*> routers_;
};

// An Outbox that keeps what it is given and reports every message as sent (tests, and drivers that send
// after the core returns).
class OutboxVector final : public Outbox {
  public:
    struct Item {
        Channel channel;
        Frames message;
    };
    std::vector<Item> items;

    SendResult send(Frames& message, Channel channel = 0) override {
        items.push_back(Item{channel, std::move(message)});
        return SendResult::sent;
    }
    // The messages alone, in order (channel dropped).
    std::vector<Frames> take_messages() {
        std::vector<Frames> out;
        out.reserve(items.size());
        for (auto& i : items) out.push_back(std::move(i.message));
        items.clear();
        return out;
    }
};

}  // namespace pirates
