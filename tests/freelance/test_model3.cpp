// Model 3 against three flserver processes: kill -9 while requests flow, restart on the same endpoint, all
// dead.
#include <doctest/doctest.h>
#include <pirates/freelance/router.hpp>

#include "support/net.hpp"
#include "support/process.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <thread>

using namespace pirates;
using namespace pirates::freelance;
using namespace std::chrono_literals;
using pirates::test::eventually;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::strings;

namespace {

RouterOptions fast_options() {
    RouterOptions o;
    o.ping_interval = 50ms;
    o.server_ttl = 300ms;
    o.attempt_timeout = 200ms;
    o.request_timeout = 2000ms;
    o.unroutable_retry = 10ms;
    o.reconnect_after = 300ms;
    return o;
}

std::unique_ptr<Process> start_server(const std::string& bind) {
    return std::make_unique<Process>("flserver", std::vector<std::string>{"--model", "3", "--bind", bind});
}

// Three model-3 servers on OS-picked ports, each connected to `client`; their endpoints in `eps`.
void start_three(RouterClient& client, std::vector<std::unique_ptr<Process>>& servers,
                 std::vector<std::string>& eps) {
    for (int i = 0; i < 3; ++i) {
        servers.push_back(start_server("tcp://127.0.0.1:*"));
        eps.push_back(servers.back()->bound_endpoint("server"));
        REQUIRE(!eps.back().empty());
        REQUIRE(client.connect(eps.back()));
    }
}

}  // namespace

TEST_CASE(
    "model 3: one of three servers killed with kill -9 while requests flow: every request succeeds - "
    "restarted on the same endpoint, it is used again") {
    zmq::context_t context;
    RouterClient client(context, fast_options());
    std::vector<std::unique_ptr<Process>> servers;
    std::vector<std::string> eps;
    start_three(client, servers, eps);
    CHECK_FALSE(client.connect(eps[0]));  // duplicate

    // Requests flow until round robin has used all three (each answered a ping by then).
    std::map<std::string, int> used;
    REQUIRE(eventually(
        [&] {
            Reply reply = client.request(make_frames({"hello"}));
            REQUIRE(reply);
            ++used[reply->server];
            return used.size() == 3;
        },
        10s));
    used.clear();
    servers[1]->kill9();
    for (int i = 0; i < 60; ++i) {
        Reply reply = client.request(make_frames({"hello"}));
        REQUIRE_MESSAGE(reply, "request " << i << " after the kill: " << (reply ? "" : reply.reason));
        CHECK(strings(reply->body) == std::vector<std::string>{"OK"});
        ++used[reply->server];
    }
    CHECK(used[eps[1]] == 0);  // dead: it never answers
    CHECK(used[eps[0]] + used[eps[2]] == 60);

    // Restart it on the endpoint it announced: it is used again once it answers pings.
    REQUIRE(servers[1]->wait_exit(5s));
    servers[1] = start_server(eps[1]);
    REQUIRE(servers[1]->bound_endpoint("server") == eps[1]);
    bool used_again = eventually(
        [&] {
            Reply reply = client.request(make_frames({"hello"}));
            REQUIRE(reply);
            return reply->server == eps[1];
        },
        10s);
    CHECK(used_again);
    auto c = client.stats();
    CHECK(c.failures == 0);
    CHECK(c.pongs > 0);
}

TEST_CASE("model 3: kill -9 in the middle of a stream of requests from another thread: none of them fails") {
    zmq::context_t context;
    RouterClient client(context, fast_options());
    std::vector<std::unique_ptr<Process>> servers;
    std::vector<std::string> eps;
    start_three(client, servers, eps);
    REQUIRE(eventually([&] { return client.request(make_frames({"warm"})).ok(); }, 10s));

    // The requests flow on their own thread; the kill lands whenever it lands, possibly on a request in
    // flight at the victim (then the client fails over to another server on silence).
    constexpr int total = 150;
    std::atomic<int> done{0}, failed{0};
    std::thread flow([&] {
        for (int i = 0; i < total; ++i) {
            Reply reply = client.request(make_frames({"hello"}));
            if (!reply || strings(reply->body) != std::vector<std::string>{"OK"}) ++failed;
            ++done;
        }
    });
    REQUIRE(eventually([&] { return done.load() >= 30; }, 20s));
    servers[1]->kill9();
    flow.join();
    CHECK(done.load() == total);
    CHECK(failed.load() == 0);
    CHECK(client.stats().failures == 0);
}

