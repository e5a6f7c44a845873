// A real pair of bstarsrv processes, their state channel through a test-owned proxy (state_proxy.hpp), and
// the fail-over client library: fail-over on kill -9, restart without take-over, backup loss, split-brain.
#include <doctest/doctest.h>
#include <pirates/binary_star/client.hpp>
#include <pirates/common/signals.hpp>

#include "pair.hpp"
#include "state_proxy.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>
#include <memory>
#include <thread>

using namespace pirates;
using namespace pirates::binary_star;
using namespace pirates::test;
using namespace std::chrono_literals;

TEST_CASE(
    "kill -9 the primary: requests go through the backup, the primary restarts passive and does not take "
    "over") {
    Pair pair;
    Client client(pair.context, pair.client_config());
    for (int i = 0; i < 5; ++i) {
        auto r = client.request(std::string("before-") + std::to_string(i));
        REQUIRE(r.ok());
        CHECK(r->server == 0);
        CHECK(r.attempts == 1);
        CHECK(strings(r->body) == std::vector<std::string>{"before-" + std::to_string(i)});
    }

    pair.primary->kill9();
    const TimePoint killed = Clock::now();
    auto r = client.request(std::string("after"));
    const auto took = std::chrono::duration_cast<Duration>(Clock::now() - killed);
    REQUIRE(r.ok());
    CHECK(r->server == 1);
    CHECK(strings(r->body) == std::vector<std::string>{"after"});
    MESSAGE("fail-over: first reply through the backup "
            << took.count() << " ms after kill -9 (client timeout " << client_timeout.count()
            << " ms, heartbeat " << hb.count() << " ms, settle " << settle.count() << " ms, " << r.attempts
            << " attempts)");
    CHECK(took < client_timeout + 2 * hb + slack);
    CHECK(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
    for (int i = 0; i < 5; ++i) {  // and it stays there
        auto again = client.request(std::string("next"));
        REQUIRE(again.ok());
        CHECK(again->server == 1);
        CHECK(again.attempts == 1);
    }

    // The primary comes back on the same endpoints: it hears an ACTIVE peer and becomes passive.
    REQUIRE(pair.primary->wait_exit().has_value());
    pair.primary =
        start_server("--primary", pair.primary_frontend, pair.primary_pub, pair.proxy.primary_state_sub());
    REQUIRE(pair.primary->wait_for("state PRIMARY -> PASSIVE on PEER_ACTIVE"));
    // A client asking the restarted primary directly is refused (no answer): no fail-back while the backup is
    // up.
    zmq::socket_t direct(pair.context, zmq::socket_type::req);
    direct.set(zmq::sockopt::linger, 0);
    direct.connect(pair.primary_frontend);
    direct.send(frame("fail-back?"), zmq::send_flags::none);
    Frames none;
    CHECK_FALSE(recv_within(direct, none, 10 * hb));
    for (int i = 0; i < 5; ++i) {
        auto again = client.request(std::string("still-backup"));
        REQUIRE(again.ok());
        CHECK(again->server == 1);
    }
    CHECK(pair.primary->count("-> ACTIVE") == 0);
    CHECK(pair.primary->running());
    CHECK(pair.backup->running());
    CHECK(pair.backup->count("fatal") == 0);
    CHECK(pair.proxy.last_state(StateProxy::primary_to_backup) == 4);  // the primary publishes PASSIVE
    CHECK(pair.proxy.last_state(StateProxy::backup_to_primary) == 3);  // the backup publishes ACTIVE

    // And now the backup dies: the restarted primary takes over in turn.
    pair.backup->kill9();
    auto back = client.request(std::string("back-to-primary"));
    REQUIRE(back.ok());
    CHECK(back->server == 0);
    CHECK(pair.primary->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
}

TEST_CASE("kill -9 the backup: the primary carries on, active, answering at the first attempt") {
    Pair pair;
    Client client(pair.context, pair.client_config());
    REQUIRE(client.request(std::string("one")).ok());
    pair.backup->kill9();
    REQUIRE(pair.backup->wait_exit().has_value());
    // Well past the backup's expiry (2 heartbeats), many times over.
    const TimePoint until_ = Clock::now() + 20 * hb;
    int n = 0;
    while (Clock::now() < until_ || n < 10) {
        auto r = client.request(std::string("req-") + std::to_string(++n));
        REQUIRE(r.ok());
        CHECK(r->server == 0);
        CHECK(r.attempts == 1);
    }
    CHECK(pair.primary->running());
    // "state PRIMARY (...)" at start, then "state PRIMARY -> ACTIVE", and no more.
    CHECK(pair.primary->count("state ") == 2);
    CHECK(pair.proxy.last_state(StateProxy::primary_to_backup) == 3);
}

TEST_CASE(
    "split-brain: with the state channel cut and clients on the primary only, the backup never goes active") {
    Pair pair;
    ClientConfig config = pair.client_config();
    config.connect = {pair.primary_frontend};  // the clients reach the primary only
    // One server, so a second attempt can only mean the primary dropped a request: give a slow (sanitizer,
    // loaded) answer time enough not to look like one.
    config.timeout = 2 * slack;
    Client client(pair.context, config);
    REQUIRE(client.request(std::string("warm-up")).ok());

    pair.proxy.cut_both(true);
    const long heard = pair.proxy.seen(StateProxy::backup_to_primary);
    // Keep the clients busy for many peer expiries (2 heartbeats each) with the pair deaf to each other.
    const TimePoint until_ = Clock::now() + 30 * hb;
    int n = 0;
    while (Clock::now() < until_ || n < 20) {
        auto r = client.request(std::string("cut-") + std::to_string(++n));
        REQUIRE(r.ok());
        CHECK(r.attempts == 1);
        CHECK(pair.proxy.last_state(StateProxy::backup_to_primary) == 4);  // the backup still says PASSIVE
    }
    // The backup kept publishing all along (so it is alive and we did watch it), and stayed passive.
    CHECK(pair.proxy.seen(StateProxy::backup_to_primary) > heard + 5);
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(pair.primary->count("state ") == 2);

    // Heal the channel: nothing changes, nobody dies.
    pair.proxy.cut_both(false);
    const long forwarded = pair.proxy.forwarded(StateProxy::backup_to_primary);
    REQUIRE(eventually([&] { return pair.proxy.forwarded(StateProxy::backup_to_primary) > forwarded + 3; }));
    REQUIRE(client.request(std::string("healed")).ok());
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(pair.primary->running());
    CHECK(pair.backup->running());
}

TEST_CASE("what Binary Star cannot prevent: clients reaching the backup while the state channel is cut") {
    // The documented limit: a partition that separates the servers from each other but not from the clients
    // makes two actives. The pair can only detect it once the channel heals, and stops (fatal: dual actives).
    Pair pair;
    pair.proxy.cut_both(true);
    ClientConfig config = pair.client_config();
    config.connect = {pair.backup_frontend};
    Client to_backup(pair.context, config);
    auto r = to_backup.request(std::string("partitioned"));
    REQUIRE(r.ok());
    CHECK(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
    pair.proxy.cut_both(false);
    // Each hears an ACTIVE peer: at least one of them stops with the fatal error, exit code 1.
    REQUIRE(eventually([&] { return !pair.primary->running() || !pair.backup->running(); }, 10000ms));
    // (The output reader may lag behind the exit: wait for the line rather than count it at once.)
    CHECK(eventually([&] {
        return pair.primary->count("fatal: dual actives") + pair.backup->count("fatal: dual actives") >= 1;
    }));
    if (!pair.primary->running()) CHECK(pair.primary->wait_exit() == 1);
    if (!pair.backup->running()) CHECK(pair.backup->wait_exit() == 1);
}

TEST_CASE(
    "a passive backup stopped (SIGSTOP) for 10 heartbeats, a client request waiting for it: when it resumes "
    "it "
    "does not take over (its own stall is not the peer's silence)") {
    Pair pair;
    zmq::socket_t dealer(pair.context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    // The client's connection is up (handshake done) before the stall: its request waits in the backup's
    // socket buffer, next to the primary's states.
    const std::string monitor = "inproc://stall-test-dealer";
    REQUIRE(zmq_socket_monitor(dealer.handle(), monitor.c_str(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0);
    zmq::socket_t events(pair.context, zmq::socket_type::pair);
    events.set(zmq::sockopt::linger, 0);
    events.connect(monitor);
    dealer.connect(pair.backup_frontend);
    Frames event;
    REQUIRE(recv_within(events, event));

    pair.backup->signal(SIGSTOP);
    const long sent_before = pair.proxy.forwarded(StateProxy::primary_to_backup);
    make_frames({"", "while-stopped"}).send(dealer);
    // Ten of the primary's heartbeats go to the stopped backup (the peer expiry is two).
    REQUIRE(
        eventually([&] { return pair.proxy.forwarded(StateProxy::primary_to_backup) >= sent_before + 10; }));
    pair.backup->signal(SIGCONT);
    const long published = pair.proxy.seen(StateProxy::backup_to_primary);
    CHECK(eventually([&] { return pair.proxy.seen(StateProxy::backup_to_primary) > published + 5; }));
    CHECK(pair.backup->wait_for("stalled for more than a heartbeat"));
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(pair.proxy.last_state(StateProxy::backup_to_primary) == 4);  // still PASSIVE
    Frames reply;
    CHECK_FALSE(recv_within(dealer, reply, 0ms));  // refused: not answered
    CHECK(pair.primary->running());
    CHECK(pair.backup->running());
    // The pair still serves through the primary, and fails over when it really dies.
    Client client(pair.context, pair.client_config());
    auto r = client.request(std::string("after-stall"));
    REQUIRE(r.ok());
    CHECK(r->server == 0);
    pair.primary->kill9();
    auto over = client.request(std::string("after-kill"));
    REQUIRE(over.ok());
    CHECK(over->server == 1);
}

TEST_CASE(
    "bstarcli against the pair: every request answered, exit 0, fails over when the primary is killed") {
    Pair pair;
    {
        Process cli("bstarcli",
                    {"--servers", pair.primary_frontend + "," + pair.backup_frontend, "--requests", "5",
                     "--timeout-ms", "500", "--settle-ms", std::to_string(settle.count())});
        REQUIRE(cli.wait_exit(20000ms) == 0);
        REQUIRE(cli.wait_for("reply 5 from"));  // the output reader may lag behind the exit
        CHECK(cli.count("reply ") == 5);
        CHECK(cli.count("from " + pair.primary_frontend + " in ") == 5);
    }
    pair.primary->kill9();
    Process cli("bstarcli", {"--servers", pair.primary_frontend + "," + pair.backup_frontend, "--requests",
                             "3", "--timeout-ms", "300", "--settle-ms", std::to_string(settle.count())});
    REQUIRE(cli.wait_exit(20000ms) == 0);
    REQUIRE(cli.wait_for("reply 3 from"));
    CHECK(cli.count("failing over to " + pair.backup_frontend) >= 1);
    CHECK(cli.count("from " + pair.backup_frontend + " in ") == 3);
}

TEST_CASE(
    "chaos: a primary that crashes by itself after 3 requests, bstarcli carries on through the backup") {
    Pair pair({"--crash-after", "3"});
    Process cli("bstarcli", {"--servers", pair.primary_frontend + "," + pair.backup_frontend, "--requests",
                             "6", "--timeout-ms", "300", "--settle-ms", std::to_string(settle.count())});
    REQUIRE(cli.wait_exit(20000ms) == 0);
    CHECK(pair.primary->wait_exit() == 3);  // crash_now()'s exit code
    REQUIRE(cli.wait_for("reply 6 from"));
    CHECK(cli.count("from " + pair.primary_frontend + " in ") == 3);
    CHECK(cli.count("from " + pair.backup_frontend + " in ") == 3);
    REQUIRE(pair.backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
    CHECK(pair.backup->count("state PASSIVE -> ACTIVE on CLIENT_REQUEST") == 1);
}

TEST_CASE("bstarcli gives up as a value: no server, exit 1 with the reason") {
    zmq::context_t context(1);
    zmq::socket_t a(context, zmq::socket_type::router), b(context, zmq::socket_type::router);
    // Two ROUTERs that never answer stand for two unresponsive servers.
    const std::string ea = bind_loopback(a), eb = bind_loopback(b);
    Process cli("bstarcli", {"--servers", ea + "," + eb, "--requests", "1", "--timeout-ms", "50",
                             "--settle-ms", "10", "--attempts", "3"});
    REQUIRE(cli.wait_exit(20000ms) == 1);
    CHECK(cli.wait_for("no reply after 3 attempts, giving up"));  // the output reader may lag behind the exit

    ClientConfig config;
    config.connect = {ea, eb};
    config.timeout = 50ms;
    config.settle = 10ms;
    config.attempts = 4;
    Client client(context, config);
    std::vector<std::size_t> switches;
    client.on_switch = [&](std::size_t, std::size_t to) { switches.push_back(to); };
    auto r = client.request(std::string("anyone?"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status == Status::gave_up);
    CHECK(r.reason == "no reply after 4 attempts");
    CHECK(r.attempts == 4);
    CHECK(switches == std::vector<std::size_t>{1, 0, 1});  // alternates over the pair
}

TEST_CASE("bstarsrv: exactly one of --primary/--backup (else exit 2), clean exit 0 on SIGTERM") {
    const std::vector<std::string> rest = {"--frontend",        "tcp://127.0.0.1:*", "--state-pub",
                                           "tcp://127.0.0.1:*", "--state-sub",       "tcp://127.0.0.1:1"};
    {
        Process neither("bstarsrv", rest);
        CHECK(neither.wait_exit() == 2);
        CHECK(neither.wait_for("exactly one of --primary and --backup"));
    }
    {
        auto args = rest;
        args.insert(args.begin(), {"--primary", "--backup"});
        Process both("bstarsrv", args);
        CHECK(both.wait_exit() == 2);
    }
    {
        Process bad("bstarsrv", {"--primary", "--frontend", "nowhere"});
        CHECK(bad.wait_exit() == 2);
    }
    {
        Process cli("bstarcli", {"--servers", "tcp://127.0.0.1:1,tcp://127.0.0.1:2,tcp://127.0.0.1:3"});
        CHECK(cli.wait_exit() == 2);
    }
    auto args = rest;
    args.insert(args.begin(), "--backup");
    Process srv("bstarsrv", args);
    REQUIRE(srv.wait_for("state BACKUP"));
    srv.signal(SIGTERM);
    CHECK(srv.wait_exit() == 0);
}

TEST_CASE(
    "Client: a silent server is left after the timeout and the settle delay, the next requests stay put") {
    zmq::context_t context(1);
    zmq::socket_t silent(context, zmq::socket_type::router);
    zmq::socket_t echo(context, zmq::socket_type::rep);
    silent.set(zmq::sockopt::linger, 0);
    echo.set(zmq::sockopt::linger, 0);
    const std::string es = bind_loopback(silent), ee = bind_loopback(echo);
    std::thread server([&] {
        for (int i = 0; i < 3; ++i) {
            Frames m;
            if (!recv_within(echo, m, 10000ms)) return;
            m.send(echo);
        }
    });
    ClientConfig config;
    config.connect = {es, ee};
    config.timeout = 100ms;
    config.settle = 50ms;
    Client client(context, config);
    int switches = 0;
    client.on_switch = [&](std::size_t from, std::size_t to) {
        ++switches;
        CHECK(from == 0);
        CHECK(to == 1);
    };
    const TimePoint start = Clock::now();
    auto r = client.request(make_frames({"two", "frames"}));
    const auto took = Clock::now() - start;
    REQUIRE(r.ok());
    CHECK(strings(r->body) == std::vector<std::string>{"two", "frames"});
    CHECK(r->server == 1);
    CHECK(r.attempts == 2);
    CHECK(took >= config.timeout + config.settle);  // it did wait out the timeout, then settled
    CHECK(switches == 1);
    Frames swallowed;  // the silent server did get the first attempt
    CHECK(recv_within(silent, swallowed, 1000ms));
    for (int i = 0; i < 2; ++i) {
        auto again = client.request(std::string("again"));
        REQUIRE(again.ok());
        CHECK(again->server == 1);
        CHECK(again.attempts == 1);
    }
    CHECK(switches == 1);
    server.join();
}

TEST_CASE("Client: a settle delay longer than the timeout does not eat into the attempt after the switch") {
    // The resend's timeout counts from when it is sent (after the settle), not from when the first attempt
    // timed out: with settle > timeout the second server still gets a whole attempt.
    zmq::context_t context(1);
    zmq::socket_t silent(context, zmq::socket_type::router);
    zmq::socket_t echo(context, zmq::socket_type::rep);
    silent.set(zmq::sockopt::linger, 0);
    echo.set(zmq::sockopt::linger, 0);
    const std::string es = bind_loopback(silent), ee = bind_loopback(echo);
    std::thread server([&] {
        Frames m;
        if (recv_within(echo, m, 10000ms)) m.send(echo);
    });
    ClientOptions options;
    options.connect = {es, ee};
    options.timeout = 500ms;
    options.settle = 1000ms;
    options.attempts = 2;
    Client client(context, options);
    auto r = client.request(std::string("late but whole"));
    server.join();
    REQUIRE(r.ok());
    CHECK(r->server == 1);
    CHECK(r.attempts == 2);
    CHECK(client.stats().retries == 1);
    CHECK(client.stats().replies == 1);
}

TEST_CASE("Client: request_stop() from another thread cuts the wait or the settle short with `interrupted`") {
    zmq::context_t context(1);
    zmq::socket_t a(context, zmq::socket_type::router), b(context, zmq::socket_type::router);
    const std::string ea = bind_loopback(a), eb = bind_loopback(b);
    ClientOptions options;
    options.connect = {ea, eb};
    options.timeout = 200ms;
    options.settle = 20000ms;
    options.attempts = 0;  // never give up: only the stop ends this request
    Client client(context, options);
    std::thread stopper([&] {
        Frames m;
        recv_within(a, m, 10000ms);  // the request is out: the client waits, or settles
        client.request_stop();
    });
    const TimePoint start = Clock::now();
    auto r = client.request(std::string("anyone?"));
    stopper.join();
    CHECK(r.status == Status::interrupted);
    CHECK(Clock::now() - start < 10000ms);  // neither the settle nor the endless attempts were waited out
    CHECK(client.stats().interrupted == 1);
    CHECK_FALSE(pirates::stop_requested());  // the client's own stop, not the process's
    // Stopped for good: the next request returns at once and sends nothing.
    auto next = client.request(std::string("more?"));
    CHECK(next.status == Status::interrupted);
    CHECK(next.attempts == 0);
    Frames none;
    CHECK_FALSE(recv_within(a, none, 100ms));
    CHECK_FALSE(recv_within(b, none, 100ms));
}
