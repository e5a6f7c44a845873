// Fault tests with real processes: ppqueue, ppworker, and a retrying (Lazy Pirate) client in the test.
// Timings are short (heartbeat 50 ms); deadlines are generous because CI machines are slow.
#include <doctest/doctest.h>

#include <pirates/paranoid_pirate/worker.hpp>

#include <pirates/lazy_pirate/client.hpp>
#include "support/disconnect_watch.hpp"
#include "support/flood.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <atomic>
#include <csignal>
#include <memory>
#include <thread>

using namespace pirates;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kTiming = {"--heartbeat-ms", "50", "--liveness", "3"};

std::vector<std::string> args(std::vector<std::string> a, const std::vector<std::string>& more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

std::unique_ptr<Process> start_queue(const std::string& frontend = "tcp://127.0.0.1:*",
                                     const std::string& backend = "tcp://127.0.0.1:*",
                                     const std::vector<std::string>& extra = {}) {
    return std::make_unique<Process>(
        "ppqueue", args(args({"--frontend", frontend, "--backend", backend, "-v"}, kTiming), extra));
}

// Until the queue has logged READY from `n` workers (debug line "worker <id> ready").
bool workers_ready(const Process& queue, std::size_t n) {
    return eventually([&] { return queue.count(" ready\n") >= n; }, 10000ms);
}

std::unique_ptr<Process> start_worker(const std::string& backend, std::vector<std::string> extra = {}) {
    auto a = args({"--connect", backend, "--reconnect-ms", "50", "--reconnect-max-ms", "400", "-v"}, kTiming);
    return std::make_unique<Process>("ppworker", args(a, extra));
}

// The Lazy Pirate client (pirates::lazy_pirate): REQ, timeout, close and reopen, bounded attempts.
using lazy_pirate::Client;
Client lazy_client(zmq::context_t& ctx, const std::string& frontend, Duration timeout, int attempts) {
    lazy_pirate::ClientOptions options;
    options.check = lazy_pirate::echo_check();
    return Client(ctx, frontend, RetryPolicy{timeout, attempts}, options);
}

// The reply's single frame, or nullopt if the client gave up.
std::optional<std::string> ask(Client& client, const std::string& body) {
    auto outcome = client.request(body);
    if (!outcome || outcome.reply.size() != 1) return std::nullopt;
    return outcome.reply[0].to_string();
}

}  // namespace

TEST_CASE("requests go through ppqueue to ppworkers and back - both stop cleanly on SIGTERM") {
    auto queue = start_queue();
    const auto frontend = queue->bound_endpoint("frontend");
    const auto backend = queue->bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    auto w1 = start_worker(backend);
    auto w2 = start_worker(backend);
    REQUIRE(workers_ready(*queue, 2));
    zmq::context_t ctx;
    Client client = lazy_client(ctx, frontend, 2000ms, 3);
    for (int i = 0; i < 20; ++i)
        CHECK(ask(client, "hello " + std::to_string(i)) == "hello " + std::to_string(i));
    CHECK(static_cast<int>(client.stats().retries) == 0);
    // Both workers took part (least recently used first).
    CHECK(w1->count("request ") > 0);
    CHECK(w2->count("request ") > 0);
    for (auto* p : {w1.get(), w2.get(), queue.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);
    }
}

