// A server's first moments: a request that arrives the instant a program has bound (before any worker has
// registered, for the brokers and queues) is answered on its FIRST send, with no resend by the client. A
// retrying client would hide a server that drops what comes too early, so these send once and count.
#include <doctest/doctest.h>

#include "support/net.hpp"
#include "support/process.hpp"

#include <string>
#include <vector>

using namespace pirates;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;

namespace {

struct RawClient {
    zmq::context_t context;
    zmq::socket_t socket{context, zmq::socket_type::dealer};
    int sent = 0;
    explicit RawClient(const std::string& endpoint) {
        socket.set(zmq::sockopt::linger, 0);
        socket.connect(endpoint);
    }
    void send(const Strings& parts) {
        ++sent;
        for (std::size_t i = 0; i < parts.size(); ++i)
            socket.send(zmq::buffer(parts[i]),
                        i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
    std::optional<Strings> receive(Duration within) {
        Frames reply;
        if (!test::recv_within(socket, reply, within)) return std::nullopt;
        return test::strings(reply);
    }
};

}  // namespace

TEST_CASE("start-up window: lpserver answers a request sent the instant it has bound, on the first send") {
    test::Process server("lpserver", {"--bind", "tcp://127.0.0.1:*"});
    const auto ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    RawClient client(ep);
    client.send({"", "first"});
    auto reply = client.receive(10s);
    REQUIRE(reply);
    CHECK(*reply == Strings{"", "first"});
    CHECK(client.sent == 1);
}

TEST_CASE("start-up window: flserver answers a request sent the instant it has bound, on the first send") {
    test::Process server("flserver", {"--model", "3", "--bind", "tcp://127.0.0.1:*"});
    const auto ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    // Model 3 servers are ROUTERs answering a ROUTER client: "PING" or `sequence body`; a DEALER's
    // request is `sequence body` and comes back as `sequence "OK"` (docs/protocols.md, FLP).
    zmq::context_t context;
    zmq::socket_t client(context, zmq::socket_type::router);
    client.set(zmq::sockopt::linger, 0);
    client.set(zmq::sockopt::router_mandatory, 1);
    client.connect(ep);
    // The server's identity is its endpoint unless --identity says otherwise: wait for the connection by
    // sending until routable (no request is sent before the route exists, so still one request).
    const std::string identity = ep;
    Frames reply;
    bool sent = false;
    const TimePoint give_up = steady_clock().now() + 10s;
    while (!sent && steady_clock().now() < give_up) {
        try {
            client.send(zmq::buffer(identity), zmq::send_flags::sndmore);
            client.send(zmq::str_buffer("1"), zmq::send_flags::sndmore);
            client.send(zmq::str_buffer("first"), zmq::send_flags::none);
            sent = true;
        } catch (const zmq::error_t& e) {
            REQUIRE(e.num() == EHOSTUNREACH);
            zmq_poll(nullptr, 0, 5);  // a short pause before trying again (no route yet)
        }
    }
    REQUIRE(sent);
    REQUIRE(test::recv_within(client, reply, 10s));
    auto frames = test::strings(reply);
    REQUIRE(frames.size() >= 2);
    CHECK(frames[0] == identity);
    CHECK(frames[1] == "1");
}

TEST_CASE(
    "start-up window: mdbroker keeps a request that arrives before any worker, for the first to register") {
    test::Process broker("mdbroker", {"--bind", "tcp://127.0.0.1:*"});
    const auto ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    RawClient client(ep);
    client.send({"", "MDPC01", "echo", "early"});
    // The broker has had the request for a moment before a worker exists at all.
    CHECK_FALSE(client.receive(100ms));
    test::Process worker("mdworker", {"--connect", ep, "--service", "echo", "--heartbeat-ms", "100"});
    auto reply = client.receive(15s);
    REQUIRE(reply);
    CHECK(*reply == Strings{"", "MDPC01", "echo", "early"});
    CHECK(client.sent == 1);
}

TEST_CASE(
    "start-up window: ppqueue holds a request that arrives before any worker, for the first to be ready") {
    test::Process queue("ppqueue", {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*",
                                    "--heartbeat-ms", "100"});
    const auto front = queue.bound_endpoint("frontend");
    const auto back = queue.bound_endpoint("backend");
    REQUIRE(!front.empty());
    REQUIRE(!back.empty());
    RawClient client(front);
    client.send({"", "early"});
    CHECK_FALSE(client.receive(100ms));
    test::Process worker("ppworker", {"--connect", back, "--heartbeat-ms", "100"});
    auto reply = client.receive(15s);
    REQUIRE(reply);
    CHECK(*reply == Strings{"", "early"});
    CHECK(client.sent == 1);
}

TEST_CASE(
    "start-up window: spqueue holds a request that arrives before any worker, for the first to be ready") {
    test::Process queue("spqueue", {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*"});
    const auto front = queue.bound_endpoint("frontend");
    const auto back = queue.bound_endpoint("backend");
    REQUIRE(!front.empty());
    REQUIRE(!back.empty());
    RawClient client(front);
    client.send({"", "early"});
    CHECK_FALSE(client.receive(100ms));
    test::Process worker("spworker", {"--connect", back});
    auto reply = client.receive(15s);
    REQUIRE(reply);
    CHECK(*reply == Strings{"", "early"});
    CHECK(client.sent == 1);
}
