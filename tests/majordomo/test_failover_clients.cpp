// Workers and clients with two brokers (issue 17, points 2 and 3): a worker registered with both, serving
// either; a sync and an async client failing over from a silent broker to the other, after the settle delay;
// a request from the second broker while the worker is busy with the first's.
#include <doctest/doctest.h>
#include <pirates/common/failover.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/majordomo/async_client.hpp>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/majordomo/worker.hpp>

#include "support/net.hpp"
#include "support/process.hpp"

#include <atomic>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <thread>

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;
using pirates::test::bind_loopback;
using pirates::test::eventually;
using pirates::test::make_frames;
using pirates::test::recv_within;
using pirates::test::strings;
using S = std::vector<std::string>;

namespace {

// A real broker on its own thread.
struct RunningBroker {
    Broker broker;
    std::thread thread;
    explicit RunningBroker(zmq::context_t& context) : broker(context, options()) {
        thread = std::thread([this] { broker.run(); });
    }
    ~RunningBroker() { stop(); }
    void stop() {
        if (!thread.joinable()) return;
        broker.request_stop();
        thread.join();
    }
    const std::string& endpoint() const { return broker.endpoint(); }
    static BrokerOptions options() {
        BrokerOptions bo;
        bo.bind = "tcp://127.0.0.1:*";
        bo.core.heartbeat = 50ms;
        return bo;
    }
};

// A broker that accepts connections and answers nothing unless told (a hung or passive one): a ROUTER.
struct SilentBroker {
    zmq::socket_t router;
    std::string endpoint;
    explicit SilentBroker(zmq::context_t& context) : router(context, zmq::socket_type::router) {
        router.set(zmq::sockopt::linger, 0);
        endpoint = bind_loopback(router);
    }
    S next(Duration timeout = 5s) {
        Frames m;
        if (!recv_within(router, m, timeout)) return {};
        return strings(m);
    }
    // The next message that is not a worker HEARTBEAT.
    S next_not_heartbeat(Duration timeout = 5s) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            S m = next(until(Clock::now(), deadline));
            if (m.size() == 4 && m[3] == "\x04") continue;
            return m;
        }
        return {};
    }
    void send(const S& parts) {
        Frames m;
        for (const auto& p : parts) m.add(frame(p));
        m.send(router);
    }
};

WorkerOptions worker_options(std::string connect, Duration heartbeat = 50ms, int liveness = 3) {
    WorkerOptions wo;
    wo.connect = std::move(connect);
    wo.service = "echo";
    wo.heartbeat = heartbeat;
    wo.liveness = liveness;
    wo.reconnect = BackoffPolicy{50ms, 200ms, 0.0};
    return wo;
}

// An echo worker served by run() on its own thread; stopped and joined on destruction (a failed REQUIRE too).
struct EchoWorker {
    Worker worker;
    std::thread thread;
    EchoWorker(zmq::context_t& context, const WorkerOptions& options) : worker(context, options) {
        thread = std::thread([this] { worker.run([](Frames&& body) { return std::move(body); }); });
    }
    ~EchoWorker() { stop(); }
    void stop() {
        worker.request_stop();
        if (thread.joinable()) thread.join();
    }
};

// Against the fake brokers (which never heartbeat): the worker counts them dead after 1 s of silence, long
// enough that the connection whose READY the test read is still the one in use when the test sends to it.
constexpr Duration kFakeHeartbeat{100};
constexpr int kFakeLiveness = 10;

// mmi.service through one broker: "200" when it knows a worker for `service`.
std::string mmi_service(zmq::context_t& context, const std::string& endpoint, const std::string& service) {
    Client c(context, ClientOptions{endpoint, 1000ms, 1});
    auto r = c.request("mmi.service", make_frames({service}));
    return r.ok() && r.reply.size() == 1 ? r.reply[0].to_string() : std::string("none");
}

}  // namespace

