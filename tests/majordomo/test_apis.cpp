// The worker, client and async client APIs against a fake broker: a ROUTER in the test speaking MDP frames
// written here by hand.
#include <doctest/doctest.h>
#include <pirates/majordomo/async_client.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/majordomo/worker.hpp>

#include "support/net.hpp"

#include <map>
#include <thread>

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;
using pirates::test::bind_loopback;
using pirates::test::make_frames;
using pirates::test::recv_within;
using pirates::test::strings;
using S = std::vector<std::string>;

namespace {

struct FakeBroker {
    zmq::context_t& ctx;
    zmq::socket_t router{ctx, zmq::socket_type::router};
    std::string endpoint;
    explicit FakeBroker(zmq::context_t& c) : ctx(c) {
        router.set(zmq::sockopt::linger, 0);
        endpoint = bind_loopback(router);
    }
    // Next message, identity first, as strings.
    S next(Duration timeout = 5s) {
        Frames m;
        if (!recv_within(router, m, timeout)) return {};
        return strings(m);
    }
    // Skip heartbeats until something else arrives.
    S next_not_heartbeat(Duration timeout = 5s) {
        auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            S m = next(until(Clock::now(), deadline));
            if (m.size() == 4 && m[3] == "\x04") continue;
            return m;
        }
        return {};
    }
    void send(std::initializer_list<std::string_view> parts) { make_frames(parts).send(router); }
    void send(const S& parts) {
        Frames m;
        for (auto& p : parts) m.add(frame(p));
        m.send(router);
    }
};

// Drive a worker's loop (non-blocking steps) until pred holds or the deadline passes.
template <typename Pred>
bool pump(Worker& w, Pred pred, Duration timeout = 5s) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (pred()) return true;
        w.recv(5ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("worker API: READY first, requests to the handler, replies with several frames") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    Worker worker(ctx, WorkerConfig{broker.endpoint, "echo", 1000ms, 3, {1000ms, 1000ms, 0}});
    S ready = broker.next();
    REQUIRE(ready.size() == 5);
    CHECK(S(ready.begin() + 1, ready.end()) == S{"", "MDPW01", "\x01", "echo"});
    const std::string id = ready[0];

    broker.send(S{id, "", "MDPW01", "\x02", "CLIENT", "", "a", "b"});
    auto request = worker.recv(5s);
    REQUIRE(request);
    CHECK(strings(request->body) == S{"a", "b"});
    CHECK(worker.reply(std::move(*request), make_frames({"x", "y", "z"})));
    CHECK(broker.next_not_heartbeat() == S{id, "", "MDPW01", "\x03", "CLIENT", "", "x", "y", "z"});
    CHECK(worker.stats().requests == 1);
}

TEST_CASE("worker API: heartbeats every interval, and ignores malformed messages from the broker") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    Worker worker(ctx, WorkerConfig{broker.endpoint, "echo", 20ms, 100, {1000ms, 1000ms, 0}});
    S ready = broker.next();
    REQUIRE(ready.size() == 5);
    broker.send(S{ready[0], "garbage"});
    broker.send(S{ready[0], "", "MDPW01", "\x09"});
    CHECK(pump(worker, [&] { return worker.stats().heartbeats_sent >= 3; }));
    S hb = broker.next();
    CHECK(hb == S{ready[0], "", "MDPW01", "\x04"});
    CHECK(worker.stats().malformed == 2);
    CHECK(worker.stats().connects == 1);
}

TEST_CASE("worker API: a silent broker is presumed dead, the worker reconnects and registers again") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    Worker worker(ctx, WorkerConfig{broker.endpoint, "echo", 20ms, 3, {30ms, 60ms, 0.2}});
    S first = broker.next();
    REQUIRE(first.size() == 5);
    CHECK(pump(worker, [&] { return worker.stats().connects >= 2; }));
    CHECK(worker.stats().broker_deaths >= 1);
    // A READY from a new socket (new identity) arrives.
    S again = broker.next_not_heartbeat();
    while (!again.empty() && again[0] == first[0]) again = broker.next_not_heartbeat();
    REQUIRE(again.size() == 5);
    CHECK(again[3] == "\x01");
    CHECK(again[0] != first[0]);
}

