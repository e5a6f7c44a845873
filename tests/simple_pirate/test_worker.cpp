// The Simple Pirate worker against a queue written in the test (a ROUTER), frames checked byte for byte.
#include <doctest/doctest.h>
#include <pirates/simple_pirate/echo_worker.hpp>
#include <pirates/simple_pirate/worker.hpp>

#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>
#include <thread>

using namespace pirates;
using namespace pirates::simple_pirate;
using namespace std::chrono_literals;
using S = std::vector<std::string>;

namespace {
const std::string READY("\x01", 1);

zmq::socket_t make_router(zmq::context_t& ctx) {
    zmq::socket_t s(ctx, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    return s;
}

// Receive on the test's ROUTER while the worker gets a chance to run (the worker is not threaded).
bool recv_while_worker_runs(zmq::socket_t& router, Worker& worker, Frames& out, Duration timeout = 5000ms) {
    return test::eventually(
        [&] {
            if (!worker.busy()) worker.receive(5ms);
            return out.recv(router, ZMQ_DONTWAIT);
        },
        timeout);
}
}  // namespace

TEST_CASE("split_request and join_reply keep the envelope apart from the body") {
    auto r = split_request(test::make_frames({"client", "", "a", "b"}));
    REQUIRE(r.ok());
    CHECK(test::strings(r->envelope) == S{"client", ""});
    CHECK(test::strings(r->body) == S{"a", "b"});
    CHECK(test::strings(join_reply(std::move(r->envelope), test::make_frames({"z"}))) ==
          S{"client", "", "z"});

    CHECK_FALSE(split_request(test::make_frames({"client", "body"})).ok());  // no delimiter
    CHECK_FALSE(split_request(test::make_frames({"client", ""})).ok());      // no body
    CHECK_FALSE(split_request(test::make_frames({"", "body"})).ok());        // no address
    CHECK_FALSE(split_request(Frames{}).ok());
}

TEST_CASE("worker: READY on connect, then request and reply with the client's envelope") {
    zmq::context_t ctx;
    auto queue = make_router(ctx);
    auto ep = test::bind_loopback(queue);
    Worker worker(ctx, ep);

    Frames m;
    REQUIRE(test::recv_within(queue, m));
    auto ready = test::strings(m);
    REQUIRE(ready.size() == 3);
    CHECK(ready[1] == "");
    CHECK(ready[2] == READY);  // exactly one byte, 0x01
    const std::string id = ready[0];

    Frames request = test::make_frames({id, "", "client-7", "", "hello", "world"});
    request.send(queue);
    std::optional<Frames> body;
    REQUIRE(test::eventually([&] { return (body = worker.receive(10ms)).has_value(); }));
    CHECK(test::strings(*body) == S{"hello", "world"});
    CHECK(worker.busy());
    worker.reply(test::make_frames({"HELLO"}));
    REQUIRE(test::recv_within(queue, m));
    CHECK(test::strings(m) == S{id, "", "client-7", "", "HELLO"});
    CHECK(worker.stats().requests == 1);
    CHECK(worker.stats().replies == 1);
}

TEST_CASE("worker: drop() and an invalid request both reopen the socket and send READY again") {
    zmq::context_t ctx;
    auto queue = make_router(ctx);
    auto ep = test::bind_loopback(queue);
    Worker worker(ctx, ep);
    Frames m;
    REQUIRE(test::recv_within(queue, m));
    std::string id = test::strings(m)[0];

    test::make_frames({id, "", "c", "", "please drop me"}).send(queue);
    REQUIRE(test::eventually([&] { return worker.receive(10ms).has_value(); }));
    worker.drop();
    REQUIRE(test::recv_within(queue, m));
    auto again = test::strings(m);
    CHECK(again == S{again[0], "", READY});
    CHECK(again[0] != id);  // a new socket, a new identity
    id = again[0];

    test::make_frames({id, "", "no-delimiter-here"}).send(queue);
    REQUIRE(recv_while_worker_runs(queue, worker, m));
    auto after_invalid = test::strings(m);
    CHECK(after_invalid == S{after_invalid[0], "", READY});
    CHECK(after_invalid[0] != id);
    CHECK(worker.stats().malformed == 1);
    CHECK(worker.stats().dropped == 1);
    CHECK(worker.stats().reconnects == 2);
}

TEST_CASE("worker: when the queue restarts on the same endpoint the worker registers with the new one") {
    zmq::context_t ctx;
    auto queue = std::make_unique<zmq::socket_t>(make_router(ctx));
    const std::string ep = test::bind_loopback(*queue);
    Worker worker(ctx, ep);
    Frames m;
    REQUIRE(test::recv_within(*queue, m));
    CHECK(test::strings(m)[2] == READY);

    queue.reset();  // the queue dies
    queue = std::make_unique<zmq::socket_t>(make_router(ctx));
    // And comes back on the same endpoint, once libzmq's I/O thread has released the port (closing is
    // asynchronous).
    REQUIRE(test::eventually([&] {
        try {
            queue->bind(ep);
            return true;
        } catch (const zmq::error_t&) {
            return false;
        }
    }));
    REQUIRE(recv_while_worker_runs(*queue, worker, m, 10000ms));
    auto ready = test::strings(m);
    CHECK(ready == S{ready[0], "", READY});
    CHECK(worker.stats().disconnects >= 1);

    // And it serves requests from the new queue.
    test::make_frames({ready[0], "", "c", "", "ping"}).send(*queue);
    std::optional<Frames> body;
    REQUIRE(test::eventually([&] { return (body = worker.receive(10ms)).has_value(); }));
    worker.reply(std::move(*body));
    REQUIRE(test::recv_within(*queue, m));
    CHECK(test::strings(m) == S{ready[0], "", "c", "", "ping"});
}

TEST_CASE("worker: request_stop() from another thread ends a long receive() within a poll slice") {
    zmq::context_t ctx;
    auto queue = make_router(ctx);
    auto ep = test::bind_loopback(queue);
    Worker worker(ctx, ep);
    std::thread waiter([&] {
        while (!worker.stopped()) CHECK_FALSE(worker.receive(60000ms).has_value());
    });
    const auto asked = Clock::now();
    worker.request_stop();
    waiter.join();
    CHECK(Clock::now() - asked < 2000ms);  // one 100 ms slice, with slack for a loaded machine
    CHECK(worker.stopped());
}

TEST_CASE("EchoWorker in-process: echoes, and run() returns its stats on request_stop()") {
    zmq::context_t ctx;
    auto queue = make_router(ctx);
    EchoWorkerOptions options;
    options.connect = test::bind_loopback(queue);
    EchoWorker echo(ctx, options);
    WorkerStats result;
    std::thread serving([&] { result = echo.run(); });
    Frames m;
    REQUIRE(test::recv_within(queue, m));
    const std::string id = test::strings(m)[0];
    test::make_frames({id, "", "c", "", "echo me"}).send(queue);
    REQUIRE(test::recv_within(queue, m));
    CHECK(test::strings(m) == S{id, "", "c", "", "echo me"});
    echo.request_stop();
    serving.join();
    CHECK(result.requests == 1);
    CHECK(result.replies == 1);
}

TEST_CASE("spworker --hang-after: silent after N requests, and still stops cleanly on SIGTERM") {
    zmq::context_t ctx;
    auto queue = make_router(ctx);
    auto ep = test::bind_loopback(queue);
    test::Process worker("spworker", {"--connect", ep, "--hang-after", "1"});
    Frames m;
    REQUIRE(test::recv_within(queue, m, 10000ms));
    const std::string id = test::strings(m)[0];
    test::make_frames({id, "", "c", "", "one"}).send(queue);
    REQUIRE(test::recv_within(queue, m));
    CHECK(test::strings(m) == S{id, "", "c", "", "one"});
    test::make_frames({id, "", "c", "", "two"}).send(queue);
    REQUIRE(worker.wait_for("simulating a hang"));
    CHECK_FALSE(test::recv_within(queue, m, 200ms));  // no answer
    worker.signal(SIGTERM);
    CHECK(worker.wait_exit() == 0);
}