TEST_CASE("kill -9 of a worker in the middle of a request: the client retries and another worker answers") {
    auto queue = start_queue();
    const auto frontend = queue->bound_endpoint("frontend");
    const auto backend = queue->bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    // The victim answers its first request, then takes 30 s over each one: plenty of time to be killed
    // mid-way.
    auto victim = start_worker(backend, {"--slow-after", "1", "--delay-ms", "30000"});
    auto healthy = start_worker(backend);

    zmq::context_t ctx;
    std::atomic<bool> stop{false};
    std::atomic<int> done{0};
    std::atomic<int> failed{0};
    std::atomic<int> retries{0};
    std::thread client_thread([&] {
        Client client = lazy_client(ctx, frontend, 500ms, 20);
        for (int i = 0; !stop && i < 500; ++i) {
            std::string body = "request " + std::to_string(i);
            if (ask(client, body) == body)
                ++done;
            else
                ++failed;
            retries = static_cast<int>(client.stats().retries);
        }
    });
    const bool victim_busy = victim->wait_for("chaos: answering request 2 after", 10000ms);
    CHECK(victim_busy);
    const int done_at_kill = done;
    victim->kill9();
    CHECK(victim->wait_exit() == 128 + SIGKILL);
    // The request the victim held is answered by the healthy worker after a retry, and more follow.
    CHECK(eventually([&] { return done >= done_at_kill + 5; }, 10000ms));
    stop = true;
    client_thread.join();
    CHECK(failed == 0);
    CHECK(retries >= 1);
    MESSAGE("requests done: " << done.load() << ", client retries: " << retries.load());
}

TEST_CASE("a hung worker (alive, silent) is dropped after liveness x heartbeat and gets no more requests") {
    auto queue = start_queue();
    const auto frontend = queue->bound_endpoint("frontend");
    const auto backend = queue->bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    // The hung worker alone first: it answers the one request there is, then freezes while idle in the queue.
    auto hung = start_worker(backend, {"--hang-after", "1"});
    REQUIRE(workers_ready(*queue, 1));
    zmq::context_t ctx;
    Client client = lazy_client(ctx, frontend, 500ms, 20);
    REQUIRE(ask(client, "only request") == "only request");
    REQUIRE(hung->wait_for("simulating a hang", 5000ms));
    const auto hang_seen = Clock::now();
    // Its identity is the last one that registered: on a loaded machine the worker may have counted the queue
    // dead once and reconnected (a new identity) before it took the request.
    const std::string out = queue->output();
    const auto end = out.rfind(" ready\n");
    const auto begin = out.rfind("worker ", end) + 7;
    const std::string hung_id = out.substr(begin, end - begin);  // hex identity, from "worker <id> ready"
    auto healthy = start_worker(backend);
    // Expected after 3 x 50 ms of silence; the deadline is generous. No request is sent meanwhile, so the
    // hung worker stays idle in the queue until it expires.
    REQUIRE(queue->wait_for("worker " + hung_id + " expired", 5000ms));
    const auto expired_seen = Clock::now();
    const auto dropped_after = std::chrono::duration_cast<Duration>(expired_seen - hang_seen);
    MESSAGE("hung worker dropped " << dropped_after.count()
                                   << " ms after the test saw it hang (liveness x heartbeat = 150 ms)");
    // The bound, liveness x interval plus one interval (200 ms), plus slack for a loaded CI machine
    // and for reading two processes' output: a drop that took seconds would fail here.
    CHECK(dropped_after < 200ms + 1500ms);
    REQUIRE(workers_ready(*queue, 2));

    // From now on every request is answered first time, by the healthy worker.
    const auto healthy_before = healthy->count("request ");
    Client strict = lazy_client(ctx, frontend, 3000ms, 1);
    for (int i = 0; i < 20; ++i)
        CHECK(ask(strict, "after " + std::to_string(i)) == "after " + std::to_string(i));
    CHECK(eventually([&] { return healthy->count("request ") >= healthy_before + 20; }, 5000ms));
    CHECK(hung->count("request ") == 1);
    CHECK(hung->running());
}