TEST_CASE("FailoverCore: no settle with one endpoint, settle then switch, round robin, with several") {
    const TimePoint t0 = TimePoint{} + std::chrono::hours(1);
    FailoverCore one(1, 100ms);
    CHECK_FALSE(one.can_fail_over());
    CHECK_FALSE(one.on_silence(t0));
    CHECK_FALSE(one.settling());
    CHECK_FALSE(one.tick(t0 + 1000ms));
    CHECK(one.current() == 0);

    FailoverCore two(2, 100ms);
    CHECK(two.on_silence(t0));
    CHECK_FALSE(two.on_silence(t0 + 10ms));  // already settling: one switch per settle
    CHECK(two.settled_at() == t0 + 100ms);
    CHECK_FALSE(two.tick(t0 + 99ms));
    CHECK(two.current() == 0);
    CHECK(two.tick(t0 + 100ms));
    CHECK(two.current() == 1);
    CHECK_FALSE(two.settling());
    CHECK(two.settled_at() == TimePoint::max());
    CHECK(two.on_silence(t0 + 200ms));
    CHECK(two.tick(t0 + 300ms));
    CHECK(two.current() == 0);  // back to the first
    CHECK(two.failovers() == 2);
}

TEST_CASE(
    "a worker with --connect A,B registers with both, serves either, and keeps serving when one stops") {
    zmq::context_t context;
    RunningBroker a(context), b(context);
    EchoWorker echo(context, worker_options(a.endpoint() + "," + b.endpoint()));
    Worker& worker = echo.worker;
    REQUIRE(worker.links() == 2);
    CHECK(worker.endpoint(0) == a.endpoint());
    CHECK(worker.endpoint(1) == b.endpoint());

    CHECK(eventually([&] { return mmi_service(context, a.endpoint(), "echo") == "200"; }, 10s));
    CHECK(eventually([&] { return mmi_service(context, b.endpoint(), "echo") == "200"; }, 10s));

    Client via_a(context, ClientOptions{a.endpoint(), 3000ms, 3});
    Client via_b(context, ClientOptions{b.endpoint(), 3000ms, 3});
    for (int i = 0; i < 5; ++i) {
        auto ra = via_a.request("echo", make_frames({"to a"}));
        auto rb = via_b.request("echo", make_frames({"to b"}));
        REQUIRE(ra.ok());
        REQUIRE(rb.ok());
        CHECK(strings(ra.reply) == S{"to a"});
        CHECK(strings(rb.reply) == S{"to b"});
    }

    a.stop();  // A goes away: the worker keeps serving B
    for (int i = 0; i < 5; ++i) {
        auto rb = via_b.request("echo", make_frames({"still b"}));
        REQUIRE(rb.ok());
        CHECK(rb.attempts == 1);
        CHECK(strings(rb.reply) == S{"still b"});
    }
    echo.stop();
    CHECK(worker.stats(0).replies == 5);
    CHECK(worker.stats(1).replies == 10);
    CHECK(worker.stats().replies == 15);
    CHECK(worker.stats().unroutable == 0);
}

TEST_CASE("a sync client whose first broker is silent is answered by the second after one fail-over") {
    zmq::context_t context;
    SilentBroker dead(context);
    RunningBroker b(context);
    EchoWorker echo(context, worker_options(b.endpoint()));
    REQUIRE(eventually([&] { return mmi_service(context, b.endpoint(), "echo") == "200"; }, 10s));

    ClientOptions co{dead.endpoint + "," + b.endpoint(), 1000ms, 3};
    co.settle = 100ms;
    Client client(context, co);
    REQUIRE(client.endpoints().size() == 2);
    const auto start = Clock::now();
    auto r = client.request("echo", make_frames({"hello"}));
    const auto took = Clock::now() - start;
    REQUIRE(r.ok());
    CHECK(strings(r.reply) == S{"hello"});
    CHECK(r.attempts == 2);
    CHECK(client.stats().failovers == 1);
    CHECK(client.stats().retries == 1);
    CHECK(client.current() == 1);
    CHECK(took >= 1100ms);  // one silent attempt and the settle: the pause is kept
    MESSAGE("answered after one fail-over in ", std::chrono::duration_cast<Duration>(took).count(),
            " ms (timeout 1000 + settle 100)");
    // The silent broker saw the first attempt.
    S got = dead.next();
    REQUIRE(got.size() >= 5);
    CHECK(got[2] == "MDPC01");
    CHECK(got[3] == "echo");

    // The client stays on the broker that answered: the next request goes there at once.
    auto again = client.request("echo", make_frames({"again"}));
    REQUIRE(again.ok());
    CHECK(again.attempts == 1);
    CHECK(client.stats().failovers == 1);
}

