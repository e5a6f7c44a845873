// StatePublisher in process, against libzmq's own subscribers (SUB, XSUB: what the Guide's bstarsrv and ours
// connect with) and a raw TCP client writing ZMTP bytes by hand.
#include <doctest/doctest.h>
#include <pirates/binary_star/state_publisher.hpp>
#include <pirates/common/reactor.hpp>

#include "support/net.hpp"

#include <functional>
#include <memory>

using namespace pirates;
using namespace pirates::binary_star;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {

struct Harness {
    StopSource never_stop;
    zmq::context_t context{1};
    StatePublisher pub;
    std::string endpoint;

    explicit Harness(Duration handshake_timeout = 5000ms) : pub(context, handshake_timeout) {
        endpoint = pub.bind("tcp://127.0.0.1:*", "state-pub");
    }

    // Run the publisher (read its socket; publish `body` every few ms if given) until pred() holds.
    bool until(const std::function<bool()>& pred, std::string_view body = {}, Duration timeout = 5000ms) {
        return eventually(
            [&] {
                (void)wait_readable(pub.socket(), Clock::now() + 1ms, steady_clock(), never_stop);
                while (pub.on_readable(Clock::now())) {
                }
                if (!body.empty()) pub.publish(body, Clock::now());
                return pred();
            },
            timeout);
    }

    std::unique_ptr<zmq::socket_t> subscriber(zmq::socket_type type, const std::string& prefix) {
        auto s = std::make_unique<zmq::socket_t>(context, type);
        s->set(zmq::sockopt::linger, 0);
        if (type == zmq::socket_type::sub)
            s->set(zmq::sockopt::subscribe, prefix);
        else
            s->send(zmq::buffer("\x01" + prefix), zmq::send_flags::none);
        s->connect(endpoint);
        return s;
    }
};

bool has_message(zmq::socket_t& s, Duration timeout = 0ms) {
    Frames m;
    return recv_within(s, m, timeout);
}

}  // namespace

TEST_CASE(
    "StatePublisher: a SUB and an XSUB subscribed to everything get each state, a prefix gets nothing") {
    Harness h;
    auto all = h.subscriber(zmq::socket_type::sub, "");
    auto xall = h.subscriber(zmq::socket_type::xsub, "");
    auto prefix = h.subscriber(zmq::socket_type::sub, "3");  // would match "3" on a libzmq PUB
    REQUIRE(h.until(
        [&] { return h.pub.subscribers() == 2 && h.pub.stats().subscribers.subscriptions_dropped == 1; }));
    h.pub.publish("3", Clock::now());
    h.pub.publish("4", Clock::now());
    for (auto* s : {all.get(), xall.get()}) {
        Frames m;
        REQUIRE(recv_within(*s, m));
        CHECK(strings(m) == std::vector<std::string>{"3"});
        REQUIRE(recv_within(*s, m));
        CHECK(strings(m) == std::vector<std::string>{"4"});
    }
    CHECK_FALSE(has_message(*prefix, 100ms));
    CHECK(h.pub.connections() == 3);
    CHECK(h.pub.stats().subscribers.subscribed_all == 2);
    CHECK(h.pub.stats().subscribers.subscriptions_dropped == 1);
    CHECK(h.pub.stats().messages_published == 2);

    // A subscriber that goes away is forgotten.
    all.reset();
    REQUIRE(h.until([&] { return h.pub.connections() == 2; }));
    CHECK(h.pub.subscribers() == 1);
}

TEST_CASE("StatePublisher: a SUB with ZMTP heartbeats gets its PINGs answered and keeps its one connection") {
    Harness h;
    zmq::socket_t sub(h.context, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::heartbeat_ivl, 10);
    sub.set(zmq::sockopt::heartbeat_timeout, 100);  // no PONG within 100 ms: libzmq drops the connection
    sub.connect(h.endpoint);
    REQUIRE(h.until([&] { return h.pub.stats().subscribers.pings >= 30; }, "3"));
    CHECK(h.pub.stats().connections == 1);  // never dropped, never reconnected
    CHECK(h.pub.subscribers() == 1);
    CHECK(has_message(sub, 1000ms));
}

TEST_CASE("StatePublisher: a SUB that never subscribes to everything is closed after the handshake timeout") {
    Harness h(200ms);
    auto prefix = h.subscriber(zmq::socket_type::sub, "abc");
    auto all = h.subscriber(zmq::socket_type::sub, "");
    REQUIRE(h.until([&] { return h.pub.stats().closed_handshake >= 1; }, "3"));
    CHECK(h.pub.subscribers() == 1);
    CHECK(has_message(*all, 1000ms));  // the subscriber to everything stays
}

