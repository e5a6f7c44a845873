// Raw frames, written by hand from docs/protocols.md: to flserver (each model), and from servers written here
// to flclient (each model). Our own encoders are not used on the test side, so a symmetric bug cannot hide.
#include <doctest/doctest.h>
#include <pirates/freelance/server.hpp>

#include <csignal>
#include <future>

#include "support/disconnect_watch.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "thread_server.hpp"

using namespace pirates;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::recv_within;
using pirates::test::strings;
using pirates::test::ThreadServer;
using V = std::vector<std::string>;

namespace {

std::string start(Process& p) {
    std::string ep = p.bound_endpoint("server");
    REQUIRE(!ep.empty());
    return ep;
}

// A message from a ROUTER addressed to `identity`, retried while the peer is not connected yet
// (ROUTER_MANDATORY).
void send_routed(zmq::socket_t& router, const std::string& identity,
                 std::initializer_list<std::string_view> parts) {
    bool sent = test::eventually(
        [&] {
            auto m = make_frames(parts);
            m.push(frame(identity));
            try {
                return m.send(router, ZMQ_DONTWAIT);
            } catch (const zmq::error_t& e) {
                if (e.num() != EHOSTUNREACH) throw;
                return false;
            }
        },
        5s);
    REQUIRE(sent);
}

std::vector<Frames> one(Frames m) {
    std::vector<Frames> v;
    v.push_back(std::move(m));
    return v;
}

}  // namespace

TEST_CASE("raw: flserver model 1 echoes the body under the REP envelope, and ignores junk") {
    Process p("flserver", {"--model", "1", "--bind", "tcp://127.0.0.1:*"});
    std::string ep = start(p);
    zmq::context_t context;
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(ep);
    make_frames({"no delimiter"}).send(dealer);
    make_frames({""}).send(dealer);  // delimiter, no body
    make_frames({std::string_view("\x00\xff\x01", 3)}).send(dealer);
    make_frames({"", "hello", std::string_view("\x00\x01", 2)}).send(dealer);
    Frames reply;
    REQUIRE(recv_within(dealer, reply, 5s));
    CHECK(strings(reply) == V{"", "hello", std::string("\x00\x01", 2)});
    make_frames({"", "again"}).send(dealer);
    reply.clear();
    REQUIRE(recv_within(dealer, reply, 5s));
    CHECK(strings(reply) == V{"", "again"});
    CHECK(p.running());
}

