// spqueue and spworker as processes: raw frames from docs/protocols.md, hung/crashed/killed workers, a queue
// killed and restarted while clients retry.
#include <doctest/doctest.h>
#include <pirates/lazy_pirate/client.hpp>

#include "support/disconnect_watch.hpp"
#include "support/flood.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>
#include <memory>

using namespace pirates;
using namespace std::chrono_literals;
using S = std::vector<std::string>;

namespace {

const std::string READY("\x01", 1);

struct Queue {
    std::unique_ptr<test::Process> process;
    std::string frontend, backend;

    explicit Queue(std::string fe = "tcp://127.0.0.1:*", std::string be = "tcp://127.0.0.1:*",
                   std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"--frontend", fe, "--backend", be, "-v"};
        args.insert(args.end(), extra.begin(), extra.end());
        process = std::make_unique<test::Process>("spqueue", args);
        frontend = process->bound_endpoint("frontend");
        backend = process->bound_endpoint("backend");
        REQUIRE(!frontend.empty());
        REQUIRE(!backend.empty());
    }
    // The queue logs each READY at debug level (-v): wait until `n` workers have registered.
    bool workers_ready(std::size_t n) const {
        return test::eventually([&] { return process->count("ready") >= n; }, 10000ms);
    }
};

std::unique_ptr<test::Process> spworker(const std::string& backend, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--connect", backend};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<test::Process>("spworker", args);
}

void send_raw(zmq::socket_t& s, const S& parts) {
    for (std::size_t i = 0; i < parts.size(); ++i)
        s.send(zmq::buffer(parts[i]),
               i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
}

zmq::socket_t connected(zmq::context_t& ctx, zmq::socket_type type, const std::string& ep) {
    zmq::socket_t s(ctx, type);
    s.set(zmq::sockopt::linger, 0);
    s.connect(ep);
    return s;
}

lazy_pirate::Client echo_client(zmq::context_t& ctx, const std::string& ep, RetryPolicy policy) {
    lazy_pirate::ClientOptions o;
    o.check = lazy_pirate::echo_check();
    return lazy_pirate::Client(ctx, ep, policy, o);
}

}  // namespace

TEST_CASE("spqueue raw frames: a hand-made REQ worker and a hand-made client, byte for byte") {
    Queue q;
    zmq::context_t ctx;
    // Worker: a plain REQ socket; READY is the one-byte frame 0x01 (REQ adds the empty delimiter).
    auto worker = connected(ctx, zmq::socket_type::req, q.backend);
    send_raw(worker, {READY});
    // Client: a DEALER writing REQ's envelope by hand.
    auto client = connected(ctx, zmq::socket_type::dealer, q.frontend);
    send_raw(client, {"", "hello"});

    Frames m;
    REQUIRE(test::recv_within(worker, m));
    auto request = test::strings(m);
    REQUIRE(request.size() == 3);  // [client-id] "" "hello"
    CHECK(!request[0].empty());
    CHECK(request[1] == "");
    CHECK(request[2] == "hello");
    send_raw(worker, {request[0], "", "hello back"});

    REQUIRE(test::recv_within(client, m));
    CHECK(test::strings(m) == S{"", "hello back"});

    // The same client's next request goes to the same (only) worker, which is idle again.
    send_raw(client, {"", "again", std::string("\x00\x01", 2)});
    REQUIRE(test::recv_within(worker, m));
    CHECK(test::strings(m) == S{request[0], "", "again", std::string("\x00\x01", 2)});
}

TEST_CASE("spqueue raw frames: a DEALER worker sees the queue's exact backend message") {
    Queue q;
    zmq::context_t ctx;
    auto worker = connected(ctx, zmq::socket_type::dealer, q.backend);
    send_raw(worker, {"", READY});  // what a REQ worker puts on the wire
    auto client = connected(ctx, zmq::socket_type::req, q.frontend);
    send_raw(client, {"body"});

    Frames m;
    REQUIRE(test::recv_within(worker, m));
    auto got = test::strings(m);
    REQUIRE(got.size() == 4);  // "" [client-id] "" "body": the worker's delimiter, then the client envelope
    CHECK(got[0] == "");
    CHECK(got[2] == "");
    CHECK(got[3] == "body");
    send_raw(worker, {"", got[1], "", "reply"});
    REQUIRE(test::recv_within(client, m));
    CHECK(test::strings(m) == S{"reply"});
}

