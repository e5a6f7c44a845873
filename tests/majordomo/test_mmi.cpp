// MMI beyond mmi.service (docs/protocols.md): mmi.services, mmi.workers, mmi.stats, in the broker core (frames
// written by hand, 0.1 and 0.2 clients), through mdbroker with a raw DEALER and both client APIs, and mdadmin.
#include <doctest/doctest.h>
#include <pirates/common/json.hpp>
#include <pirates/common/outbox.hpp>
#include <pirates/majordomo/async_client.hpp>
#include <pirates/majordomo/broker_core.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/version.hpp>

#include "raw_peer.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>
#include <map>

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;
using pirates::test::eventually;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::strings;
using S = std::vector<std::string>;

namespace {

struct Core {
    ManualClock clock;
    BrokerCore core;
    Core() : core(options()) {}
    static BrokerCoreOptions options() {
        BrokerCoreOptions o;
        o.heartbeat = Duration{100};
        return o;
    }
    std::vector<S> send(std::initializer_list<std::string_view> parts) {
        OutboxVector out;
        core.on_message(make_frames(parts), clock.now(), out);
        std::vector<S> v;
        for (const auto& m : out.take_messages()) v.push_back(strings(m));
        return v;
    }
};

double number(const JsonValue& v, std::string_view key) {
    const JsonValue* m = v.find(key);
    REQUIRE(m);
    REQUIRE(m->number());
    return *m->number();
}

const JsonValue* service_in(const JsonValue& stats, std::string_view name) {
    const JsonValue* services = stats.find("services");
    if (!services || !services->array()) return nullptr;
    for (const auto& s : *services->array())
        if (const JsonValue* n = s.find("name"); n && n->string() && *n->string() == name) return &s;
    return nullptr;
}

}  // namespace

TEST_CASE("core: mmi.services, mmi.workers, mmi.stats by raw frames, 404 and 501, a queued-only service") {
    Core f;
    // Two workers of "echo", one of "rev"; a request for "orphan", which nobody serves: queued.
    CHECK(f.send({"W1", "", "MDPW01", "\x01", "echo"}).empty());
    CHECK(f.send({"W2", "", "MDPW01", "\x01", "echo"}).empty());
    CHECK(f.send({"W3", "", "MDPW01", "\x01", "rev"}).empty());
    CHECK(f.send({"C", "", "MDPC01", "orphan", "hello"}).empty());

    CHECK(f.send({"C", "", "MDPC01", "mmi.services", ""}) ==
          std::vector<S>{{"C", "", "MDPC01", "mmi.services", "200", "echo", "orphan", "rev"}});
    // A request without a body frame is malformed (7/MDP: a request carries a body), MMI or not.
    CHECK(f.send({"C", "", "MDPC01", "mmi.services"}).empty());
    CHECK(f.core.stats().malformed == 1);
    CHECK(f.send({"C", "", "MDPC01", "mmi.workers", "echo"}) ==
          std::vector<S>{{"C", "", "MDPC01", "mmi.workers", "200", "2"}});
    CHECK(f.send({"C", "", "MDPC01", "mmi.workers", "orphan"}) ==
          std::vector<S>{{"C", "", "MDPC01", "mmi.workers", "200", "0"}});
    CHECK(f.send({"C", "", "MDPC01", "mmi.workers", "nosuch"}) ==
          std::vector<S>{{"C", "", "MDPC01", "mmi.workers", "404"}});
    // mmi.service keeps its meaning: a queued-only service has no worker.
    CHECK(f.send({"C", "", "MDPC01", "mmi.service", "orphan"}) ==
          std::vector<S>{{"C", "", "MDPC01", "mmi.service", "404"}});
    CHECK(f.send({"C", "", "MDPC01", "mmi.nope", "x"}) ==
          std::vector<S>{{"C", "", "MDPC01", "mmi.nope", "501"}});
    // Frames before the argument travel back untouched.
    CHECK(f.send({"C", "", "MDPC01", "mmi.workers", "tag", "rev"}) ==
          std::vector<S>{{"C", "", "MDPC01", "mmi.workers", "tag", "200", "1"}});
    // No lookup created a service.
    CHECK(f.core.service_count() == 3);
    CHECK_FALSE(f.core.service("nosuch"));

    auto stats = f.send({"C", "", "MDPC01", "mmi.stats", ""});
    REQUIRE(stats.size() == 1);
    REQUIRE(stats[0].size() == 6);
    CHECK(S(stats[0].begin(), stats[0].begin() + 5) == S{"C", "", "MDPC01", "mmi.stats", "200"});
    auto json = parse_json(stats[0][5]);
    REQUIRE(json);
    CHECK(*json->find("version")->string() == PIRATES_VERSION_STRING);
    CHECK(number(*json, "workers") == 3);
    CHECK(number(*json, "idle") == 3);
    CHECK(number(*json, "queued") == 1);
    CHECK(number(*json, "requests") ==
          9);  // "orphan", seven MMI requests before, this one (not the malformed)
    CHECK(number(*json, "replies") == 0);
    const JsonValue* orphan = service_in(*json, "orphan");
    REQUIRE(orphan);
    CHECK(number(*orphan, "workers") == 0);
    CHECK(number(*orphan, "queued") == 1);
    CHECK(number(*orphan, "requests") == 1);
    const JsonValue* echo = service_in(*json, "echo");
    REQUIRE(echo);
    CHECK(number(*echo, "workers") == 2);
    CHECK(number(*echo, "idle") == 2);
    CHECK(f.core.check_invariants() == "");
}

