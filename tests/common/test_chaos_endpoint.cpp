#include <doctest/doctest.h>
#include <pirates/common/chaos.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/socket.hpp>

#include "support/net.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <thread>

using namespace pirates;
using namespace std::chrono_literals;

TEST_CASE("endpoints: what is accepted and what is not") {
    for (auto ok : {"tcp://127.0.0.1:1", "tcp://*:1", "tcp://127.0.0.1:*", "ipc:///tmp/x", "inproc://a",
                    "tcp://localhost:1", "tcp://127.0.0.1:65535", "tcp://[::1]:5555", "tcp://[::1]:*",
                    "tcp://[fe80::1%eth0]:1"})
        CHECK_MESSAGE(valid_endpoint(ok), ok);
    for (auto bad : {"", "127.0.0.1:1", "tcp://", "tcp://host", "tcp://host:", "tcp://:1", "tcp://h:12x",
                     "tcp://h:"
                     "123456" /* too long */,
                     "udp://h:1", "inproc://", "ipc://", "tcp://h:0", "tcp://h:65536", "tcp://h:70000",
                     "tcp://h:99999", "tcp://[::1:5555", "tcp://::1]:5555", "tcp://[]:1"})
        CHECK_FALSE_MESSAGE(valid_endpoint(bad), bad);
}

TEST_CASE("split_list keeps empty items so that the caller can reject them") {
    CHECK(split_list("a,b") == std::vector<std::string>{"a", "b"});
    CHECK(split_list("a") == std::vector<std::string>{"a"});
    CHECK(split_list("a,,b").size() == 3);
}

TEST_CASE("bind_and_announce returns the port the OS chose") {
    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::router);
    auto ep = bind_and_announce(s, "tcp://127.0.0.1:*", "test");
    CHECK(ep.rfind("tcp://127.0.0.1:", 0) == 0);
    CHECK(ep.find('*') == std::string::npos);
}

TEST_CASE("a failed bind is a BindError naming the endpoint and the reason") {
    zmq::context_t ctx;
    auto holder = make_socket(ctx, zmq::socket_type::router);
    auto taken = bind_and_announce(holder, "tcp://127.0.0.1:*", "test");
    auto s = make_socket(ctx, zmq::socket_type::router);
    try {
        bind_and_announce(s, taken, "test");
        FAIL("a taken port was bound");
    } catch (const BindError& e) {
        CHECK(e.endpoint() == taken);
        CHECK(e.error_number() == EADDRINUSE);
        CHECK(e.reason() == "Address already in use");
        CHECK(std::string(e.what()) == "cannot bind " + taken + ": Address already in use");
    }
}

TEST_CASE("IPv6: bind_endpoint and connect_endpoint take tcp://[::1]:*") {
    zmq::context_t ctx;
    auto server = make_socket(ctx, zmq::socket_type::router);
    std::string ep;
    try {
        ep = bind_and_announce(server, "tcp://[::1]:*", "test");
    } catch (const BindError& e) {
        if (e.error_number() == EADDRNOTAVAIL || e.error_number() == ENODEV ||
            e.error_number() == EAFNOSUPPORT) {
            MESSAGE("skipped: no IPv6 loopback on this machine (" << e.what() << ")");
            return;
        }
        throw;
    }
    CHECK(ep.rfind("tcp://[::1]:", 0) == 0);
    auto client = make_socket(ctx, zmq::socket_type::dealer);
    connect_endpoint(client, ep);
    client.send(zmq::str_buffer("over IPv6"), zmq::send_flags::none);
    Frames m;
    REQUIRE(test::recv_within(server, m));
    REQUIRE(m.size() == 2);
    CHECK(m[1].to_string() == "over IPv6");
}

TEST_CASE("chaos decides per request number") {
    Chaos none;
    for (long n = 1; n < 100; ++n) CHECK(none.on_request(n) == Chaos::Action::answer);

    Chaos crash;
    crash.crash_after = 3;
    CHECK(crash.on_request(3) == Chaos::Action::answer);
    CHECK(crash.on_request(4) == Chaos::Action::crash);

    Chaos hang;
    hang.hang_after = 1;
    CHECK(hang.on_request(1) == Chaos::Action::answer);
    CHECK(hang.on_request(2) == Chaos::Action::hang);

    Chaos drop;
    drop.drop_every = 3;
    CHECK(drop.on_request(2) == Chaos::Action::answer);
    CHECK(drop.on_request(3) == Chaos::Action::drop);
    CHECK(drop.on_request(6) == Chaos::Action::drop);

    Chaos slow;
    slow.slow_after = 2;
    slow.delay = 10ms;
    CHECK(slow.on_request(2) == Chaos::Action::answer);
    CHECK(slow.on_request(3) == Chaos::Action::delay_then_answer);
}

TEST_CASE("hang_until_stopped(stop) exits 0 once its StopSource is asked from another thread") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        StopSource stop;
        std::thread asker([&] { stop.request_stop(); });
        asker.detach();
        hang_until_stopped(stop);  // exits 0
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

// libzmq reads ZMQ_IPV6 at each bind/connect: it must be on only where the endpoint asks for IPv6, so that a
// name ("localhost", which may resolve to ::1 first) keeps reaching a peer bound to 127.0.0.1.
TEST_CASE("IPv6 is set per endpoint: brackets (and * to bind) on, names and IPv4 addresses off") {
    zmq::context_t ctx;
    auto peer = make_socket(ctx, zmq::socket_type::router);
    const std::string bound = bind_and_announce(peer, "tcp://127.0.0.1:*", "peer");
    const std::string port = bound.substr(bound.rfind(':') + 1);  // an OS-chosen port, for the connects
    auto socket = make_socket(ctx, zmq::socket_type::dealer);
    auto ipv6 = [&] { return socket.get(zmq::sockopt::ipv6); };
    CHECK(ipv6() == 0);
    connect_endpoint(socket, "tcp://[::1]:" + port);
    CHECK(ipv6() == 1);
    connect_endpoint(socket, "tcp://localhost:" + port);
    CHECK(ipv6() == 0);
    connect_endpoint(socket, "tcp://[::1]:" + port);
    connect_endpoint(socket, "tcp://127.0.0.1:" + port);
    CHECK(ipv6() == 0);
    bind_endpoint(socket, "tcp://*:*");
    CHECK(ipv6() == 1);
    bind_endpoint(socket, "tcp://127.0.0.1:*");
    CHECK(ipv6() == 0);
    connect_endpoint(socket, "inproc://not-tcp");  // untouched by non-tcp endpoints
    CHECK(ipv6() == 0);
}