TEST_CASE("a sync client with one broker keeps the Lazy Pirate rule: no settle, no fail-over") {
    zmq::context_t context;
    SilentBroker dead(context);
    ClientOptions co{dead.endpoint, 100ms, 3};
    co.settle = 10s;  // would show if it were used
    Client client(context, co);
    const auto start = Clock::now();
    auto r = client.request("echo", make_frames({"x"}));
    CHECK(r.status == Status::gave_up);
    CHECK(r.attempts == 3);
    CHECK(Clock::now() - start < 5s);
    CHECK(client.stats().failovers == 0);
    CHECK(client.stats().retries == 2);
}

TEST_CASE("the async client moves every request in flight to the other broker, late duplicates are dropped") {
    zmq::context_t context;
    SilentBroker old(context);
    RunningBroker b(context);
    EchoWorker echo(context, worker_options(b.endpoint()));
    REQUIRE(eventually([&] { return mmi_service(context, b.endpoint(), "echo") == "200"; }, 10s));

    AsyncClientOptions o{old.endpoint + "," + b.endpoint(), 1000ms, 3};
    o.settle = 1000ms;  // long enough for the old broker's answers below to arrive while settling, under load
    AsyncClient client(context, o);
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 5; ++i) ids.push_back(client.send("echo", make_frames({"r" + std::to_string(i)})));
    // All five reach the first broker, which keeps them unanswered.
    std::vector<S> held;
    for (int i = 0; i < 5; ++i) {
        held.push_back(old.next());
        REQUIRE(held.back().size() == 6);  // identity, "", MDPC01, service, correlation, body
    }
    // The first timeout starts the settle; nothing completes meanwhile.
    const auto deadline = Clock::now() + 10s;
    while (!client.settling() && Clock::now() < deadline) CHECK_FALSE(client.recv(5ms).has_value());
    REQUIRE(client.settling());
    CHECK(client.current() == 0);
    // While settling, the old broker answers the first request, twice: the first answer completes it, the
    // second is a duplicate, discarded by its correlation frame.
    const S& first = held[0];
    old.send(S{first[0], "", "MDPC01", "echo", first[4], "from old"});
    old.send(S{first[0], "", "MDPC01", "echo", first[4], "from old again"});

    std::map<std::uint64_t, Completion> done;
    while (done.size() < 5 && Clock::now() < deadline + 10s)
        if (auto c = client.recv(100ms)) done.emplace(c->id, std::move(*c));
    REQUIRE(done.size() == 5);
    CHECK(done.at(ids[0]).ok());
    CHECK(strings(done.at(ids[0]).reply) == S{"from old"});
    CHECK(done.at(ids[0]).attempts == 1);
    for (int i = 1; i < 5; ++i) {
        const Completion& c = done.at(ids[i]);
        REQUIRE(c.ok());
        CHECK(strings(c.reply) == S{"r" + std::to_string(i)});
        CHECK(c.attempts == 2);  // one on the old broker, one on the new
    }
    CHECK(client.stats().failovers == 1);
    CHECK(client.stats().moved == 4);
    CHECK(client.stats().discarded == 1);
    CHECK(client.stats().gave_up == 0);
    CHECK(client.current() == 1);

    // New requests go to the new broker directly.
    auto id = client.send("echo", make_frames({"after"}));
    std::optional<Completion> c;
    for (int i = 0; i < 50 && !c; ++i) c = client.recv(100ms);
    REQUIRE(c);
    CHECK(c->id == id);
    CHECK(c->ok());
    CHECK(c->attempts == 1);
}

