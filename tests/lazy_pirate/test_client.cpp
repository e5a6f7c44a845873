// Integration tests of the Lazy Pirate client over loopback, against servers written here.
#include <doctest/doctest.h>
#include <pirates/common/signals.hpp>
#include <pirates/lazy_pirate/client.hpp>

#include "support/net.hpp"

#include <atomic>
#include <functional>
#include <optional>
#include <thread>

using namespace pirates;
using namespace pirates::lazy_pirate;
using namespace std::chrono_literals;

namespace {

// A server written for the test: a ROUTER (REP on the wire) in its own thread. `decide(n, request)` says what
// to do with the n-th request (from 1): answer with the returned frames, or drop it (nullopt).
class TestServer {
  public:
    using Decide =
        std::function<std::optional<std::vector<std::string>>(int, const std::vector<std::string>&)>;

    TestServer(zmq::context_t& ctx, Decide decide) : socket_(ctx, zmq::socket_type::router) {
        socket_.set(zmq::sockopt::linger, 0);
        endpoint = test::bind_loopback(socket_);
        thread_ = std::thread([this, decide = std::move(decide)] { serve(decide); });
    }
    ~TestServer() {
        stop_ = true;
        thread_.join();
    }
    int requests() const { return requests_; }

    std::string endpoint;

  private:
    void serve(const Decide& decide) {
        while (!stop_) {
            Frames m;
            if (!test::recv_within(socket_, m, 10ms)) continue;
            // [identity] "" body...: keep the envelope, hand the body to decide().
            Frame id = m.pop();
            Frame delimiter = m.pop();
            auto answer = decide(++requests_, test::strings(m));
            if (!answer) continue;
            Frames reply;
            reply.add(std::move(id));
            reply.add(std::move(delimiter));
            for (auto& part : *answer) reply.add(frame(part));
            reply.send(socket_);
        }
    }