TEST_CASE("core: per-service counters and the request-duration histogram follow the traffic") {
    Core f;
    f.send({"W1", "", "MDPW01", "\x01", "echo"});
    // Three requests, each answered 30 ms after it arrived; the third waited in the queue first.
    for (int i = 0; i < 2; ++i) {
        auto sent = f.send({"C", "", "MDPC01", "echo", "x"});
        REQUIRE(sent.size() == 1);
        f.clock.advance(30ms);
        CHECK(f.send({"W1", "", "MDPW01", "\x03", "C", "", "x"}) ==
              std::vector<S>{{"C", "", "MDPC01", "echo", "x"}});
    }
    f.send({"C", "", "MDPC01", "echo", "a"});   // to W1
    f.send({"C2", "", "MDPC01", "echo", "b"});  // queued behind it
    f.clock.advance(10ms);
    auto next = f.send({"W1", "", "MDPW01", "\x03", "C", "", "a"});  // reply to C, then b goes to W1
    REQUIRE(next.size() == 2);
    f.clock.advance(2s);
    CHECK(f.send({"W1", "", "MDPW01", "\x03", "C2", "", "b"}).size() == 1);
    const auto view = f.core.service("echo");
    REQUIRE(view);
    CHECK(view->requests == 4);
    CHECK(view->replies == 4);
    CHECK(view->name == "echo");
    const Histogram& h = f.core.stats().request_duration;
    CHECK(h.count == 4);
    CHECK(h.sum == doctest::Approx(0.03 + 0.03 + 0.01 + 2.01));
    CHECK(h.cumulative(1) == 1);  // <= 10 ms
    CHECK(h.cumulative(3) == 3);  // <= 50 ms
    CHECK(h.cumulative(8) == 4);  // <= 2.5 s
    // A 0.2 client asks: the same JSON, in a FINAL.
    auto r = f.send({"C3", "MDPC02", "\x01", "mmi.stats", ""});
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].size() == 6);
    CHECK(S(r[0].begin(), r[0].begin() + 5) == S{"C3", "MDPC02", "\x03", "mmi.stats", "200"});
    auto json = parse_json(r[0][5]);
    REQUIRE(json);
    CHECK(number(*json, "replies") == 4);
    CHECK(number(*json, "uptime_s") == doctest::Approx(2.07));
    CHECK(number(*service_in(*json, "echo"), "requests") == 4);
    auto services = f.core.services();
    REQUIRE(services.size() == 1);
    CHECK(services[0].replies == 4);
    // 0.2 mmi.workers and mmi.services.
    CHECK(f.send({"C3", "MDPC02", "\x01", "mmi.workers", "echo"}) ==
          std::vector<S>{{"C3", "MDPC02", "\x03", "mmi.workers", "200", "1"}});
    CHECK(f.send({"C3", "MDPC02", "\x01", "mmi.services", ""}) ==
          std::vector<S>{{"C3", "MDPC02", "\x03", "mmi.services", "200", "echo"}});
}