TEST_CASE(
    "StatePublisher: at most 64 connections, past that the oldest not subscribed to everything is closed") {
    Harness h;
    std::vector<std::unique_ptr<zmq::socket_t>> idle;
    for (int i = 0; i < 70; ++i) idle.push_back(h.subscriber(zmq::socket_type::sub, "x"));
    REQUIRE(h.until([&] { return h.pub.stats().connections >= 70; }));
    CHECK(h.pub.connections() <= StatePublisher::kMaxConnections);
    CHECK(h.pub.stats().closed_full >= 6);
    // The peer still gets in (evicting one that is not subscribed), and gets the state.
    auto all = h.subscriber(zmq::socket_type::sub, "");
    REQUIRE(h.until([&] { return h.pub.subscribers() == 1; }));
    h.pub.publish("4", Clock::now());
    Frames m;
    REQUIRE(recv_within(*all, m));
    CHECK(strings(m) == std::vector<std::string>{"4"});
    CHECK(h.pub.connections() <= StatePublisher::kMaxConnections);
}

TEST_CASE(
    "StatePublisher: raw ZMTP 3.0 bytes from a TCP client: greeting, READY, subscribe, the state frame") {
    Harness h;
    zmq::socket_t raw(h.context, zmq::socket_type::stream);  // a plain TCP connection
    raw.set(zmq::sockopt::linger, 0);
    raw.connect(h.endpoint);
    const std::string id = raw.get(zmq::sockopt::routing_id);
    std::string got;
    // Read what the publisher writes to us (STREAM: [id][bytes]) until `n` bytes are in.
    auto read_bytes = [&](std::size_t n) {
        return h.until([&] {
            Frames m;
            while (m.recv(raw, ZMQ_DONTWAIT)) {
                if (m.size() == 2) got += m[1].to_string();
                m.clear();
            }
            return got.size() >= n;
        });
    };
    auto write = [&](const std::string& bytes) {
        Frames m;
        m.add(frame(id));
        m.add(frame(bytes));
        m.send(raw);
    };
    REQUIRE(read_bytes(64 + 27));  // its greeting and READY
    CHECK(got.substr(0, 12) == std::string("\xFF\0\0\0\0\0\0\0\x01\x7F\x03\x01", 12));
    CHECK(got.substr(64) == std::string("\x04\x19\x05READY\x0bSocket-Type\0\0\0\x03PUB", 27));
    got.clear();
    std::string greeting("\xFF\0\0\0\0\0\0\0\x01\x7F\x03\x00NULL", 16);
    greeting.resize(64, '\0');
    write(greeting);
    write(std::string("\x04\x19\x05READY\x0bSocket-Type\0\0\0\x03SUB", 27));
    const std::string ping("\x04\x07\x04PING\x00\x0A", 9), pong("\x04\x05\x04PONG", 7);
    write(ping);  // not subscribed to everything yet: not answered
    REQUIRE(h.until([&] { return h.pub.stats().replies_dropped == 1; }));
    write(std::string("\x00\x01\x01", 3));  // ZMTP 3.0 subscription to everything
    REQUIRE(h.until([&] { return h.pub.subscribers() == 1; }));
    write(ping);  // now answered
    REQUIRE(read_bytes(pong.size()));
    CHECK(got == pong);
    got.clear();
    h.pub.publish("3", Clock::now());
    REQUIRE(read_bytes(3));
    CHECK(got == std::string("\x00\x01"
                             "3",
                             3));  // flags 0, size 1, "3"

    // A 300-byte frame: the publisher closes the connection (the STREAM socket sees it as [id][""]).
    std::string oversize("\x02\0\0\0\0\0\0\x01\x2C", 9);  // LONG frame of 300 bytes
    oversize.append(300, 's');
    write(oversize);
    REQUIRE(h.until([&] { return h.pub.connections() == 0; }));
    CHECK(h.pub.stats().closed_protocol == 1);
    bool closed = false;
    REQUIRE(h.until([&] {
        Frames m;
        while (m.recv(raw, ZMQ_DONTWAIT)) {
            if (m.size() == 2 && m[1].size() == 0) closed = true;
            m.clear();
        }
        return closed;
    }));
}
