// Raw MDP frames, written byte by byte from docs/protocols.md, spoken to mdbroker, mdworker and mdclient.
#include <doctest/doctest.h>

#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>

#include <unistd.h>

using namespace pirates;
using namespace std::chrono_literals;
using pirates::test::bind_loopback;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::recv_within;
using pirates::test::strings;
using S = std::vector<std::string>;

namespace {

S next(zmq::socket_t& s, Duration timeout = 5s) {
    Frames m;
    if (!recv_within(s, m, timeout)) return {};
    return strings(m);
}

// Next message that is not a heartbeat ("" "MDPW01" 0x04, maybe behind an identity).
S next_not_heartbeat(zmq::socket_t& s) {
    for (int i = 0; i < 1000; ++i) {
        S m = next(s);
        if (!m.empty() && m.back() == "\x04" && m.size() <= 4) continue;
        return m;
    }
    return {};
}

void send(zmq::socket_t& s, const S& parts) {
    Frames m;
    for (const auto& p : parts) m.add(frame(p));
    m.send(s);
}

zmq::socket_t dealer(zmq::context_t& ctx, const std::string& ep) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(ep);
    return s;
}

}  // namespace

TEST_CASE("raw frames to mdbroker: READY, REQUEST, REPLY, HEARTBEAT, MMI, protocol errors") {
    Process broker("mdbroker", {"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "50"});
    std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    zmq::context_t ctx;
    auto worker = dealer(ctx, ep);
    send(worker, {"", "MDPW01", "\x01", "echo"});
    // The broker heartbeats an idle worker.
    CHECK(next(worker) == S{"", "MDPW01", "\x04"});

    auto client = dealer(ctx, ep);
    send(client, {"", "MDPC01", "echo", "hello", "world"});
    S request = next_not_heartbeat(worker);
    REQUIRE(request.size() == 7);
    CHECK(request[0] == "");
    CHECK(request[1] == "MDPW01");
    CHECK(request[2] == "\x02");
    CHECK(request[4] == "");
    CHECK(S(request.begin() + 5, request.end()) == S{"hello", "world"});
    send(worker, {"", "MDPW01", "\x03", request[3], "", "HELLO", "WORLD"});
    CHECK(next(client) == S{"", "MDPC01", "echo", "HELLO", "WORLD"});

    // A REQ client: its socket adds the empty delimiter.
    zmq::socket_t req(ctx, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.connect(ep);
    send(req, {"MDPC01", "mmi.service", "echo"});
    CHECK(next(req) == S{"MDPC01", "mmi.service", "200"});
    send(req, {"MDPC01", "mmi.service", "nothing"});
    CHECK(next(req) == S{"MDPC01", "mmi.service", "404"});
    send(req, {"MDPC01", "mmi.nope", "x"});
    CHECK(next(req) == S{"MDPC01", "mmi.nope", "501"});

    // Garbage is dropped: the broker stays up and answers.
    send(client, {"garbage"});
    send(client, {"", "MDPC01"});
    send(client, {"", "MDPW01", "\x07"});
    send(client, {"", "MDPC01", "echo", "again"});
    request = next_not_heartbeat(worker);
    REQUIRE(request.size() == 6);
    send(worker, {"", "MDPW01", "\x03", request[3], "", "AGAIN"});
    CHECK(next(client) == S{"", "MDPC01", "echo", "AGAIN"});

    // A REPLY for a client that does not exist (ROUTER_MANDATORY: EHOSTUNREACH) is dropped; the broker lives
    // on.
    send(client, {"", "MDPC01", "echo", "third"});
    request = next_not_heartbeat(worker);
    REQUIRE(request.size() == 6);
    send(worker, {"", "MDPW01", "\x03", "NOBODY", "", "lost"});
    send(worker, {"", "MDPW01", "\x03", request[3], "", "THIRD"});
    CHECK(next(client) == S{"", "MDPC01", "echo", "THIRD"});

    // A second READY: DISCONNECT. A HEARTBEAT from a worker the broker does not know: DISCONNECT.
    send(worker, {"", "MDPW01", "\x01", "echo"});
    CHECK(next_not_heartbeat(worker) == S{"", "MDPW01", "\x05"});
    send(worker, {"", "MDPW01", "\x04"});
    CHECK(next_not_heartbeat(worker) == S{"", "MDPW01", "\x05"});
    // READY for an mmi service: DISCONNECT.
    auto impostor = dealer(ctx, ep);
    send(impostor, {"", "MDPW01", "\x01", "mmi.service"});
    CHECK(next(impostor) == S{"", "MDPW01", "\x05"});
    // A worker's DISCONNECT: the broker forgets it and answers nothing.
    auto leaving = dealer(ctx, ep);
    send(leaving, {"", "MDPW01", "\x01", "solo"});
    CHECK(next(leaving) == S{"", "MDPW01", "\x04"});  // registered: the broker heartbeats it
    send(req, {"MDPC01", "mmi.service", "solo"});
    CHECK(next(req) == S{"MDPC01", "mmi.service", "200"});
    send(leaving, {"", "MDPW01", "\x05"});
    // The DISCONNECT and the query travel on different connections, so ask until the answer changes.
    CHECK(pirates::test::eventually(
        [&] {
            send(req, {"MDPC01", "mmi.service", "solo"});
            return next(req) == S{"MDPC01", "mmi.service", "404"};
        },
        5s));
    // Nothing answers the DISCONNECT, and the heartbeats stop: at most those sent before it was read arrive.
    S m = next(leaving, 200ms);
    for (int i = 0; i < 5 && !m.empty(); ++i, m = next(leaving, 200ms)) CHECK(m == S{"", "MDPW01", "\x04"});
    CHECK(m.empty());
    CHECK(broker.running());
}

TEST_CASE("raw frames to mdworker: the test is the broker") {
    zmq::context_t ctx;
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    std::string ep = bind_loopback(router);
    Process worker("mdworker", {"--connect", ep, "--service", "echo", "--heartbeat-ms", "50"});
    S ready = next(router);
    REQUIRE(ready.size() == 5);
    CHECK(S(ready.begin() + 1, ready.end()) == S{"", "MDPW01", "\x01", "echo"});
    const std::string id = ready[0];
    send(router, {id, "", "MDPW01", "\x02", "CLIENT-7", "", "one", "two"});
    CHECK(next_not_heartbeat(router) == S{id, "", "MDPW01", "\x03", "CLIENT-7", "", "one", "two"});
    // It heartbeats.
    S hb;
    for (int i = 0; i < 10 && hb.size() != 4; ++i) hb = next(router);
    CHECK(hb == S{id, "", "MDPW01", "\x04"});
    // Junk does not kill it.
    send(router, {id, "junk"});
    send(router, {id, "", "MDPW01", "\x02"});
    // DISCONNECT: it registers again from a new socket.
    send(router, {id, "", "MDPW01", "\x05"});
    S again = next_not_heartbeat(router);
    while (!again.empty() && again[0] == id) again = next_not_heartbeat(router);
    REQUIRE(again.size() == 5);
    CHECK(S(again.begin() + 1, again.end()) == S{"", "MDPW01", "\x01", "echo"});
    send(router, {again[0], "", "MDPW01", "\x02", "C", "", "three"});
    CHECK(next_not_heartbeat(router) == S{again[0], "", "MDPW01", "\x03", "C", "", "three"});
    worker.signal(SIGTERM);
    CHECK(worker.wait_exit() == 0);
}

TEST_CASE("raw frames to mdclient: the test is the broker, sync and async") {
    zmq::context_t ctx;
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    std::string ep = bind_loopback(router);
    {
        Process client("mdclient", {"--connect", ep, "--service", "echo", "--requests", "3"});
        for (int i = 1; i <= 3; ++i) {
            S m = next(router);
            REQUIRE(m.size() == 5);
            CHECK(m[1] == "");
            CHECK(m[2] == "MDPC01");
            CHECK(m[3] == "echo");
            CHECK(m[4] == "request " + std::to_string(i) + " from " + std::to_string(client.pid()));
            send(router, {m[0], "", "MDPC01", "echo", m[4]});
        }
        CHECK(client.wait_exit() == 0);
        CHECK(client.wait_for("sent 3 answered 3 matched 3"));
    }
    {
        Process client("mdclient", {"--connect", ep, "--service", "echo", "--requests", "4", "--async"});
        std::vector<S> got;
        for (int i = 0; i < 4; ++i) got.push_back(next(router));
        for (auto it = got.rbegin(); it != got.rend(); ++it) {  // answered out of order
            REQUIRE(it->size() == 6);
            CHECK((*it)[4].substr(0, 8) == std::string("\xFFPIRCID\x01", 8));
            send(router, {(*it)[0], "", "MDPC01", "echo", (*it)[4], (*it)[5]});
        }
        CHECK(client.wait_exit() == 0);
        CHECK(client.wait_for("sent 4 answered 4 matched 4"));
    }
    {
        // A reply that is not the request: mdclient reports it and exits 1.
        Process client("mdclient", {"--connect", ep, "--service", "echo", "--requests", "1"});
        S m = next(router);
        REQUIRE(m.size() == 5);
        send(router, {m[0], "", "MDPC01", "echo", "something else"});
        CHECK(client.wait_exit() == 1);
    }
}