namespace {

std::unique_ptr<Process> broker_process() {
    return std::make_unique<Process>(
        "mdbroker", std::vector<std::string>{"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "250", "-v"});
}
std::unique_ptr<Process> worker_process(const std::string& ep, const std::string& service) {
    return std::make_unique<Process>(
        "mdworker", std::vector<std::string>{"--connect", ep, "--service", service, "--heartbeat-ms", "250"});
}

}  // namespace

TEST_CASE("mdbroker: the three MMI names by raw frames, through Client and through AsyncClient") {
    auto broker = broker_process();
    const std::string ep = broker->bound_endpoint("broker");
    auto w1 = worker_process(ep, "echo");
    auto w2 = worker_process(ep, "rev");
    zmq::context_t ctx;
    auto raw = pirates::test::md::dealer(ctx, ep);
    // Raw bytes: a DEALER writes the empty delimiter itself.
    CHECK(eventually([&] {
        pirates::test::md::send(raw, {"", "MDPC01", "mmi.services", ""});
        return pirates::test::md::next(raw, 2000ms) == S{"", "MDPC01", "mmi.services", "200", "echo", "rev"};
    }));
    pirates::test::md::send(raw, {"", "MDPC01", "mmi.workers", "echo"});
    CHECK(pirates::test::md::next(raw) == S{"", "MDPC01", "mmi.workers", "200", "1"});
    pirates::test::md::send(raw, {"", "MDPC01", "mmi.workers", "nosuch"});
    CHECK(pirates::test::md::next(raw) == S{"", "MDPC01", "mmi.workers", "404"});
    pirates::test::md::send(raw, {"", "MDPC01", "mmi.other", ""});
    CHECK(pirates::test::md::next(raw) == S{"", "MDPC01", "mmi.other", "501"});

    // Traffic to count: 5 echo requests through the sync client.
    Client client(ctx, ClientOptions{ep, 3000ms, 1});
    for (int i = 0; i < 5; ++i) {
        auto r = client.request("echo", make_frames({"ping"}));
        REQUIRE(r.ok());
    }
    auto workers = client.request("mmi.workers", make_frames({"rev"}));
    REQUIRE(workers.ok());
    CHECK(strings(workers.reply) == S{"200", "1"});
    auto services = client.request("mmi.services", make_frames({""}));
    REQUIRE(services.ok());
    CHECK(strings(services.reply) == S{"200", "echo", "rev"});
    auto stats = client.request("mmi.stats", make_frames({""}));
    REQUIRE(stats.ok());
    REQUIRE(stats.reply.size() == 2);
    auto json = parse_json(stats.reply[1].to_string_view());
    REQUIRE(json);
    const JsonValue* echo = service_in(*json, "echo");
    REQUIRE(echo);
    CHECK(number(*echo, "requests") == 5);
    CHECK(number(*echo, "replies") == 5);
    CHECK(number(*json, "replies") == 5);
    CHECK(number(*json, "workers") == 2);

    // The async client: its correlation frame comes back in front of the reply frames.
    AsyncClient async(ctx, AsyncClientOptions{ep, 3000ms, 1});
    // (A body of its correlation frame only: the broker takes it for no argument, and sends it back.)
    const auto a = async.send("mmi.services", Frames{});
    const auto b = async.send("mmi.workers", make_frames({"echo"}));
    const auto c = async.send("mmi.stats", Frames{});
    std::map<std::uint64_t, S> got;
    std::map<std::uint64_t, std::string> stats_json;
    for (int i = 0; i < 3; ++i) {
        auto done = async.recv(5000ms);
        REQUIRE(done);
        REQUIRE(done->ok());
        got[done->id] = strings(done->reply);
    }
    CHECK(got[a] == S{"200", "echo", "rev"});
    CHECK(got[b] == S{"200", "1"});
    REQUIRE(got[c].size() == 2);
    CHECK(got[c][0] == "200");
    auto async_json = parse_json(got[c][1]);
    REQUIRE(async_json);
    CHECK(number(*service_in(*async_json, "echo"), "replies") == 5);
    w1->signal(SIGTERM);
    w2->signal(SIGTERM);
    CHECK(w1->wait_exit() == 0);
    CHECK(w2->wait_exit() == 0);
}

TEST_CASE(
    "mdadmin: services shows each service with its worker count, stats --json parses, no broker: exit 1") {
    auto broker = broker_process();
    const std::string ep = broker->bound_endpoint("broker");
    auto a1 = worker_process(ep, "alpha");
    auto a2 = worker_process(ep, "alpha");
    auto b1 = worker_process(ep, "beta");
    // Until all three workers registered (the table then lists alpha with 2, beta with 1).
    std::string table;
    CHECK(eventually(
        [&] {
            Process admin("mdadmin", {"--connect", ep, "services", "--timeout-ms", "2000"});
            if (admin.wait_exit(Duration{10000}) != 0) return false;
            table = admin.output();
            return table.find("alpha          2") != std::string::npos &&
                   table.find("beta           1") != std::string::npos;
        },
        Duration{10000}));
    INFO(table);
    CHECK(table.find("SERVICE") != std::string::npos);

    Process json_admin("mdadmin", {"--connect", ep, "stats", "--json"});
    REQUIRE(json_admin.wait_exit(Duration{10000}) == 0);
    const std::string out = json_admin.output();
    const auto start = out.find("{\"version\"");
    REQUIRE(start != std::string::npos);
    auto json = parse_json(out.substr(start, out.find('\n', start) - start));
    REQUIRE(json);
    CHECK(number(*json, "workers") == 3);
    CHECK(number(*service_in(*json, "alpha"), "workers") == 2);

    Process workers("mdadmin", {"--connect", ep, "workers", "beta"});
    REQUIRE(workers.wait_exit(Duration{10000}) == 0);
    CHECK(workers.wait_for("1\n"));
    Process unknown("mdadmin", {"--connect", ep, "workers", "gamma"});
    CHECK(unknown.wait_exit(Duration{10000}) == 1);

    Process watch("mdadmin", {"--connect", ep, "watch", "--interval-ms", "20"});
    CHECK(watch.wait_for("beta"));
    watch.signal(SIGINT);
    CHECK(watch.wait_exit() == 0);

    for (auto* w : {a1.get(), a2.get(), b1.get()}) w->signal(SIGTERM);
    broker->signal(SIGTERM);
    CHECK(broker->wait_exit() == 0);
    Process nobody("mdadmin", {"--connect", ep, "services", "--timeout-ms", "100"});
    CHECK(nobody.wait_exit(Duration{10000}) == 1);
    CHECK(nobody.wait_for("no answer"));

    Process bad("mdadmin", {"--connect", ep, "frobnicate"});
    CHECK(bad.wait_exit(Duration{10000}) == 2);
    Process missing("mdadmin", {"--connect", ep, "workers"});
    CHECK(missing.wait_exit(Duration{10000}) == 2);
}
