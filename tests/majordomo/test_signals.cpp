// mdbroker as a service (issue 13): a graceful stop on SIGTERM (--drain-ms), SIGUSR1's summary, SIGHUP
// ignored, and the sd_notify readiness notices.
#include "majordomo/raw_peer.hpp"
#include "support/notify_listener.hpp"

#include <doctest/doctest.h>

#include <csignal>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::md;

namespace {

struct Broker {
    Process process;
    std::string endpoint;
    explicit Broker(std::vector<std::string> extra, std::vector<std::string> env = {})
        : process("mdbroker", with_bind(std::move(extra)), std::move(env)),
          endpoint(process.bound_endpoint("broker")) {}
    static std::vector<std::string> with_bind(std::vector<std::string> extra) {
        extra.insert(extra.begin(), {"--bind", "tcp://127.0.0.1:*"});
        return extra;
    }
};

// Sends SIGUSR1 until a summary line printed after the call has `name` satisfying pred.
template <typename Pred>
bool summary_on_usr1(Process& broker, const std::string& name, Pred pred) {
    const std::size_t from = broker.output().size();
    return eventually(
        [&] {
            broker.signal(SIGUSR1);
            auto v = summary_value(broker, name, from);
            return v && pred(*v);
        },
        Duration{5000});
}

// A raw worker of "echo", registered (mmi.service says 200), with a request from `client` in its hands.
// Returns the request as the worker got it.
S hand_request(zmq::socket_t& worker, zmq::socket_t& client, const std::string& body) {
    REQUIRE(eventually([&] { return mmi_service(client, "echo") == "200"; }));
    send(client, {"", "MDPC01", "echo", body});
    S request = next_not_heartbeat(worker);
    REQUIRE(request.size() == 6);
    CHECK(request[2] == "\x02");
    CHECK(request[5] == body);
    return request;
}

}  // namespace

TEST_CASE(
    "mdbroker SIGTERM drains: a reply in a worker's hands still reaches its client, new requests are "
    "dropped, then DISCONNECT and exit 0") {
    Broker broker({"--drain-ms", "10000", "--heartbeat-ms", "100"});
    REQUIRE(!broker.endpoint.empty());
    zmq::context_t ctx;
    auto worker = raw_worker(ctx, broker.endpoint, "echo");
    auto client = dealer(ctx, broker.endpoint);
    auto late = dealer(ctx, broker.endpoint);
    const S request = hand_request(worker, client, "held");

    broker.process.signal(SIGTERM);
    REQUIRE(broker.process.wait_for("draining: 1 requests in workers' hands"));
    // A new request during the drain is dropped unanswered: the broker's SIGUSR1 summary counts it.
    send(late, {"", "MDPC01", "echo", "too late"});
    CHECK(summary_on_usr1(broker.process, "refused-draining", [](auto n) { return n == 1; }));
    CHECK(broker.process.running());

    // The worker answers: the client gets it, and the broker, with nothing left in hand, stops.
    send(worker, {"", "MDPW01", "\x03", request[3], "", "held"});
    CHECK(next(client) == S{"", "MDPC01", "echo", "held"});
    CHECK(broker.process.wait_exit() == 0);
    CHECK(next_not_heartbeat(worker) == S{"", "MDPW01", "\x05"});
    CHECK(broker.process.wait_for("drained: 1 replies forwarded"));
    CHECK(broker.process.wait_for("broker stopping"));
    Frames none;
    CHECK(!none.recv(late, ZMQ_DONTWAIT));  // the broker is gone: nothing can come any more
}

TEST_CASE("mdbroker --drain-ms 0 stops at once on SIGTERM, even with a request in a worker's hands") {
    Broker broker({"--drain-ms", "0", "--heartbeat-ms", "100"});
    REQUIRE(!broker.endpoint.empty());
    zmq::context_t ctx;
    auto worker = raw_worker(ctx, broker.endpoint, "echo");
    auto client = dealer(ctx, broker.endpoint);
    hand_request(worker, client, "held");
    broker.process.signal(SIGTERM);
    CHECK(broker.process.wait_exit() == 0);
    CHECK(next_not_heartbeat(worker) == S{"", "MDPW01", "\x05"});
    CHECK(broker.process.output().find("draining:") == std::string::npos);
}

TEST_CASE("mdbroker drain ends after --drain-ms when the worker never answers") {
    Broker broker({"--drain-ms", "200", "--heartbeat-ms", "100"});
    REQUIRE(!broker.endpoint.empty());
    zmq::context_t ctx;
    auto worker = raw_worker(ctx, broker.endpoint, "echo");
    auto client = dealer(ctx, broker.endpoint);
    hand_request(worker, client, "never answered");
    broker.process.signal(SIGTERM);
    CHECK(broker.process.wait_exit() == 0);
    CHECK(broker.process.wait_for("drain ended with 1 requests still in workers' hands"));
    CHECK(next_not_heartbeat(worker) == S{"", "MDPW01", "\x05"});
}

TEST_CASE("mdbroker SIGUSR1 logs the summary and SIGHUP is ignored: the broker keeps serving") {
    Broker broker({});
    REQUIRE(!broker.endpoint.empty());
    zmq::context_t ctx;
    auto client = dealer(ctx, broker.endpoint);
    broker.process.signal(SIGHUP);
    CHECK(broker.process.wait_for("SIGHUP ignored"));
    CHECK(mmi_service(client, "echo") == "404");
    CHECK(summary_on_usr1(broker.process, "requests", [](auto n) { return n == 1; }));
    CHECK(mmi_service(client, "echo") == "404");
    CHECK(broker.process.running());
    CHECK(stops_cleanly(broker.process));
}

TEST_CASE("mdbroker sends READY=1 once bound and STOPPING=1 on SIGTERM (NOTIFY_SOCKET)") {
    NotifyListener notify;
    Broker broker({}, {notify.env()});
    REQUIRE(!broker.endpoint.empty());
    CHECK(notify.wait_for("READY=1"));
    broker.process.signal(SIGTERM);
    CHECK(notify.wait_for("STOPPING=1"));
    CHECK(broker.process.wait_exit() == 0);
}