TEST_CASE("worker API: DISCONNECT from the broker makes it register again at once") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    Worker worker(ctx, WorkerConfig{broker.endpoint, "echo", 1000ms, 3, {5000ms, 5000ms, 0}});
    S first = broker.next();
    REQUIRE(first.size() == 5);
    broker.send(S{first[0], "", "MDPW01", "\x05"});
    CHECK(pump(
        worker, [&] { return worker.stats().connects == 2; }, 2s));
    S again = broker.next_not_heartbeat();
    REQUIRE(again.size() == 5);
    CHECK(again[0] != first[0]);
    CHECK(S(again.begin() + 1, again.end()) == S{"", "MDPW01", "\x01", "echo"});
}

TEST_CASE("worker API: an async client's correlation frame is hidden from the handler and echoed first") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    Worker worker(ctx, WorkerConfig{broker.endpoint, "upper", 1000ms, 3, {1000ms, 1000ms, 0}});
    S ready = broker.next();
    REQUIRE(ready.size() == 5);
    const std::string corr("\xFFPIRCID\x01\0\0\0\0\0\0\0\x2a", 16);  // marker + big-endian id 42
    broker.send(S{ready[0], "", "MDPW01", "\x02", "C", "", corr, "abc"});
    auto request = worker.recv(5s);
    REQUIRE(request);
    CHECK(strings(request->body) == S{"abc"});
    worker.reply(std::move(*request), make_frames({"ABC"}));
    CHECK(broker.next_not_heartbeat() == S{ready[0], "", "MDPW01", "\x03", "C", "", corr, "ABC"});
}

TEST_CASE("sync client: request, silence, reopen and resend, then the answer") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    std::vector<S> seen;
    std::thread fake([&] {
        S first = broker.next();  // ignored: the client must time out and resend
        S second = broker.next();
        seen = {first, second};
        if (second.size() < 5) return;
        broker.send(S{second[0], "", "MDPC01", "other", "for another service"});
        broker.send(S{second[0], "", "MDPC01", "svc", "answer"});
    });
    Client client(ctx, ClientConfig{broker.endpoint, 200ms, 3});
    auto r = client.request("svc", make_frames({"hello"}));
    fake.join();
    REQUIRE(seen.size() == 2);
    CHECK(S(seen[0].begin() + 1, seen[0].end()) == S{"", "MDPC01", "svc", "hello"});
    CHECK(S(seen[1].begin() + 1, seen[1].end()) == S{"", "MDPC01", "svc", "hello"});
    CHECK(seen[0][0] != seen[1][0]);  // a new socket for the resend
    REQUIRE(r.ok());
    CHECK(strings(r.reply) == S{"answer"});
    CHECK(client.stats().discarded == 1);
    CHECK(r.attempts == 2);
    CHECK(client.stats().retries == 1);
}

TEST_CASE("sync client: gives up after its attempts, as a value, a reply for another service is discarded") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    std::thread fake([&] {
        S first = broker.next();
        if (first.size() >= 4) broker.send(S{first[0], "", "MDPC01", "not-svc", "x"});
        broker.next();
    });
    Client client(ctx, ClientConfig{broker.endpoint, 100ms, 2});
    auto r = client.request("svc", make_frames({"hello"}));
    fake.join();
    CHECK(r.status == Status::gave_up);
    CHECK(r.attempts == 2);
    CHECK(client.stats().gave_up == 1);
    CHECK(client.stats().discarded == 1);
}

TEST_CASE("async client: replies in any order are matched to their requests, stale ones are dropped") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    AsyncClient client(ctx, AsyncClientConfig{broker.endpoint, 5000ms, 1});
    std::map<std::uint64_t, std::string> sent;
    for (int i = 0; i < 5; ++i)
        sent[client.send("svc", make_frames({"r" + std::to_string(i)}))] = "r" + std::to_string(i);
    std::vector<S> got;
    for (int i = 0; i < 5; ++i) got.push_back(broker.next());
    for (auto& m : got) {
        REQUIRE(m.size() == 6);
        CHECK(m[2] == "MDPC01");
        CHECK(m[3] == "svc");
        CHECK(m[4].size() == 16);
    }
    // Answer in reverse order, one of them twice.
    for (auto it = got.rbegin(); it != got.rend(); ++it)
        broker.send(S{(*it)[0], "", "MDPC01", "svc", (*it)[4], "reply to " + (*it)[5]});
    broker.send(S{got[0][0], "", "MDPC01", "svc", got[0][4], "duplicate"});
    broker.send(S{got[0][0], "", "MDPC01", "svc", "no correlation"});
    for (int i = 0; i < 5; ++i) {
        auto c = client.recv(5s);
        REQUIRE(c);
        REQUIRE(c->ok());
        CHECK(strings(c->reply) == S{"reply to " + sent.at(c->id)});
    }
    CHECK(pirates::test::eventually([&] {
        client.recv(1ms);
        return client.stats().discarded == 1 &&
               client.stats().malformed == 1;  // the duplicate, the uncorrelated
    }));
    CHECK(client.in_flight() == 0);
}