TEST_CASE(
    "spworker raw frames: a hand-written queue sees READY and gets each request echoed with its envelope") {
    zmq::context_t ctx;
    zmq::socket_t queue(ctx, zmq::socket_type::router);
    queue.set(zmq::sockopt::linger, 0);
    const std::string ep = test::bind_loopback(queue);
    test::Process worker("spworker", {"--connect", ep});

    Frames m;
    REQUIRE(test::recv_within(queue, m, 10000ms));
    auto ready = test::strings(m);
    REQUIRE(ready.size() == 3);  // [worker-id] "" 0x01
    CHECK(ready[1] == "");
    CHECK(ready[2] == READY);
    const std::string id = ready[0];

    // [worker-id] "" [client-id] "" request...: exactly what docs/protocols.md says the queue sends.
    const std::string client_id("\x00\x6b\x8b\x45\x67", 5);
    send_raw(queue, {id, "", client_id, "", "ping", std::string("\x00\xff", 2)});
    REQUIRE(test::recv_within(queue, m));
    CHECK(test::strings(m) == S{id, "", client_id, "", "ping", std::string("\x00\xff", 2)});

    // A request without the client envelope cannot be answered by a REQ worker: it reopens and says READY
    // again.
    send_raw(queue, {id, "", "no-envelope"});
    REQUIRE(test::recv_within(queue, m));
    auto again = test::strings(m);
    CHECK(again == S{again[0], "", READY});
    CHECK(again[0] != id);
    CHECK(worker.running());
}

TEST_CASE("spqueue survives garbage on both sockets and keeps serving") {
    Queue q;
    zmq::context_t ctx;
    auto bad_worker = connected(ctx, zmq::socket_type::dealer, q.backend);
    for (const S& junk : {S{"x"}, S{""}, S{"", "READY"}, S{"", "\x02"}, S{"", "c", ""}, S{"no", "delimiter"},
                          S{std::string("\x00\xff", 2)}})
        send_raw(bad_worker, junk);
    auto worker = connected(ctx, zmq::socket_type::req, q.backend);
    send_raw(worker, {READY});
    REQUIRE(q.workers_ready(1));
    auto bad_client = connected(ctx, zmq::socket_type::dealer, q.frontend);
    for (const S& junk : {S{"x"}, S{""}, S{"x", "y"}}) send_raw(bad_client, junk);
    auto client = connected(ctx, zmq::socket_type::req, q.frontend);
    send_raw(client, {"real"});

    Frames m;
    REQUIRE(test::recv_within(worker, m));
    auto request = test::strings(m);
    CHECK(request.back() == "real");
    send_raw(worker, request);
    REQUIRE(test::recv_within(client, m));
    CHECK(test::strings(m) == S{"real"});
    CHECK(q.process->running());
}

TEST_CASE("through spqueue, two workers, one hangs on its first request: the client still completes") {
    Queue q;
    zmq::context_t ctx;
    // The hanging worker registers first, so the least-recently-used rule gives it the first request.
    auto hung = connected(ctx, zmq::socket_type::req, q.backend);
    send_raw(hung, {READY});
    REQUIRE(q.workers_ready(1));
    auto good = spworker(q.backend);
    REQUIRE(q.workers_ready(2));

    auto client = echo_client(ctx, q.frontend, {200ms, 5});
    auto first = client.request("1");
    REQUIRE(first.ok());
    CHECK(first.attempts == 2);  // the first attempt went to the hung worker
    for (int i = 2; i <= 5; ++i) CHECK(client.request(std::to_string(i)).ok());
    Frames m;
    CHECK(test::recv_within(hung, m, 1000ms));  // it did get (and sit on) a request
}

TEST_CASE("through spqueue, spworker --hang-after and a healthy spworker: every request completes") {
    Queue q;
    auto hanging = spworker(q.backend, {"--hang-after", "1"});
    auto healthy = spworker(q.backend);
    REQUIRE(q.workers_ready(2));
    zmq::context_t ctx;
    auto client = echo_client(ctx, q.frontend, {200ms, 5});
    for (int i = 1; i <= 8; ++i) REQUIRE(client.request(std::to_string(i)).ok());
    CHECK(client.stats().retries >= 1);
    CHECK(hanging->wait_for("simulating a hang"));
    CHECK(hanging->running());
}

