// Model 2 against a fast and a slow server: the fast reply wins, the slow one never leaks into a later
// answer.
#include <doctest/doctest.h>
#include <pirates/freelance/shotgun.hpp>

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
        REQUIRE_MESSAGE(reply, (reply ? "" : reply.error().reason));
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
    CHECK(Clock::now() - start >= 190ms);
    CHECK(lonely.stats().timeouts == 1);
}