TEST_CASE("a request from the second broker while the worker is busy is queued, kept alive and served next") {
    zmq::context_t context;
    SilentBroker a(context), b(context);
    Worker worker(context, worker_options(a.endpoint + "," + b.endpoint, kFakeHeartbeat, kFakeLiveness));
    S ready_a = a.next();
    S ready_b = b.next();
    REQUIRE(ready_a.size() == 5);
    REQUIRE(ready_b.size() == 5);
    CHECK(ready_a[3] == "\x01");
    CHECK(ready_b[3] == "\x01");

    std::atomic<bool> release{false};
    std::atomic<int> started{0};
    std::vector<std::string> order;  // written by the handler's thread, read after the worker stopped
    std::thread serving([&] {
        worker.run([&](Frames&& body) {
            order.push_back(strings(body).at(0));
            ++started;
            release.wait(false);  // the test's stand-in for work: held until the test lets it go
            return std::move(body);
        });
    });

    // Whatever happens below, the handler is released and the worker's thread joined (a failed REQUIRE too).
    struct Finally {
        std::function<void()> fn;
        ~Finally() { fn(); }
    } finally{[&] {
        release = true;
        release.notify_all();
        worker.request_stop();
        if (serving.joinable()) serving.join();
    }};
    a.send(S{ready_a[0], "", "MDPW01", "\x02", "CA", "", "from a"});
    REQUIRE(eventually([&] { return started.load() == 1; }, 10s));
    // Busy with A's: B sends one too.
    b.send(S{ready_b[0], "", "MDPW01", "\x02", "CB", "", "from b"});
    // Let many heartbeat intervals pass (B says nothing: a broker does not heartbeat a busy worker): more
    // than the liveness, so an expiring link would have been replaced. B counts the worker's heartbeats.
    int heartbeats = 0;
    while (heartbeats < kFakeLiveness + 5) {
        S m = b.next();
        REQUIRE(!m.empty());
        REQUIRE(m[0] == ready_b[0]);  // the same connection: no new READY
        CHECK(m[3] == "\x04");
        ++heartbeats;
    }
    release = true;
    release.notify_all();
    S reply_a = a.next_not_heartbeat();
    REQUIRE(reply_a.size() == 7);
    CHECK(S(reply_a.begin() + 3, reply_a.end()) == S{"\x03", "CA", "", "from a"});
    S reply_b = b.next_not_heartbeat();
    REQUIRE(reply_b.size() == 7);
    CHECK(reply_b[0] == ready_b[0]);
    CHECK(S(reply_b.begin() + 3, reply_b.end()) == S{"\x03", "CB", "", "from b"});

    finally.fn();
    CHECK(order == S{"from a", "from b"});
    CHECK(worker.stats().replies == 2);
    CHECK(worker.stats().unroutable == 0);
    CHECK(worker.stats(1).expired == 0);
    CHECK(worker.stats(1).reconnects == 0);
}

TEST_CASE("recv() + reply() with two brokers: each reply goes back on the link its request came on") {
    zmq::context_t context;
    SilentBroker a(context), b(context);
    Worker worker(context, worker_options(a.endpoint + "," + b.endpoint, kFakeHeartbeat, kFakeLiveness));
    S ready_a = a.next(), ready_b = b.next();
    REQUIRE(ready_a.size() == 5);
    REQUIRE(ready_b.size() == 5);
    b.send(S{ready_b[0], "", "MDPW01", "\x02", "CB", "", "one"});
    a.send(S{ready_a[0], "", "MDPW01", "\x02", "CA", "", "two"});
    std::vector<Request> got;
    const auto deadline = Clock::now() + 10s;
    while (got.size() < 2 && Clock::now() < deadline)
        if (auto r = worker.recv(50ms)) got.push_back(std::move(*r));
    REQUIRE(got.size() == 2);
    for (auto& r : got) {
        const std::string body = strings(r.body).at(0);
        CHECK(r.link == (body == "one" ? 1u : 0u));
        CHECK(worker.reply(std::move(r), make_frames({body + "!"})));
    }
    S ra = a.next_not_heartbeat(), rb = b.next_not_heartbeat();
    REQUIRE(ra.size() == 7);
    REQUIRE(rb.size() == 7);
    CHECK(ra[6] == "two!");
    CHECK(rb[6] == "one!");
}