TEST_CASE(
    "ppqueue killed and restarted on the same endpoints: workers back off, reconnect, clients complete") {
    auto queue = start_queue();
    const auto frontend = queue->bound_endpoint("frontend");
    const auto backend = queue->bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    auto w1 = start_worker(backend);
    auto w2 = start_worker(backend);

    zmq::context_t ctx;
    Client client = lazy_client(ctx, frontend, 300ms, 50);
    for (int i = 0; i < 5; ++i) REQUIRE(ask(client, "before " + std::to_string(i)).has_value());

    queue->kill9();
    queue->wait_exit();
    // The workers notice the silence and start backing off (more than one attempt while the queue is down).
    CHECK(w1->wait_for("queue silent", 5000ms));
    CHECK(eventually([&] { return w2->count("queue silent") >= 2; }, 5000ms));

    std::atomic<int> done{0};
    std::thread client_thread([&] {
        Client c = lazy_client(ctx, frontend, 300ms, 100);
        for (int i = 0; i < 10; ++i)
            if (ask(c, "across " + std::to_string(i)) == "across " + std::to_string(i)) ++done;
    });
    queue = start_queue(frontend, backend);  // the concrete endpoints the first run announced
    CHECK(queue->bound_endpoint("backend") == backend);
    client_thread.join();
    CHECK(done == 10);
    CHECK(w1->wait_for("reconnected"));
    CHECK(w2->wait_for("reconnected"));
    for (int i = 0; i < 5; ++i)
        CHECK(ask(client, "after " + std::to_string(i)) == "after " + std::to_string(i));
}

TEST_CASE("bad flags exit with code 2 - --help exits 0") {
    Process a("ppqueue", {"--frontend", "tcp://127.0.0.1:*"});  // --backend missing
    CHECK(a.wait_exit() == 2);
    Process b("ppworker", {"--connect", "nonsense"});
    CHECK(b.wait_exit() == 2);
    Process c("ppworker",
              {"--connect", "tcp://127.0.0.1:1", "--reconnect-ms", "500", "--reconnect-max-ms", "100"});
    CHECK(c.wait_exit() == 2);
    Process d("ppqueue", {"--help"});
    CHECK(d.wait_exit() == 0);
    CHECK(d.wait_for("--heartbeat-ms", 5000ms));
    CHECK(d.wait_for("--max-message-bytes BYTES", 5000ms));
    CHECK(d.wait_for("--hwm N", 5000ms));
    Process e("ppqueue", {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*",
                          "--max-message-bytes", "16X"});
    CHECK(e.wait_exit() == 2);
}

TEST_CASE("a ppworker waiting to reconnect still stops at once on SIGTERM") {
    zmq::context_t ctx;
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    const auto ep = bind_loopback(router);
    Process worker("ppworker", {"--connect", ep, "--heartbeat-ms", "20", "--liveness", "1", "--reconnect-ms",
                                "60000", "--reconnect-max-ms", "60000"});
    REQUIRE(worker.wait_for("queue silent", 5000ms));  // nobody answers: now waiting a minute
    worker.signal(SIGTERM);
    CHECK(worker.wait_exit(5000ms) == 0);
}