TEST_CASE("model 3: every server killed: each request fails after the global timeout, as a value") {
    zmq::context_t context;
    std::vector<std::unique_ptr<Process>> servers;
    RouterOptions o = fast_options();
    o.request_timeout = 500ms;
    RouterClient client(context, o);
    std::vector<std::string> eps;
    start_three(client, servers, eps);
    REQUIRE(client.request(make_frames({"hello"})));
    for (auto& s : servers) s->kill9();
    for (auto& s : servers) REQUIRE(s->wait_exit(5s));
    for (int i = 0; i < 3; ++i) {
        auto start = Clock::now();
        Reply reply = client.request(make_frames({"hello"}));
        auto took = Clock::now() - start;
        REQUIRE_FALSE(reply);
        CHECK(reply.reason.find("no reply within 500 ms") != std::string::npos);
        CHECK(reply.status == Status::timed_out);
        CHECK(took >= 490ms);
        CHECK(took < 500ms + 2s);  // the global timeout, with slack for a loaded machine
    }
    CHECK(client.stats().failures == 3);
}

TEST_CASE("model 3: a server connected at run time is used as soon as it answers a ping") {
    zmq::context_t context;
    auto first = start_server("tcp://127.0.0.1:*");
    std::string a = first->bound_endpoint("server");
    REQUIRE(!a.empty());
    RouterClient client(context, fast_options());
    REQUIRE(client.connect(a));
    REQUIRE(client.request(make_frames({"hello"})));
    // A second server starts while the client runs; the client learns of it only now.
    auto second = start_server("tcp://127.0.0.1:*");
    std::string b = second->bound_endpoint("server");
    REQUIRE(!b.empty());
    REQUIRE(client.connect(b));
    first->kill9();  // from now on only the new one can answer
    for (int i = 0; i < 5; ++i) {
        Reply reply = client.request(make_frames({"hello"}));
        auto c = client.stats();
        REQUIRE_MESSAGE(reply, (reply ? "" : reply.reason) << " pings " << c.pings << " pongs " << c.pongs
                                                           << " unroutable " << c.unroutable);
        CHECK(reply->server == b);
    }
}

TEST_CASE(
    "model 3: a server that hangs (alive, silent, no PONG either) is failed over and every request "
    "succeeds") {
    zmq::context_t context;
    Process hanging("flserver", {"--model", "3", "--bind", "tcp://127.0.0.1:*", "--hang-after", "2"});
    Process healthy("flserver", {"--model", "3", "--bind", "tcp://127.0.0.1:*"});
    std::string h = hanging.bound_endpoint("server"), ok = healthy.bound_endpoint("server");
    REQUIRE(!h.empty());
    REQUIRE(!ok.empty());
    RouterClient client(context, fast_options());
    REQUIRE(client.connect(h));
    REQUIRE(client.connect(ok));
    // Requests flow until the soon-hanging server has answered its two; every request succeeds all along.
    int from_hanging = 0;
    REQUIRE(eventually(
        [&] {
            Reply reply = client.request(make_frames({"hello"}));
            REQUIRE_MESSAGE(reply, (reply ? "" : reply.reason));
            if (reply->server == h) ++from_hanging;
            return from_hanging == 2;
        },
        10s));
    for (int i = 0; i < 20; ++i) {
        Reply reply = client.request(make_frames({"hello"}));
        REQUIRE_MESSAGE(reply, "request " << i << ": " << (reply ? "" : reply.reason));
        CHECK(reply->server == ok);
    }
    CHECK(hanging.running());
    CHECK(client.stats().failovers >= 1);
}
