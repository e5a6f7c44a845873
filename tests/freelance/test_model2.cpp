// Model 2 against a fast and a slow server: the fast reply wins, the slow one never leaks into a later
// answer.
#include <doctest/doctest.h>
#include <pirates/freelance/shotgun.hpp>
#include <pirates/freelance/simple.hpp>

#include <thread>

#include "support/net.hpp"
#include "support/process.hpp"
#include "thread_server.hpp"

using namespace pirates;
using namespace pirates::freelance;
using namespace std::chrono_literals;
using pirates::test::eventually;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::strings;
using pirates::test::ThreadServer;

TEST_CASE("model 2: the fast reply wins - the slow server's replies are discarded, never returned later") {
    zmq::context_t context;
    Process fast("flserver", {"--model", "2", "--bind", "tcp://127.0.0.1:*"});
    std::string fast_ep = fast.bound_endpoint("server");
    REQUIRE(!fast_ep.empty());
    // The slow server answers `"" seq "SLOW"` 150 ms late: any "SLOW" in an answer is a leak.
    ThreadServer slow(
        context,
        [](Frames& m) -> std::vector<Frames> {
            if (m.size() < 3) return {};
            Frames reply;
            reply.add(m.pop());  // identity
            reply.add(m.pop());  // ""
            reply.add(m.pop());  // sequence
            reply.add(frame("SLOW"));
            std::vector<Frames> v;
            v.push_back(std::move(reply));
            return v;
        },
        150ms);
    ShotgunClient client(context, ShotgunOptions{3000ms});
    client.connect(fast_ep);
    client.connect(slow.endpoint());
    const int n = 10;
    for (int i = 0; i < n; ++i) {
        Reply reply = client.request(make_frames({"hello"}));
        REQUIRE_MESSAGE(reply, (reply ? "" : reply.reason));
        CHECK(strings(reply->body) == std::vector<std::string>{"OK"});
    }
    // Let every slow reply be sent, then keep asking: they are read and discarded as stale, never returned.
    REQUIRE(eventually([&] { return slow.sent() >= n; }, 10s));
    int more = 0;
    CHECK(eventually(
        [&] {
            Reply reply = client.request(make_frames({"hello"}));
            REQUIRE(reply);
            CHECK(strings(reply->body) == std::vector<std::string>{"OK"});
            ++more;
            return client.stats().stale >= 1;
        },
        10s));
    CHECK(client.stats().answers == static_cast<std::uint64_t>(n + more));
}

TEST_CASE(
    "model 2: the slow server alone still answers within the global timeout - nothing answers: failure "
    "value") {
    zmq::context_t context;
    ThreadServer slow(
        context,
        [](Frames& m) -> std::vector<Frames> {
            if (m.size() < 3) return {};
            Frames reply;
            for (int i = 0; i < 3; ++i) reply.add(m.pop());
            reply.add(frame("SLOW"));
            std::vector<Frames> v;
            v.push_back(std::move(reply));
            return v;
        },
        100ms);
    ShotgunClient client(context, ShotgunOptions{2000ms});
    client.connect(slow.endpoint());
    Reply reply = client.request(make_frames({"hello"}));
    REQUIRE(reply);
    CHECK(strings(reply->body) == std::vector<std::string>{"SLOW"});

    zmq::socket_t silent(context, zmq::socket_type::router);
    silent.set(zmq::sockopt::linger, 0);
    ShotgunClient lonely(context, ShotgunOptions{200ms});
    lonely.connect(test::bind_loopback(silent));
    auto start = Clock::now();
    Reply none = lonely.request(make_frames({"hello"}));
    REQUIRE_FALSE(none);
    CHECK(none.status == Status::timed_out);
    CHECK(Clock::now() - start >= 190ms);
    CHECK(lonely.stats().timeouts == 1);
}

TEST_CASE(
    "model 2 and model 1: request_stop() from another thread ends the request in flight as interrupted") {
    zmq::context_t context;
    zmq::socket_t silent(context, zmq::socket_type::router);  // accepts connections, never answers
    silent.set(zmq::sockopt::linger, 0);
    const std::string endpoint = test::bind_loopback(silent);

    ShotgunClient shotgun(context, ShotgunOptions{60s});
    shotgun.connect(endpoint);
    // The stop comes once the request has reached the server: it is in flight, not before it.
    std::thread stopper([&] {
        Frames got;
        CHECK(test::recv_within(silent, got, 10s));
        shotgun.request_stop();
    });
    auto start = Clock::now();
    Reply a = shotgun.request(make_frames({"hello"}));
    stopper.join();
    CHECK(a.status == Status::interrupted);
    CHECK(Clock::now() - start < 30s);  // long before the 60 s timeout
    CHECK(shotgun.stats().interrupted == 1);
    CHECK(shotgun.request(make_frames({"again"})).status == Status::interrupted);  // and every later one

    SimpleClient simple(context, {endpoint}, SimpleOptions{60s, 1});
    std::thread stopper1([&] {
        Frames got;
        CHECK(test::recv_within(silent, got, 10s));
        simple.request_stop();
    });
    start = Clock::now();
    Reply b = simple.request(make_frames({"hello"}));
    stopper1.join();
    CHECK(b.status == Status::interrupted);
    CHECK(b.attempts == 1);
    CHECK(Clock::now() - start < 30s);
}