TEST_CASE("the Worker library in-process: the handler's reply goes back, nullopt sends nothing") {
    auto queue = start_queue();
    const auto frontend = queue->bound_endpoint("frontend");
    const auto backend = queue->bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    zmq::context_t ctx;
    std::atomic<int> handled{0};
    paranoid_pirate::WorkerOptions options{backend, {50ms, 3, BackoffPolicy{50ms, 400ms, 0.2}}};
    paranoid_pirate::Worker worker(ctx, options, [&](Frames request) -> std::optional<Frames> {
        ++handled;
        if (equals(request[0], "drop")) return std::nullopt;
        Frames reply;
        reply.add(frame("re: " + request[0].to_string()));
        return reply;
    });
    std::thread worker_thread([&] { worker.run(); });  // until request_stop(), from this thread
    zmq::socket_t req(ctx, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.connect(frontend);
    req.send(frame("hello"), zmq::send_flags::none);
    Frames reply;
    REQUIRE(recv_within(req, reply, 5000ms));
    CHECK(strings(reply) == std::vector<std::string>{"re: hello"});
    req.send(frame("drop"), zmq::send_flags::none);
    reply.clear();
    CHECK(eventually([&] { return handled == 2; }, 5000ms));
    CHECK_FALSE(recv_within(req, reply, 300ms));  // no reply was sent
    worker.request_stop();
    worker_thread.join();
    CHECK(worker.stopped());
    CHECK(worker.stats().requests == 2);
    CHECK(worker.stats().replies == 1);
}

TEST_CASE(
    "ppqueue --max-message-bytes: a client or worker that sends a larger message is dropped, others served") {
    auto queue = start_queue("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", {"--max-message-bytes", "64K"});
    const auto frontend = queue->bound_endpoint("frontend");
    const auto backend = queue->bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    auto worker = start_worker(backend);
    REQUIRE(workers_ready(*queue, 1));
    zmq::context_t ctx;
    const std::string over(64 * 1024 + 1, 'x');
    for (const std::string* ep : {&frontend, &backend}) {
        zmq::socket_t big(ctx, zmq::socket_type::dealer);
        big.set(zmq::sockopt::linger, 0);
        DisconnectWatch watch(ctx, big);
        big.connect(*ep);
        big.send(zmq::const_buffer{}, zmq::send_flags::sndmore);
        big.send(zmq::buffer(over), zmq::send_flags::none);
        CHECK_MESSAGE(watch.wait(1, 5s),
                      "dropped by the queue's " << (ep == &frontend ? "frontend" : "backend"));
    }
    Client client = lazy_client(ctx, frontend, 5000ms, 3);
    const std::string at_bound(64 * 1024 - 16, 'y');
    CHECK(ask(client, at_bound) == at_bound);
    CHECK(ask(client, "small") == "small");
    CHECK(queue->running());
}

TEST_CASE(
    "ppqueue: a client that sends big requests and never reads a reply: memory stays bounded by the hwm") {
    constexpr std::size_t mib = std::size_t{1} << 20;
    constexpr int hwm = 10;
    constexpr int requests = 150;
    SmallAsanQuarantine small_quarantine;  // sanitizer build: the child's RSS is what it holds
    // Heartbeats slow enough that moving 300 MiB on a loaded machine does not expire the worker.
    auto queue = std::make_unique<Process>(
        "ppqueue", std::vector<std::string>{"--frontend", "tcp://127.0.0.1:*", "--backend",
                                            "tcp://127.0.0.1:*", "--heartbeat-ms", "500", "--liveness", "5",
                                            "--hwm", std::to_string(hwm), "-v"});
    const auto frontend = queue->bound_endpoint("frontend");
    const auto backend = queue->bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    Process worker("ppworker", {"--connect", backend, "--heartbeat-ms", "500", "--liveness", "5"});
    REQUIRE(workers_ready(*queue, 1));
    zmq::context_t ctx;
    auto flood = flood_without_reading(ctx, frontend, requests, mib, *queue);
    CHECK(flood.sent == requests);

    Client client = lazy_client(ctx, frontend, 10000ms, 2);
    CHECK(ask(client, "still there?") == "still there?");

    // As for spqueue: the client's two pipes (hwm each way), the worker's connection, the messages being read
    // and written: about 2 x hwm x 1 MiB; allowed 3 x hwm x 1 MiB + 32 MiB (+ ASan's quarantine).
    const std::size_t bound = flood.base_rss + 3 * hwm * mib + 32 * mib + allocator_slack();
    const std::size_t after = queue->rss_bytes();
    MESSAGE("ppqueue RSS: before " << flood.base_rss / 1024 << " KiB, peak sampled " << flood.max_rss / 1024
                                   << " KiB, after " << after / 1024 << " KiB, bound " << bound / 1024
                                   << " KiB");
    CHECK(flood.max_rss < bound);
    CHECK(after < bound);

    queue->signal(SIGTERM);
    REQUIRE(queue->wait_exit() == 0);
    REQUIRE(queue->wait_for("to clients not reading)"));
    CHECK(number_before(queue->output(), "to clients not reading)") > 0);
}