TEST_CASE("through spqueue, spworker --drop-every and --crash-after: clients retry and complete") {
    Queue q;
    auto dropping = spworker(q.backend, {"--drop-every", "2"});
    auto crashing = spworker(q.backend, {"--crash-after", "1"});
    REQUIRE(q.workers_ready(2));
    zmq::context_t ctx;
    auto client = echo_client(ctx, q.frontend, {200ms, 10});
    for (int i = 1; i <= 8; ++i) REQUIRE(client.request(std::to_string(i)).ok());
    CHECK(dropping->wait_for("dropped"));
    CHECK(crashing->wait_exit(5000ms).has_value());
}

TEST_CASE("spqueue: an idle worker killed with -9 is forgotten - the client completes on the other") {
    Queue q;
    auto doomed = spworker(q.backend);
    REQUIRE(q.workers_ready(1));
    auto survivor = spworker(q.backend);
    REQUIRE(q.workers_ready(2));
    doomed->kill9();
    REQUIRE(doomed->wait_exit().has_value());
    zmq::context_t ctx;
    auto client = echo_client(ctx, q.frontend, {300ms, 5});
    for (int i = 1; i <= 4; ++i) REQUIRE(client.request(std::to_string(i)).ok());
    CHECK(q.process->running());
}

TEST_CASE("spqueue killed with -9 and restarted on the same endpoints while clients retry") {
    auto q = std::make_unique<Queue>();
    const std::string frontend = q->frontend, backend = q->backend;
    // Slow workers (20 ms a request) keep the traffic going long enough to kill the queue in the middle of
    // it.
    auto w1 = spworker(backend, {"--slow-after", "1", "--delay-ms", "20"});
    auto w2 = spworker(backend, {"--slow-after", "1", "--delay-ms", "20"});
    REQUIRE(q->workers_ready(2));

    std::vector<std::unique_ptr<test::Process>> clients;
    for (int c = 0; c < 2; ++c)
        clients.push_back(std::make_unique<test::Process>(
            "lpclient", std::vector<std::string>{"--connect", frontend, "--timeout-ms", "100", "--retries",
                                                 "200", "--requests", "30"}));
    for (auto& c : clients) REQUIRE(c->wait_for("3 ok"));

    q->process->kill9();
    REQUIRE(q->process->wait_exit().has_value());
    // The clients are now retrying against nothing.
    for (auto& c : clients) REQUIRE(c->wait_for("retrying"));
    for (auto& c : clients) CHECK(c->count(" ok ") < 30);

    q = std::make_unique<Queue>(frontend, backend);
    CHECK(q->frontend == frontend);
    CHECK(q->backend == backend);

    for (auto& c : clients) {
        auto code = c->wait_exit(30000ms);
        REQUIRE(code.has_value());
        CHECK(*code == 0);
        REQUIRE(c->wait_for("done:"));  // its last line: all its output has been read
        CHECK(c->count(" ok ") == 30);
        CHECK(c->count("gave-up") == 0);
    }
    // The workers noticed the lost connection and registered with the new queue.
    CHECK(w1->wait_for("lost the queue"));
    CHECK(w2->wait_for("lost the queue"));
}

TEST_CASE("spqueue and spworker: --help, bad flags, clean stop on SIGTERM and SIGINT") {
    for (const char* exe : {"spqueue", "spworker"}) {
        test::Process help(exe, {"--help"});
        CHECK(help.wait_exit() == 0);
    }
    {
        test::Process help("spqueue", {"--help"});
        CHECK(help.wait_exit() == 0);
        CHECK(help.wait_for("--max-message-bytes BYTES"));
        CHECK(help.wait_for("--max-queue-bytes BYTES"));
        CHECK(help.wait_for("--hwm N"));
    }
    {
        test::Process bad("spqueue", {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*",
                                      "--max-queue-bytes", "lots"});
        CHECK(bad.wait_exit() == 2);
    }
    {
        test::Process bad("spqueue", {"--frontend", "tcp://127.0.0.1:*"});  // --backend missing
        CHECK(bad.wait_exit() == 2);
    }
    {
        test::Process bad("spworker", {"--connect", "nowhere"});
        CHECK(bad.wait_exit() == 2);
    }
    {
        test::Process bad("spworker", {"--connect", "tcp://127.0.0.1:1", "--slow-after", "1"});
        CHECK(bad.wait_exit() == 2);  // --slow-after without --delay-ms
    }
    for (int sig : {SIGTERM, SIGINT}) {
        Queue q;
        auto w = spworker(q.backend);
        REQUIRE(w->wait_for("worker ready"));
        w->signal(sig);
        CHECK(w->wait_exit() == 0);
        q.process->signal(sig);
        CHECK(q.process->wait_exit() == 0);
    }
}