TEST_CASE("async client: a silent request is resent with the same id, then given up") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    AsyncClient client(ctx, AsyncClientConfig{broker.endpoint, 50ms, 2});
    auto id = client.send("svc", make_frames({"x"}));
    auto c = client.recv(5s);
    REQUIRE(c);
    CHECK(c->id == id);
    CHECK(c->status == Status::gave_up);
    CHECK(c->attempts == 2);
    S a = broker.next(), b = broker.next();
    REQUIRE(a.size() == 6);
    REQUIRE(b.size() == 6);
    CHECK(a[4] == b[4]);  // same correlation id on the resend
    CHECK(client.stats().retries == 1);
    CHECK(client.stats().gave_up == 1);
}

TEST_CASE("sync client: a malformed reply is counted and dropped, the wait goes on for the answer") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    std::thread fake([&] {
        S request = broker.next();
        if (request.size() < 5) return;
        broker.send(S{request[0], "", "MDPX99", "svc", "not MDP"});
        broker.send(S{request[0], "", "MDPC01"});  // no service frame
        broker.send(S{request[0], "", "MDPC01", "svc", "answer"});
    });
    Client client(ctx, ClientOptions{broker.endpoint, 5000ms, 3});
    auto r = client.request("svc", make_frames({"hello"}));
    fake.join();
    REQUIRE(r.ok());
    CHECK(strings(r.reply) == S{"answer"});
    CHECK(r.attempts == 1);
    CHECK(client.stats().malformed == 2);
    CHECK(client.stats().discarded == 0);
    CHECK(client.stats().replies == 1);
    CHECK(client.stats().retries == 0);
}

TEST_CASE("sync client: request_stop() from another thread ends the wait with `interrupted`, for good") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    Client client(ctx, ClientOptions{broker.endpoint, 10000ms, 3});
    std::thread stopper([&] {
        broker.next();  // the request is out: the client is waiting (or about to)
        client.request_stop();
    });
    const auto start = Clock::now();
    auto r = client.request("svc", make_frames({"hello"}));
    stopper.join();
    CHECK(r.status == Status::interrupted);
    CHECK(r.attempts == 1);
    CHECK(Clock::now() - start < 5s);  // not the 30 s of its attempts
    CHECK(client.stats().interrupted == 1);
    auto next = client.request("svc", make_frames({"again"}));
    CHECK(next.status == Status::interrupted);
    CHECK(next.attempts == 0);
    CHECK(broker.next(100ms).empty());  // a stopped client sends nothing
}

TEST_CASE("async client: request_stop() completes every request in flight as `interrupted`, once each") {
    zmq::context_t ctx;
    FakeBroker broker(ctx);
    AsyncClient client(ctx, AsyncClientOptions{broker.endpoint, 10000ms, 3});
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 3; ++i) ids.push_back(client.send("svc", make_frames({"r" + std::to_string(i)})));
    for (int i = 0; i < 3; ++i) REQUIRE(broker.next().size() == 6);
    std::thread stopper([&] { client.request_stop(); });
    std::vector<std::uint64_t> interrupted;
    const auto start = Clock::now();
    while (auto c = client.recv(10s)) {
        CHECK(c->status == Status::interrupted);
        CHECK(c->attempts == 1);
        CHECK(c->service == "svc");
        interrupted.push_back(c->id);
    }
    stopper.join();
    CHECK(Clock::now() - start < 5s);
    CHECK(interrupted == ids);  // in the order they were sent
    CHECK(client.in_flight() == 0);
    CHECK(client.stats().interrupted == 3);
    // After the stop nothing is sent: a new request completes at once.
    const auto late = client.send("svc", make_frames({"late"}));
    auto c = client.recv(0ms);
    REQUIRE(c);
    CHECK(c->id == late);
    CHECK(c->status == Status::interrupted);
    CHECK(c->attempts == 0);
    CHECK_FALSE(client.recv(0ms));
    CHECK(broker.next(100ms).empty());
}
