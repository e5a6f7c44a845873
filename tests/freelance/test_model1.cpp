// Model 1 against real servers: dead endpoints are skipped, all dead is a failure value after about N x
// timeout.
#include <doctest/doctest.h>
#include <pirates/freelance/simple.hpp>

#include "support/net.hpp"
#include "support/process.hpp"

using namespace pirates;
using namespace pirates::freelance;
using namespace std::chrono_literals;
using pirates::test::bind_loopback;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::strings;

namespace {

// An endpoint nothing listens on: a port the OS gave us, released again.
std::string closed_endpoint(zmq::context_t& context) {
    zmq::socket_t s(context, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    return bind_loopback(s);
}

}  // namespace

TEST_CASE("model 1: the first two endpoints are dead, the third answers: every request succeeds") {
    zmq::context_t context;
    zmq::socket_t silent(context, zmq::socket_type::router);  // accepts connections, never answers
    silent.set(zmq::sockopt::linger, 0);
    std::string silent_ep = bind_loopback(silent);
    Process server("flserver", {"--model", "1", "--bind", "tcp://127.0.0.1:*"});
    std::string live = server.bound_endpoint("server");
    REQUIRE(!live.empty());
    SimpleClient client(context, {closed_endpoint(context), silent_ep, live}, SimpleOptions{150ms, 1});
    for (int i = 0; i < 3; ++i) {
        Reply reply = client.request(make_frames({"hello", std::to_string(i)}));
        REQUIRE_MESSAGE(reply, (reply ? "" : reply.reason));
        CHECK(reply->server == live);
        CHECK(strings(reply->body) == std::vector<std::string>{"hello", std::to_string(i)});
    }
}

TEST_CASE("model 1: all endpoints dead: a failure value after about endpoints x timeout, no hang") {
    zmq::context_t context;
    zmq::socket_t silent(context, zmq::socket_type::router);
    silent.set(zmq::sockopt::linger, 0);
    std::string silent_ep = bind_loopback(silent);
    SimpleClient client(context, {closed_endpoint(context), silent_ep, closed_endpoint(context)},
                        SimpleOptions{200ms, 1});
    auto start = Clock::now();
    Reply reply = client.request(make_frames({"hello"}));
    auto took = Clock::now() - start;
    REQUIRE_FALSE(reply);
    CHECK(reply.reason.find("no reply from 3 server(s)") != std::string::npos);
    CHECK(took >= 3 * 200ms - 10ms);
    CHECK(took < 3 * 200ms + 2s);  // about endpoints x timeout (slack for a loaded machine): no hang
}

TEST_CASE("model 1: a single server is retried (3 attempts by default) before failing") {
    zmq::context_t context;
    zmq::socket_t silent(context, zmq::socket_type::router);
    silent.set(zmq::sockopt::linger, 0);
    std::string silent_ep = bind_loopback(silent);
    SimpleClient client(context, {silent_ep}, SimpleOptions{100ms, 0});
    Reply reply = client.request(make_frames({"hello"}));
    REQUIRE_FALSE(reply);
    // The silent ROUTER saw each attempt: [identity] "" "hello", three times.
    int seen = 0;
    Frames m;
    while (test::recv_within(silent, m, 1000ms)) {
        CHECK(strings(m).size() == 3);
        ++seen;
        m.clear();
        if (seen == 3) break;
    }
    CHECK(seen == 3);
}

TEST_CASE("model 1: a server that crashes mid-run (--crash-after) is passed over for the next one") {
    zmq::context_t context;
    Process crashing("flserver", {"--model", "1", "--bind", "tcp://127.0.0.1:*", "--crash-after", "2"});
    Process healthy("flserver", {"--model", "1", "--bind", "tcp://127.0.0.1:*"});
    std::string c = crashing.bound_endpoint("server"), h = healthy.bound_endpoint("server");
    REQUIRE(!c.empty());
    REQUIRE(!h.empty());
    SimpleClient client(context, {c, h}, SimpleOptions{500ms, 1});
    for (int i = 0; i < 5; ++i) {
        Reply reply = client.request(make_frames({"hello"}));
        REQUIRE_MESSAGE(reply, (reply ? "" : reply.reason));
        CHECK(reply->server == (i < 2 ? c : h));
    }
    CHECK(crashing.wait_exit(5s) == 3);  // crash_now()'s exit code
}