TEST_CASE(
    "spqueue --max-message-bytes: a client or worker that sends a larger message is dropped, others served") {
    Queue q("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", {"--max-message-bytes", "64K"});
    auto w = spworker(q.backend);
    REQUIRE(q.workers_ready(1));
    zmq::context_t ctx;
    const std::string over(64 * 1024 + 1, 'x');

    // A client: its connection is closed by libzmq in the queue.
    zmq::socket_t big_client(ctx, zmq::socket_type::dealer);
    big_client.set(zmq::sockopt::linger, 0);
    test::DisconnectWatch client_watch(ctx, big_client);
    big_client.connect(q.frontend);
    send_raw(big_client, {"", over});
    CHECK(client_watch.wait(1, 5s));

    // A worker (a hand-made one, on the backend): the same.
    zmq::socket_t big_worker(ctx, zmq::socket_type::dealer);
    big_worker.set(zmq::sockopt::linger, 0);
    test::DisconnectWatch worker_watch(ctx, big_worker);
    big_worker.connect(q.backend);
    send_raw(big_worker, {"", over});
    CHECK(worker_watch.wait(1, 5s));

    // The real worker still serves the other clients, a message exactly at the bound included.
    auto client = echo_client(ctx, q.frontend, {5000ms, 3});
    const std::string at_bound(64 * 1024 - 16, 'y');  // the queue adds no bytes to the body frame
    auto outcome = client.request(at_bound);
    REQUIRE(outcome.ok());
    CHECK(outcome.reply[0].to_string() == at_bound);
    CHECK(client.request("small").ok());
    CHECK(q.process->running());
}

TEST_CASE(
    "spqueue: a client that sends big requests and never reads a reply: memory stays bounded by the hwm") {
    constexpr std::size_t mib = std::size_t{1} << 20;
    constexpr int hwm = 10;
    constexpr int requests = 150;
    test::SmallAsanQuarantine small_quarantine;  // sanitizer build: the child's RSS is what it holds
    Queue q("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", {"--hwm", std::to_string(hwm)});
    auto w = spworker(q.backend);
    REQUIRE(q.workers_ready(1));
    zmq::context_t ctx;
    auto flood = test::flood_without_reading(ctx, q.frontend, requests, mib, *q.process);
    CHECK(flood.sent == requests);

    // Another client is still served (its request waits its turn for the worker behind the flood's).
    auto client = echo_client(ctx, q.frontend, {10000ms, 2});
    CHECK(client.request("still there?").ok());

    // In the queue: the client's inbound pipe (hwm requests), its outbound pipe (hwm replies), one request
    // and one reply on the worker's connection, the messages being read and written: about 2 x hwm x 1 MiB.
    // Allowed: 3 x hwm x 1 MiB over the RSS before the flood, plus 32 MiB for the allocator, plus ASan's
    // quarantine in a sanitizer build.
    const std::size_t bound = flood.base_rss + 3 * hwm * mib + 32 * mib + test::allocator_slack();
    const std::size_t after = q.process->rss_bytes();
    MESSAGE("spqueue RSS: before " << flood.base_rss / 1024 << " KiB, peak sampled " << flood.max_rss / 1024
                                   << " KiB, after " << after / 1024 << " KiB, bound " << bound / 1024
                                   << " KiB");
    CHECK(flood.max_rss < bound);
    CHECK(after < bound);

    q.process->signal(SIGTERM);
    REQUIRE(q.process->wait_exit() == 0);
    REQUIRE(q.process->wait_for("to clients not reading)"));
    CHECK(test::number_before(q.process->output(), "to clients not reading)") > 0);
}