    zmq::socket_t socket_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::atomic<int> requests_{0};
};

// An endpoint nobody listens on: bind to an OS-chosen port, then let it go.
std::string dead_endpoint(zmq::context_t& ctx) {
    zmq::socket_t s(ctx, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    std::string ep = test::bind_loopback(s);
    s.unbind(ep);
    return ep;
}

ClientOptions echo_options() {
    ClientOptions o;
    o.check = echo_check();
    return o;
}

}  // namespace

TEST_CASE("client: a server that drops requests is retried and every request completes") {
    zmq::context_t ctx;
    // Drop every other request the server sees: each request is answered on its second attempt at most.
    TestServer server(ctx, [](int n, const auto& req) -> std::optional<std::vector<std::string>> {
        if (n % 2 == 1) return std::nullopt;
        return req;
    });
    Client client(ctx, server.endpoint, {100ms, 3}, echo_options());
    for (int i = 1; i <= 5; ++i) {
        auto outcome = client.request(std::to_string(i));
        REQUIRE(outcome.ok());
        CHECK(outcome.attempts == 2);  // one retry each
        CHECK(test::strings(outcome.reply) == std::vector<std::string>{std::to_string(i)});
    }
    CHECK(client.stats().requests == 5);
    CHECK(client.stats().replies == 5);
    CHECK(client.stats().retries == 5);
    CHECK(client.stats().gave_up == 0);
    CHECK(server.requests() == 10);
}

TEST_CASE("client: against nothing it gives up after about attempts x timeout, and does not hang") {
    zmq::context_t ctx;
    Client client(ctx, dead_endpoint(ctx), {100ms, 3});
    const auto start = Clock::now();
    auto outcome = client.request("anyone?");
    const auto elapsed = Clock::now() - start;
    CHECK(outcome.status == Status::gave_up);
    CHECK_FALSE(outcome);
    CHECK(outcome.attempts == 3);
    CHECK(elapsed >= 300ms);  // it did wait out every attempt
    CHECK(elapsed < 5s);      // and stopped (generous: CI is loaded)
    CHECK(client.stats().gave_up == 1);
    CHECK(client.stats().retries == 2);

    // The client is still usable: the next request starts on a fresh socket with fresh attempts.
    auto again = client.request("still nobody?");
    CHECK(again.status == Status::gave_up);
    CHECK(again.attempts == 3);
}

TEST_CASE("client: a wrong reply is discarded, counted, and the request sent again") {
    zmq::context_t ctx;
    TestServer server(ctx, [](int n, const auto& req) -> std::optional<std::vector<std::string>> {
        if (n == 1) return std::vector<std::string>{"not-the-answer"};
        return req;
    });
    Client client(ctx, server.endpoint, {1000ms, 3}, echo_options());
    auto outcome = client.request("42");
    REQUIRE(outcome.ok());
    CHECK(test::strings(outcome.reply) == std::vector<std::string>{"42"});
    CHECK(outcome.attempts == 2);
    CHECK(client.stats().discarded == 1);  // a fresh client: this request's one discarded reply
}

TEST_CASE("client: a late reply to an abandoned attempt never reaches a later request") {
    zmq::context_t ctx;
    // A server that sits on the first attempt of "A" and answers it only when the next request "B" arrives,
    // just before answering "B": the late reply is sent after the client gave up on that attempt, while a
    // later request is waiting. Every other request is answered at once (REP on the wire: envelope echoed).
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    const std::string endpoint = test::bind_loopback(router);
    std::atomic<bool> stop{false};
    std::atomic<int> late_sent{0};
    std::thread serve([&] {
        std::optional<Frames> held;
        int n = 0;
        while (!stop) {
            Frames m;
            if (!test::recv_within(router, m, 10ms)) continue;
            if (++n == 1) {
                held = std::move(m);
                continue;
            }
            if (held && m.back().to_string() == "B") {
                held->send(router);  // "A", far too late
                held.reset();
                ++late_sent;
            }
            m.send(router);
        }
    });
    Client client(ctx, endpoint, {100ms, 5});  // no check: the socket alone must keep replies apart
    auto a = client.request("A");
    REQUIRE(a.ok());
    CHECK(test::strings(a.reply) == std::vector<std::string>{"A"});
    CHECK(a.attempts >= 2);
    auto b = client.request("B");
    REQUIRE(b.ok());
    CHECK(test::strings(b.reply) == std::vector<std::string>{"B"});
    CHECK(late_sent == 1);
    stop = true;
    serve.join();
}

TEST_CASE("client: multi-frame requests travel whole") {
    zmq::context_t ctx;
    TestServer server(ctx,
                      [](int, const auto& req) -> std::optional<std::vector<std::string>> { return req; });
    Client client(ctx, server.endpoint, {1000ms, 3}, echo_options());
    auto outcome = client.request(test::make_frames({"one", "", "three"}));
    REQUIRE(outcome.ok());
    CHECK(test::strings(outcome.reply) == std::vector<std::string>{"one", "", "three"});
}

TEST_CASE("client: request_stop() from another thread ends the wait with `interrupted`") {
    zmq::context_t ctx;
    Client client(ctx, dead_endpoint(ctx), {10000ms, 3});
    // Whether the stop comes before the client starts waiting or while it waits, the outcome is the same.
    std::thread stopper([&] { client.request_stop(); });
    const auto start = Clock::now();
    auto outcome = client.request("x");
    stopper.join();
    CHECK(outcome.status == Status::interrupted);
    CHECK_FALSE(outcome);
    CHECK(Clock::now() - start < 5s);  // not the 30 s of its attempts (generous: CI is loaded)
    CHECK(client.stats().interrupted == 1);
    // Stopped for good: the next request returns at once, sending nothing.
    auto next = client.request("y");
    CHECK(next.status == Status::interrupted);
    CHECK(next.attempts == 0);
    CHECK(client.stats().interrupted == 2);
}

TEST_CASE("client: the stop is the client's own - another client and the process flag are untouched") {
    zmq::context_t ctx;
    TestServer server(ctx,
                      [](int, const auto& req) -> std::optional<std::vector<std::string>> { return req; });
    Client stopped(ctx, server.endpoint, {1000ms, 3}, echo_options());
    Client running(ctx, server.endpoint, {1000ms, 3}, echo_options());
    stopped.request_stop();
    CHECK(stopped.request("a").status == Status::interrupted);
    auto outcome = running.request("b");
    REQUIRE(outcome.ok());
    CHECK(test::strings(outcome.reply) == std::vector<std::string>{"b"});
    CHECK_FALSE(pirates::stop_requested());
    CHECK(server.requests() == 1);  // the stopped client sent nothing
}