TEST_CASE("raw: flserver model 2 answers \"\" seq body with \"\" seq \"OK\"") {
    Process p("flserver", {"--model", "2", "--bind", "tcp://127.0.0.1:*"});
    std::string ep = start(p);
    zmq::context_t context;
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(ep);
    make_frames({"garbage", "more"}).send(dealer);
    make_frames({"", "17", "hello"}).send(dealer);
    Frames reply;
    REQUIRE(recv_within(dealer, reply, 5s));
    CHECK(strings(reply) == V{"", "17", "OK"});
    // A REQ, as the Guide's client might use for a single server, gets the same.
    zmq::socket_t req(context, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.connect(ep);
    make_frames({"3", "body"}).send(req);
    reply.clear();
    REQUIRE(recv_within(req, reply, 5s));
    CHECK(strings(reply) == V{"3", "OK"});
}

TEST_CASE(
    "raw: flserver model 3 has its endpoint as identity, answers PING with PONG and seq with seq \"OK\"") {
    Process p("flserver", {"--model", "3", "--bind", "tcp://127.0.0.1:*"});
    std::string ep = start(p);
    zmq::context_t context;
    zmq::socket_t router(context, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::router_mandatory, 1);
    router.connect(ep);
    send_routed(router, ep, {"PING"});
    Frames reply;
    REQUIRE(recv_within(router, reply, 5s));
    CHECK(strings(reply) == V{ep, "PONG"});
    send_routed(router, ep, {""});  // an empty sequence: dropped
    send_routed(router, ep, {"42", "hello", "world"});
    reply.clear();
    REQUIRE(recv_within(router, reply, 5s));
    CHECK(strings(reply) == V{ep, "42", "OK"});
    CHECK(p.running());
}

TEST_CASE("raw: flserver --identity sets the routing identity explicitly") {
    Process p("flserver",
              {"--model", "3", "--bind", "tcp://127.0.0.1:*", "--identity", "tcp://server.example:1"});
    std::string ep = start(p);
    zmq::context_t context;
    zmq::socket_t router(context, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::router_mandatory, 1);
    router.connect(ep);
    send_routed(router, "tcp://server.example:1", {"PING"});
    Frames reply;
    REQUIRE(recv_within(router, reply, 5s));
    CHECK(strings(reply) == V{"tcp://server.example:1", "PONG"});
}

TEST_CASE("raw: flserver rejects bad flags with exit code 2") {
    Process a("flserver", {"--model", "4", "--bind", "tcp://127.0.0.1:*"});
    CHECK(a.wait_exit(5s) == 2);
    Process b("flserver", {"--model", "1", "--bind", "tcp://127.0.0.1:*", "--identity", "x"});
    CHECK(b.wait_exit(5s) == 2);
    Process c("flclient", {"--model", "2"});
    CHECK(c.wait_exit(5s) == 2);
    Process d("flserver", {"--model", "1", "--bind", "tcp://127.0.0.1:*", "--hwm", "0"});
    CHECK(d.wait_exit(5s) == 2);
    Process help("flserver", {"--help"});
    CHECK(help.wait_exit(5s) == 0);
    CHECK(help.wait_for("--max-message-bytes BYTES"));
    CHECK(help.wait_for("--max-queue-bytes BYTES"));
    CHECK(help.wait_for("--hwm N"));
}

TEST_CASE(
    "raw: flserver --max-message-bytes: a client that sends a larger message is dropped, others served") {
    Process p("flserver", {"--model", "3", "--bind", "tcp://127.0.0.1:*", "--max-message-bytes", "64K"});
    std::string ep = start(p);
    zmq::context_t context;
    auto client = [&] {
        zmq::socket_t router(context, zmq::socket_type::router);
        router.set(zmq::sockopt::linger, 0);
        router.set(zmq::sockopt::router_mandatory, 1);
        return router;
    };
    zmq::socket_t big = client();
    test::DisconnectWatch watch(context, big);
    big.connect(ep);
    const std::string over(64 * 1024 + 1, 'x');
    send_routed(big, ep, {"1", over});
    CHECK(watch.wait(1, 5s));

    zmq::socket_t good = client();
    good.connect(ep);
    send_routed(good, ep, {"PING"});
    Frames reply;
    REQUIRE(recv_within(good, reply, 5s));
    CHECK(strings(reply) == V{ep, "PONG"});
    const std::string at_bound(64 * 1024, 'y');
    send_routed(good, ep, {"2", at_bound});
    REQUIRE(recv_within(good, reply, 5s));
    CHECK(strings(reply) == V{ep, "2", "OK"});
    CHECK(p.running());
}

TEST_CASE("raw: flclient model 3 stops within 200 ms on SIGTERM with a request outstanding, exit 130") {
    // Two ways to have a request outstanding: no live server at all (a silent ROUTER), and a server that
    // answers PINGs but never requests (the request is then with it, waiting for its attempt timeout).
    for (bool pongs : {false, true}) {
        CAPTURE(pongs);
        zmq::context_t context;
        zmq::socket_t server(context, zmq::socket_type::router);
        server.set(zmq::sockopt::linger, 0);
        std::string ep = test::bind_loopback(server);
        if (pongs) {
            // Model 3 identity: the endpoint the client connects to.
            server.close();
            server = zmq::socket_t(context, zmq::socket_type::router);
            server.set(zmq::sockopt::linger, 0);
            server.set(zmq::sockopt::routing_id, ep);
            REQUIRE(test::eventually(
                [&] {
                    try {
                        server.bind(ep);
                        return true;
                    } catch (const zmq::error_t&) {
                        return false;  // the first listener is still closing
                    }
                },
                5s));
        }
        // Global timeout 10 s, attempt timeout 10 s: without a prompt stop the client would wait that long.
        Process client("flclient", {"--model", "3", "--connect", ep, "--requests", "1", "--timeout-ms",
                                    "10000", "--attempt-ms", "10000", "--ping-ms", "50", "-v"});
        REQUIRE(client.wait_for("request 1 started"));  // the agent has the request: it is outstanding
        if (pongs) {
            // Answer PINGs until the request itself arrives.
            bool got_request = test::eventually(
                [&] {
                    Frames m;
                    while (recv_within(server, m, Duration{10})) {
                        auto s = strings(m);
                        if (s.size() == 2 && s[1] == "PING") {
                            Frames pong;
                            pong.add(frame(s[0]));
                            pong.add(frame("PONG"));
                            pong.send(server, ZMQ_DONTWAIT);
                        } else if (s.size() >= 3 && s[1] == "1") {
                            return true;
                        }
                    }
                    return false;
                },
                5s);
            REQUIRE(got_request);
        }
        const TimePoint start = Clock::now();
        client.signal(SIGTERM);
        auto code = client.wait_exit(10s);
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        MESSAGE("flclient model 3 stopped " << took.count()
                                            << " ms after SIGTERM (server answering pings: " << pongs << ")");
        CHECK(code == 130);  // interrupted: a clean stop, its request not answered
        // 200 ms, with slack for a loaded machine: measured 4-23 ms in the release build, up to 615 ms in the
        // sanitizer build (its exit includes the leak check) with a load average of 11 on 2 cores. Without
        // the prompt stop this takes the request's 10 s timeout.
        CHECK(took < 200ms + 1300ms);
        CHECK(client.wait_for("request 1 failed: interrupted"));
    }
}

TEST_CASE("raw: flclient model 1 against a REP-envelope server written here") {
    zmq::context_t context;
    ThreadServer server(context, [](Frames& m) -> std::vector<Frames> {
        // [identity] "" "hello"
        if (strings(m).size() != 3 || m[1].size() != 0 || m[2].to_string() != "hello") return {};
        return one(std::move(m));
    });
    Process client("flclient", {"--model", "1", "--connect", server.endpoint(), "--requests", "3"});
    REQUIRE(client.wait_exit(10s) == 0);
    CHECK(client.wait_for("answered 3/3, average round trip"));  // the last line: all output is read
    CHECK(client.count("hello") >= 3);
}

TEST_CASE("raw: flclient model 2 against a server written here, which also sends a stale reply first") {
    zmq::context_t context;
    ThreadServer server(context, [](Frames& m) -> std::vector<Frames> {
        // [identity] "" seq "hello"
        auto s = strings(m);
        if (s.size() != 4 || !s[1].empty() || s[3] != "hello") return {};
        std::vector<Frames> replies;
        for (std::string seq : {std::string("999999"), s[2]}) {  // a stale sequence first, then the real one
            Frames reply;
            reply.add(frame(s[0]));
            reply.add(frame(""));
            reply.add(frame(seq));
            reply.add(frame(seq == s[2] ? "OK" : "STALE"));
            replies.push_back(std::move(reply));
        }
        return replies;
    });
    Process client("flclient", {"--model", "2", "--connect", server.endpoint(), "--requests", "3"});
    REQUIRE(client.wait_exit(10s) == 0);
    CHECK(client.wait_for("answered 3/3"));
    CHECK(client.count("[\"OK\"]") == 3);
    CHECK(client.count("STALE") == 0);
    CHECK(server.received() == 3);
}

TEST_CASE("raw: flclient model 3 against a ROUTER server written here, identity = its endpoint") {
    zmq::context_t context;
    ThreadServer server(
        context,
        [](Frames& m) -> std::vector<Frames> {
            auto s = strings(m);
            Frames reply;
            if (s.size() == 2 && s[1] == "PING") {
                reply.add(frame(s[0]));
                reply.add(frame("PONG"));
            } else if (s.size() == 3 && s[2] == "hello") {
                reply.add(frame(s[0]));
                reply.add(frame(s[1]));
                reply.add(frame("OK"));
            } else {
                return {};
            }
            return one(std::move(reply));
        },
        Duration{0}, true);
    Process client("flclient",
                   {"--model", "3", "--connect", server.endpoint(), "--requests", "3", "--ping-ms", "50"});
    REQUIRE(client.wait_exit(10s) == 0);
    CHECK(client.wait_for("answered 3/3"));
    CHECK(client.count("[\"OK\"] from " + server.endpoint()) == 3);
}

TEST_CASE("raw: flclient exits 1 when requests go unanswered") {
    zmq::context_t context;
    zmq::socket_t silent(context, zmq::socket_type::router);
    silent.set(zmq::sockopt::linger, 0);
    std::string ep = test::bind_loopback(silent);
    Process client("flclient", {"--model", "3", "--connect", ep, "--requests", "1", "--timeout-ms", "200"});
    CHECK(client.wait_exit(10s) == 1);
    CHECK(client.wait_for("request 1 failed"));
}

TEST_CASE("raw: flserver stops cleanly with exit 0 on SIGTERM and SIGINT, every model") {
    for (const char* model : {"1", "2", "3"}) {
        Process p("flserver", {"--model", model, "--bind", "tcp://127.0.0.1:*"});
        start(p);
        p.signal(std::string(model) == "2" ? SIGINT : SIGTERM);
        CHECK(p.wait_exit(5s) == 0);
    }
}

// A signal that arrives between bind and run() (the announce line is out, the loop not yet running) must not
// be lost: run() keeps a stop requested before it and returns at once.
TEST_CASE("server: a stop requested before run() ends run() at once, every model") {
    for (int model : {1, 2, 3}) {
        zmq::context_t context;
        freelance::ServerOptions options;
        options.model = model;
        options.bind = "tcp://127.0.0.1:*";
        freelance::Server server(context, options);
        server.request_stop();
        auto done = std::async(std::launch::async, [&] { server.run(); });
        CHECK(done.wait_for(5s) == std::future_status::ready);
    }
}
