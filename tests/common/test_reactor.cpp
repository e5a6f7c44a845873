#include <doctest/doctest.h>
#include <pirates/common/reactor.hpp>
#include <pirates/common/signals.hpp>

#include "support/net.hpp"

#include <csignal>

using namespace pirates;
using namespace std::chrono_literals;

TEST_CASE("timers fire in deadline order, whatever order they were added in") {
    ManualClock clock;
    Reactor r(clock);
    std::vector<int> fired;
    r.add_timer(30ms, [&] { fired.push_back(30); });
    r.add_timer(10ms, [&] { fired.push_back(10); });
    r.add_timer(20ms, [&] { fired.push_back(20); });
    r.add_timer(10ms, [&] { fired.push_back(11); });  // same deadline: creation order
    r.run_once(0ms);
    CHECK(fired.empty());
    clock.advance(15ms);
    r.run_once(0ms);
    CHECK(fired == std::vector<int>{10, 11});
    clock.advance(100ms);
    r.run_once(0ms);
    CHECK(fired == std::vector<int>{10, 11, 20, 30});
    CHECK(r.timer_count() == 0);
}

TEST_CASE("a cancelled timer never fires, even when cancelled by a timer due at the same moment") {
    ManualClock clock;
    Reactor r(clock);
    int fired = 0;
    Reactor::TimerId victim = 0;
    r.add_timer(10ms, [&] { r.cancel(victim); });
    victim = r.add_timer(10ms, [&] { ++fired; });
    auto other = r.add_timer(5ms, [&] { ++fired; });
    CHECK(r.cancel(other));
    CHECK_FALSE(r.cancel(other));  // already gone
    clock.advance(50ms);
    r.run_once(0ms);
    CHECK(fired == 0);
}

TEST_CASE("repeating timers re-arm themselves, and rearm moves a timer") {
    ManualClock clock;
    Reactor r(clock);
    int ticks = 0, once = 0;
    auto rep = r.add_repeating(10ms, [&] { ++ticks; });
    auto one = r.add_timer(10ms, [&] { ++once; });
    clock.advance(10ms);
    r.run_once(0ms);
    CHECK(ticks == 1);
    CHECK(once == 1);
    CHECK(r.timer_count() == 1);  // the one-shot is gone
    clock.advance(10ms);
    r.run_once(0ms);
    CHECK(ticks == 2);
    CHECK(r.rearm(rep, 50ms));
    clock.advance(40ms);
    r.run_once(0ms);
    CHECK(ticks == 2);
    clock.advance(10ms);
    r.run_once(0ms);
    CHECK(ticks == 3);
    CHECK_FALSE(r.rearm(one, 1ms));  // fired one-shots cannot be re-armed
}

TEST_CASE("socket handlers run and each ready socket is drained before the next poll") {
    zmq::context_t ctx;
    zmq::socket_t a(ctx, zmq::socket_type::pair), b(ctx, zmq::socket_type::pair);
    a.bind("inproc://drain");
    b.connect("inproc://drain");
    for (int i = 0; i < 5; ++i) a.send(zmq::str_buffer("m"), zmq::send_flags::none);
    Reactor r;
    int got = 0, calls = 0;
    r.add(b, [&] {
        ++calls;
        Frames m;
        if (!recv_nowait(b, m)) return false;
        ++got;
        return true;
    });
    r.run_once(1000ms);
    CHECK(got == 5);
    CHECK(calls == 6);  // the last call found the socket empty
}

TEST_CASE("a disabled socket is not read until enabled again") {
    zmq::context_t ctx;
    zmq::socket_t a(ctx, zmq::socket_type::pair), b(ctx, zmq::socket_type::pair);
    a.bind("inproc://enable");
    b.connect("inproc://enable");
    a.send(zmq::str_buffer("m"), zmq::send_flags::none);
    Reactor r;
    int got = 0;
    r.add(b, [&] {
        Frames m;
        if (!recv_nowait(b, m)) return false;
        ++got;
        return true;
    });
    r.enable(b, false);
    r.run_once(20ms);
    CHECK(got == 0);
    r.enable(b, true);
    r.run_once(1000ms);
    CHECK(got == 1);
}

TEST_CASE("a socket replaced in place is polled on the new socket") {
    zmq::context_t ctx;
    zmq::socket_t server(ctx, zmq::socket_type::pair);
    server.bind("inproc://replace");
    zmq::socket_t client(ctx, zmq::socket_type::pair);
    client.connect("inproc://nowhere");
    Reactor r;
    int got = 0;
    r.add(client, [&] {
        Frames m;
        if (!recv_nowait(client, m)) return false;
        ++got;
        return true;
    });
    client = zmq::socket_t(ctx, zmq::socket_type::pair);  // as a reconnecting worker does
    client.connect("inproc://replace");
    server.send(zmq::str_buffer("hello"), zmq::send_flags::none);
    r.run_once(1000ms);
    CHECK(got == 1);
}

TEST_CASE("stop from a handler ends run()") {
    Reactor r;
    int fired = 0;
    r.add_timer(1ms, [&] {
        ++fired;
        r.stop();
    });
    r.add_timer(2ms, [&] { ++fired; });
    r.run();
    CHECK(fired == 1);
    CHECK(r.stopped());
}

TEST_CASE("stop from a socket handler ends run() at once: the rest of the burst stays queued") {
    zmq::context_t ctx;
    zmq::socket_t a(ctx, zmq::socket_type::pair), b(ctx, zmq::socket_type::pair);
    a.bind("inproc://stop-in-handler");
    b.connect("inproc://stop-in-handler");
    for (int i = 0; i < 3; ++i) a.send(zmq::str_buffer("m"), zmq::send_flags::none);
    Reactor r;
    int got = 0, timers = 0;
    r.add(b, [&] {
        Frames m;
        if (!recv_nowait(b, m)) return false;
        ++got;
        r.stop();
        return true;
    });
    r.add_timer(0ms, [&] { ++timers; });  // due, but the reactor stopped first
    r.run();
    CHECK(r.stopped());
    CHECK(got == 1);
    CHECK(timers == 0);
    Frames left;
    CHECK(recv_nowait(b, left));  // the other two are still there
}

TEST_CASE("SIGINT and SIGTERM end run() through a StopSignalHook, never by themselves") {
    for (int sig : {SIGINT, SIGTERM}) {
        install_stop_signals();
        clear_stop_request();
        Reactor r;
        StopSignalHook hook([&r] { r.request_stop(); });
        r.add_timer(5ms, [sig] { std::raise(sig); });
        r.run();  // returns only because the hook asked it to stop
        CHECK(r.stopped());
        CHECK(stop_requested());
        clear_stop_request();
    }
    // Without a hook a signal leaves a reactor running: library objects never read the process-wide flag.
    clear_stop_request();
    Reactor unhooked;
    int turns = 0;
    unhooked.add_repeating(2ms, [&] {
        if (++turns == 1) std::raise(SIGTERM);
        if (turns == 5) unhooked.request_stop();
    });
    unhooked.run();
    CHECK(turns == 5);
    clear_stop_request();
}