TEST_CASE(
    "attach() with two brokers: each request goes to on_request as it comes, replies go back on its link") {
    zmq::context_t context;
    SilentBroker a(context), b(context);
    Reactor reactor;  // outlives the worker attached to it
    Worker worker(context, worker_options(a.endpoint + "," + b.endpoint, kFakeHeartbeat, kFakeLiveness));
    std::vector<Request> held;  // answered later, outside the handler, in the reverse order
    worker.attach(reactor, [&](Request&& r) { held.push_back(std::move(r)); });
    // READY from both (the reactor turns on this thread: a broker's message is read between turns).
    auto next = [&](SilentBroker& broker) {
        S got;
        (void)eventually([&] {
            reactor.run_once(1ms);
            Frames m;
            while (m.recv(broker.router, ZMQ_DONTWAIT)) {
                S one = strings(m);
                m.clear();
                if (!(one.size() == 4 && one[3] == "\x04")) {
                    got = one;
                    return true;
                }
            }
            return false;
        });
        return got;
    };
    S ready_a = next(a), ready_b = next(b);
    REQUIRE(ready_a.size() == 5);
    REQUIRE(ready_b.size() == 5);
    a.send(S{ready_a[0], "", "MDPW01", "\x02", "CA", "", "for a"});
    b.send(S{ready_b[0], "", "MDPW01", "\x02", "CB", "", "for b"});
    REQUIRE(eventually([&] {
        reactor.run_once(1ms);
        return held.size() == 2;
    }));
    while (!held.empty()) {
        Request r = std::move(held.back());
        held.pop_back();
        const std::string body = strings(r.body).at(0);
        CHECK(worker.reply(std::move(r), make_frames({body + "!"})));
    }
    S ra = next(a), rb = next(b);
    REQUIRE(ra.size() == 7);
    REQUIRE(rb.size() == 7);
    CHECK(ra[6] == "for a!");
    CHECK(rb[6] == "for b!");
    worker.detach();
}

TEST_CASE("processes: mdworker --connect A,B serves both, A killed, mdclient --connect A,B fails over to B") {
    using pirates::test::Process;
    auto broker = [](const char* hb) {
        return std::make_unique<Process>(
            "mdbroker", std::vector<std::string>{"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", hb, "-v"});
    };
    auto a = broker("250");
    auto b = broker("250");
    const std::string ea = a->bound_endpoint("broker"), eb = b->bound_endpoint("broker");
    REQUIRE(!ea.empty());
    REQUIRE(!eb.empty());
    const std::string both = ea + "," + eb;
    Process worker("mdworker",
                   {"--connect", both, "--service", "echo", "--heartbeat-ms", "250", "--reconnect-ms", "50"});
    REQUIRE(a->wait_for("ready for 'echo'"));
    REQUIRE(b->wait_for("ready for 'echo'"));

    // Both know the worker; mdadmin with both asks the first.
    Process admin("mdadmin", {"--connect", both, "workers", "echo"});
    CHECK(admin.wait_exit(20s) == 0);
    CHECK(admin.wait_for("1"));

    // Both serve, and the client with both stays on A while A answers.
    Process first("mdclient", {"--connect", both, "--service", "echo", "--requests", "5", "--timeout-ms",
                               "2000", "--settle-ms", "50"});
    CHECK(first.wait_exit(30s) == 0);
    CHECK(first.wait_for("answered 5 matched 5 retried 0"));
    CHECK(first.wait_for("failovers 0"));

    a->kill9();
    a->wait_exit();
    Process sync("mdclient", {"--connect", both, "--service", "echo", "--requests", "5", "--timeout-ms",
                              "1000", "--settle-ms", "50", "--retries", "3"});
    CHECK(sync.wait_exit(30s) == 0);
    CHECK(sync.wait_for("answered 5 matched 5 retried 1"));  // the first request's one retry, on B
    CHECK(sync.wait_for("failovers 1"));
    Process async("mdclient", {"--connect", both, "--service", "echo", "--requests", "20", "--async",
                               "--timeout-ms", "1000", "--settle-ms", "50", "--retries", "3"});
    CHECK(async.wait_exit(30s) == 0);
    CHECK(async.wait_for("answered 20 matched 20 retried 20"));  // all 20 in flight on A, moved to B
    CHECK(async.wait_for("failovers 1"));
    // mdadmin with A dead: B answers.
    Process admin_b("mdadmin", {"--connect", both, "--timeout-ms", "1000", "workers", "echo"});
    CHECK(admin_b.wait_exit(20s) == 0);
    worker.signal(SIGTERM);
    CHECK(worker.wait_exit() == 0);
}
