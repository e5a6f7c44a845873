// Raw-frame tests: bytes written by hand from docs/protocols.md (6/PPP), spoken to our executables, so that a
// codec bug shared by our queue and our worker cannot pass unnoticed.
#include <doctest/doctest.h>

#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>

using namespace pirates;
using namespace pirates::test;
using namespace std::chrono_literals;
using namespace std::string_view_literals;
using Strings = std::vector<std::string>;

namespace {

zmq::socket_t make_socket(zmq::context_t& ctx, zmq::socket_type type) {
    zmq::socket_t s(ctx, type);
    s.set(zmq::sockopt::linger, 0);
    return s;
}

void send_raw(zmq::socket_t& s, std::initializer_list<std::string_view> parts) {
    Frames m = make_frames(parts);
    m.send(s);
}

// Receive until a message that is not a one-frame 0x02 heartbeat arrives (or the deadline passes).
bool recv_skipping_heartbeats(zmq::socket_t& s, Frames& out, std::size_t heartbeat_size, Duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        out.clear();
        if (!recv_within(s, out, until(Clock::now(), deadline))) return false;
        bool heartbeat = out.size() == heartbeat_size && out.back().to_string_view() == "\x02"sv;
        if (!heartbeat) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("raw frames against ppqueue: READY, request, reply, heartbeats, garbage") {
    Process queue("ppqueue", {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*",
                              "--heartbeat-ms", "50", "--liveness", "100"});
    const std::string frontend = queue.bound_endpoint("frontend");
    const std::string backend = queue.bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    REQUIRE_FALSE(frontend.empty());
    zmq::context_t ctx;

    auto worker = make_socket(ctx, zmq::socket_type::dealer);
    worker.connect(backend);
    send_raw(worker, {"\x01"});  // READY
    // Garbage from the worker: dropped, the queue carries on.
    send_raw(worker, {"\x03"});
    send_raw(worker, {"\x01\x02"sv});
    send_raw(worker, {"\x00"sv});
    send_raw(worker, {"no-delimiter", "x"});
    send_raw(worker, {"client", ""});

    // The queue heartbeats an idle worker: one frame, the byte 0x02.
    Frames m;
    REQUIRE(recv_within(worker, m, 5000ms));
    CHECK(strings(m) == Strings{"\x02"});

    // A client (a DEALER, so the test writes the empty delimiter itself) sends a request.
    auto client = make_socket(ctx, zmq::socket_type::dealer);
    client.set(zmq::sockopt::routing_id, "C1"sv);
    client.connect(frontend);
    // Garbage on the frontend first: no delimiter, delimiter only.
    send_raw(client, {"junk"});
    send_raw(client, {""});
    send_raw(client, {"", "\x00\xff request"sv, "second frame"});

    REQUIRE(recv_skipping_heartbeats(worker, m, 1, 5000ms));
    // The worker's DEALER sees [client-id] "" request...
    REQUIRE(m.size() == 4);
    CHECK(m[0].to_string() == "C1");
    CHECK(m[1].size() == 0);
    CHECK(m[2].to_string_view() == "\x00\xff request"sv);
    CHECK(m[3].to_string() == "second frame");

    send_raw(worker, {"C1", "", "reply-1", "reply-2"});
    REQUIRE(recv_within(client, m, 5000ms));
    CHECK(strings(m) == Strings{"", "reply-1", "reply-2"});

    // A HEARTBEAT from a worker the queue never saw READY from: it becomes idle and gets work.
    auto stranger = make_socket(ctx, zmq::socket_type::dealer);
    stranger.connect(backend);
    send_raw(stranger, {"\x02"});
    REQUIRE(recv_within(stranger, m, 5000ms));  // heartbeats reach it
    CHECK(strings(m) == Strings{"\x02"});
    // Least recently used first: the first worker (heard before the stranger) takes the next request and
    // keeps it; the one after goes to the stranger.
    send_raw(client, {"", "for the first worker"});
    REQUIRE(recv_skipping_heartbeats(worker, m, 1, 5000ms));
    CHECK(strings(m) == Strings{"C1", "", "for the first worker"});
    send_raw(client, {"", "for the stranger"});
    REQUIRE(recv_skipping_heartbeats(stranger, m, 1, 5000ms));
    CHECK(strings(m) == Strings{"C1", "", "for the stranger"});
    send_raw(stranger, {"C1", "", "done"});
    REQUIRE(recv_within(client, m, 5000ms));
    CHECK(strings(m) == Strings{"", "done"});

    queue.signal(SIGTERM);
    CHECK(queue.wait_exit() == 0);
}

TEST_CASE(
    "raw frames against ppworker: READY on connect, heartbeats, request echoed, garbage survived, "
    "reconnect") {
    zmq::context_t ctx;
    auto router = make_socket(ctx, zmq::socket_type::router);
    const std::string ep = bind_loopback(router);
    Process worker("ppworker", {"--connect", ep, "--heartbeat-ms", "50", "--liveness", "3", "--reconnect-ms",
                                "50", "--reconnect-max-ms", "200", "-v"});

    Frames m;
    REQUIRE(recv_within(router, m, 5000ms));
    REQUIRE(m.size() == 2);
    CHECK(m[1].to_string_view() == "\x01"sv);  // READY
    const std::string id = m[0].to_string();

    // Heartbeats arrive, one frame 0x02, while we answer with ours.
    int heartbeats = 0;
    while (heartbeats < 3) {
        m.clear();
        REQUIRE(recv_within(router, m, 5000ms));
        REQUIRE(m.size() == 2);
        CHECK(m[0].to_string() == id);
        CHECK(m[1].to_string_view() == "\x02"sv);
        ++heartbeats;
        send_raw(router, {id, "\x02"});
    }

    // Garbage from the "queue": ignored, the worker stays.
    send_raw(router, {id, "\x07"});
    send_raw(router, {id, "a", "b"});
    send_raw(router, {id, "no", "delimiter", "here"});
    // A request: [client-id] "" body...; the reply keeps the envelope.
    send_raw(router, {id, "\x00\x01client"sv, "", "hello", "\xff\x00"sv});
    bool got_reply = false;
    const auto deadline = Clock::now() + 5000ms;
    while (!got_reply && Clock::now() < deadline) {
        m.clear();
        REQUIRE(recv_within(router, m, 5000ms));
        if (m.size() == 2 && m[1].to_string_view() == "\x02"sv) continue;
        REQUIRE(m.size() == 5);
        CHECK(m[0].to_string() == id);
        CHECK(m[1].to_string_view() == "\x00\x01client"sv);
        CHECK(m[2].size() == 0);
        CHECK(m[3].to_string() == "hello");
        CHECK(m[4].to_string_view() == "\xff\x00"sv);
        got_reply = true;
    }
    CHECK(got_reply);
    CHECK(worker.running());

    // Stop answering: after liveness x heartbeat of silence the worker closes, backs off, and comes back with
    // a new socket and a new READY.
    bool ready_again = false;
    const auto deadline2 = Clock::now() + 5000ms;
    while (!ready_again && Clock::now() < deadline2) {
        m.clear();
        if (!recv_within(router, m, 1000ms)) continue;
        ready_again = m.size() == 2 && m[1].to_string_view() == "\x01"sv;
        if (ready_again) CHECK(m[0].to_string() != id);
    }
    CHECK(ready_again);
    CHECK(worker.wait_for("reconnected"));

    worker.signal(SIGTERM);
    CHECK(worker.wait_exit() == 0);
}
