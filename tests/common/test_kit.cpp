// The driver kit's socket-facing pieces over real sockets: the socket factory, wait_readable (the blocking
// clients' wait), a reactor stopped from another thread, and StopSignalHook.
#include <doctest/doctest.h>
#include <pirates/common/outbox.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/common/socket.hpp>

#include "support/net.hpp"

#include <csignal>
#include <thread>

using namespace pirates;
using namespace pirates::test;
using namespace std::chrono_literals;

TEST_CASE("make_socket applies the options it is given") {
    zmq::context_t context;
    SocketOptions o = router_options(77, 4096);
    o.linger_ms = 5;
    o.routing_id = "me";
    zmq::socket_t s = make_socket(context, zmq::socket_type::router, o);
    CHECK(s.get(zmq::sockopt::linger) == 5);
    CHECK(s.get(zmq::sockopt::sndhwm) == 77);
    CHECK(s.get(zmq::sockopt::rcvhwm) == 77);
    CHECK(s.get(zmq::sockopt::maxmsgsize) == 4096);
    CHECK(s.get(zmq::sockopt::routing_id) == "me");
}

TEST_CASE("a message over max_message_bytes drops the sender's connection, smaller ones arrive") {
    zmq::context_t context;
    zmq::socket_t server = make_socket(context, zmq::socket_type::router, router_options(1000, 1000));
    std::string ep = bind_loopback(server);
    zmq::socket_t big = make_socket(context, zmq::socket_type::dealer);
    big.connect(ep);
    big.send(zmq::buffer(std::string(2000, 'x')));
    zmq::socket_t small = make_socket(context, zmq::socket_type::dealer);
    small.connect(ep);
    small.send(zmq::str_buffer("ok"));
    Frames m;
    REQUIRE(recv_within(server, m));
    CHECK(m.size() == 2);
    CHECK(m[1].to_string() == "ok");
    CHECK_FALSE(recv_within(server, m, 200ms));
}

TEST_CASE(
    "SocketOutbox: sends on the socket it wraps; closed is peer_gone, no peer to queue on is would_block") {
    zmq::context_t context;
    zmq::socket_t server = make_socket(context, zmq::socket_type::router);
    std::string ep = bind_loopback(server);
    zmq::socket_t dealer = make_socket(context, zmq::socket_type::dealer);
    dealer.connect(ep);
    SocketOutbox out(dealer);
    Frames m = make_frames({"a", "b"});
    CHECK(out.send(m) == SendResult::sent);
    Frames got;
    REQUIRE(recv_within(server, got));
    CHECK(strings(got).size() == 3);
    CHECK(strings(got)[1] == "a");
    CHECK(strings(got)[2] == "b");

    zmq::socket_t lonely = make_socket(context, zmq::socket_type::dealer);  // never connected
    SocketOutbox nowhere(lonely);
    Frames n = make_frames({"x"});
    CHECK(nowhere.send(n) == SendResult::would_block);
    lonely.close();
    Frames c = make_frames({"x"});
    CHECK(nowhere.send(c) == SendResult::peer_gone);
}

TEST_CASE("wait_readable: ready, timeout, and stopped from another thread within a slice") {
    zmq::context_t context;
    zmq::socket_t a = make_socket(context, zmq::socket_type::pair);
    zmq::socket_t b = make_socket(context, zmq::socket_type::pair);
    a.bind("inproc://wait");
    b.connect("inproc://wait");
    const auto& clock = steady_clock();
    StopSource stop;
    CHECK(wait_readable(a, clock.now() + 30ms, clock, stop) == WaitResult::timeout);
    b.send(zmq::str_buffer("x"));
    CHECK(wait_readable(a, clock.now() + 5000ms, clock, stop) == WaitResult::ready);
    // A message already there is found even with the deadline passed.
    CHECK(wait_readable(a, clock.now() - 1ms, clock, stop) == WaitResult::ready);
    zmq::message_t drop;
    REQUIRE(a.recv(drop));

    std::thread stopper([&] { stop.request_stop(); });  // before or during the wait: either way it stops
    auto start = clock.now();
    CHECK(wait_readable(a, clock.now() + 60000ms, clock, stop, 20ms) == WaitResult::stopped);
    CHECK(clock.now() - start < 5000ms);
    stopper.join();
}

TEST_CASE("a reactor stops when another thread asks, without any signal or global flag") {
    Reactor reactor;
    int turns = 0;
    reactor.add_repeating(5ms, [&] { ++turns; });
    std::thread runner([&] { reactor.run(); });
    REQUIRE(eventually([&] { return turns > 2; }));
    reactor.request_stop();
    runner.join();
    CHECK(reactor.stopped());
    CHECK_FALSE(stop_requested());
}

TEST_CASE("StopSignalHook: SIGTERM runs the hooks alive, not the ones gone") {
    install_stop_signals();
    std::atomic<int> first{0}, second{0};
    {
        StopSignalHook gone([&] { ++second; });
    }
    StopSignalHook hook([&] { ++first; });
    ::raise(SIGTERM);
    CHECK(eventually([&] { return first.load() == 1; }));
    CHECK(second.load() == 0);
    CHECK(stop_requested());
    clear_stop_request();
}
