// lpserver and lpclient as processes: raw frames from docs/protocols.md, chaos flags, exit codes.
#include <doctest/doctest.h>
#include <pirates/lazy_pirate/client.hpp>

#include "support/disconnect_watch.hpp"
#include "support/flood.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>

using namespace pirates;
using namespace std::chrono_literals;

namespace {
std::string dead_endpoint(zmq::context_t& ctx) {
    zmq::socket_t s(ctx, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    std::string ep = test::bind_loopback(s);
    s.unbind(ep);
    return ep;
}
}  // namespace

TEST_CASE(
    "lpserver raw frames: a DEALER speaking REQ's wire format by hand gets its envelope and body back") {
    test::Process server("lpserver", {"--bind", "tcp://127.0.0.1:*"});
    auto ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    zmq::context_t ctx;
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(ep);

    // What a REQ sends for the one-frame request "1": an empty delimiter, then the body.
    auto send_raw = [&](std::vector<std::string> parts) {
        for (std::size_t i = 0; i < parts.size(); ++i)
            dealer.send(zmq::buffer(parts[i]),
                        i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    };
    send_raw({"", "1"});
    Frames reply;
    REQUIRE(test::recv_within(dealer, reply, 5s));
    CHECK(test::strings(reply) == std::vector<std::string>{"", "1"});

    // Binary bodies and several frames come back byte for byte.
    send_raw({"", std::string("\x00\xff\x01", 3), "second"});
    REQUIRE(test::recv_within(dealer, reply, 5s));
    CHECK(test::strings(reply) == std::vector<std::string>{"", std::string("\x00\xff\x01", 3), "second"});

    // An envelope of several frames (a request that crossed a proxy) is kept whole, as REP keeps it.
    send_raw({"hop", "", "body"});
    REQUIRE(test::recv_within(dealer, reply, 5s));
    CHECK(test::strings(reply) == std::vector<std::string>{"hop", "", "body"});

    // Garbage a REP socket would drop: no delimiter, or nothing after it. No answer, and the server lives on.
    send_raw({"no-delimiter"});
    send_raw({""});
    send_raw({"", "after garbage"});
    REQUIRE(test::recv_within(dealer, reply, 5s));
    CHECK(test::strings(reply) == std::vector<std::string>{"", "after garbage"});
    CHECK(server.running());
}

TEST_CASE("lpserver --drop-every: lpclient retries the dropped requests and exits 0") {
    test::Process server("lpserver", {"--bind", "tcp://127.0.0.1:*", "--drop-every", "3"});
    auto ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    test::Process client("lpclient",
                         {"--connect", ep, "--timeout-ms", "150", "--retries", "3", "--requests", "6"});
    auto code = client.wait_exit(20s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    REQUIRE(client.wait_for("done:"));  // its last line: all its output has been read
    for (int i = 1; i <= 6; ++i)
        CHECK(client.output().find(std::to_string(i) + " ok attempts=") != std::string::npos);
    CHECK(client.count("attempts=2") >= 1);  // some request needed a second attempt
    CHECK(client.count("gave-up") == 0);
}

TEST_CASE("lpclient against a plain REP echo server (the Guide's kind of server)") {
    zmq::context_t ctx;
    zmq::socket_t rep(ctx, zmq::socket_type::rep);
    rep.set(zmq::sockopt::linger, 0);
    const std::string ep = test::bind_loopback(rep);
    test::Process client("lpclient", {"--connect", ep, "--timeout-ms", "2000", "--requests", "3"});
    for (int i = 1; i <= 3; ++i) {
        Frames m;
        REQUIRE(test::recv_within(rep, m, 10000ms));
        CHECK(test::strings(m) ==
              std::vector<std::string>{std::to_string(i)});  // one frame, the decimal sequence
        m.send(rep);
    }
    CHECK(client.wait_exit(10000ms) == 0);
    CHECK(client.wait_for("3 ok attempts=1"));
}

TEST_CASE("lpclient against nothing prints gave-up and exits 1") {
    zmq::context_t ctx;
    test::Process client("lpclient",
                         {"--connect", dead_endpoint(ctx), "--timeout-ms", "100", "--retries", "2"});
    auto code = client.wait_exit(20s);
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    CHECK(client.wait_for("1 gave-up attempts=2", 1s));
}

TEST_CASE("lpserver --crash-after: the server exits abruptly, and the client gives up on it") {
    test::Process server("lpserver", {"--bind", "tcp://127.0.0.1:*", "--crash-after", "2"});
    auto ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    test::Process client("lpclient",
                         {"--connect", ep, "--timeout-ms", "150", "--retries", "2", "--requests", "5"});
    auto code = client.wait_exit(20s);
    REQUIRE(code.has_value());
    CHECK(*code == 1);
    CHECK(client.wait_for("2 ok", 1s));
    CHECK(client.wait_for("3 gave-up", 1s));
    auto server_code = server.wait_exit(5s);
    REQUIRE(server_code.has_value());
    CHECK(*server_code != 0);
}

TEST_CASE("lpserver --slow-after/--delay-ms answers late but answers") {
    test::Process server("lpserver",
                         {"--bind", "tcp://127.0.0.1:*", "--slow-after", "1", "--delay-ms", "100"});
    auto ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    zmq::context_t ctx;
    lazy_pirate::ClientOptions options;
    options.check = lazy_pirate::echo_check();
    lazy_pirate::Client client(ctx, ep, {5000ms, 3}, options);
    CHECK(client.request("1").attempts == 1);
    auto late = client.request("2");
    REQUIRE(late.ok());
    CHECK(late.attempts == 1);
    CHECK(server.wait_for("answering 100 ms late"));
}

TEST_CASE("lpserver and lpclient: --help, bad flags, and a clean stop on SIGTERM and SIGINT") {
    {
        test::Process help("lpserver", {"--help"});
        CHECK(help.wait_exit() == 0);
        CHECK(help.wait_for("--drop-every"));
        CHECK(help.wait_for("--max-message-bytes BYTES"));
        CHECK(help.wait_for("--max-queue-bytes BYTES"));
        CHECK(help.wait_for("--hwm N"));
    }
    {
        test::Process help("lpclient", {"--help"});
        CHECK(help.wait_exit() == 0);
        CHECK(help.wait_for("--timeout-ms"));
    }
    {
        test::Process bad("lpserver", {"--bind", "nonsense"});
        CHECK(bad.wait_exit() == 2);
    }
    {
        test::Process bad("lpclient", {"--connect", "tcp://127.0.0.1:1", "--retries", "zero"});
        CHECK(bad.wait_exit() == 2);
    }
    {
        test::Process missing("lpclient", {});
        CHECK(missing.wait_exit() == 2);
    }
    for (int sig : {SIGTERM, SIGINT}) {
        test::Process server("lpserver", {"--bind", "tcp://127.0.0.1:*"});
        REQUIRE(!server.bound_endpoint("server").empty());
        server.signal(sig);
        CHECK(server.wait_exit() == 0);

        zmq::context_t ctx;
        test::Process client("lpclient", {"--connect", dead_endpoint(ctx), "--timeout-ms", "10000"});
        REQUIRE(client.wait_for("client of"));  // signals are installed
        client.signal(sig);
        CHECK(client.wait_exit() == 130);  // a clean stop, but its requests were not all answered
        CHECK(client.wait_for("interrupted"));
    }
}

TEST_CASE(
    "lpserver --max-message-bytes: a client that sends a larger message is dropped, others are served") {
    test::Process server("lpserver", {"--bind", "tcp://127.0.0.1:*", "--max-message-bytes", "64K"});
    auto ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    zmq::context_t ctx;
    zmq::socket_t big(ctx, zmq::socket_type::dealer);
    big.set(zmq::sockopt::linger, 0);
    test::DisconnectWatch watch(ctx, big);
    big.connect(ep);
    const std::string over(64 * 1024 + 1, 'x');
    big.send(zmq::const_buffer{}, zmq::send_flags::sndmore);
    big.send(zmq::buffer(over), zmq::send_flags::none);
    CHECK(watch.wait(1, 5s));  // libzmq in the server closed the connection

    // Another client, with a message exactly at the bound, is served; so is a small one.
    zmq::socket_t good(ctx, zmq::socket_type::dealer);
    good.set(zmq::sockopt::linger, 0);
    good.connect(ep);
    const std::string at_bound(64 * 1024, 'y');
    good.send(zmq::const_buffer{}, zmq::send_flags::sndmore);
    good.send(zmq::buffer(at_bound), zmq::send_flags::none);
    Frames reply;
    REQUIRE(test::recv_within(good, reply, 5s));
    CHECK(test::strings(reply) == std::vector<std::string>{"", at_bound});
    good.send(zmq::const_buffer{}, zmq::send_flags::sndmore);
    good.send(zmq::str_buffer("small"), zmq::send_flags::none);
    REQUIRE(test::recv_within(good, reply, 5s));
    CHECK(test::strings(reply) == std::vector<std::string>{"", "small"});
    CHECK(server.running());
}

TEST_CASE(
    "lpserver: a client that sends big requests and never reads a reply: memory stays bounded by the hwm") {
    constexpr std::size_t mib = std::size_t{1} << 20;
    constexpr int hwm = 10;
    constexpr int requests = 150;                // 150 MiB of replies that the client never takes
    test::SmallAsanQuarantine small_quarantine;  // sanitizer build: the child's RSS is what it holds
    test::Process server("lpserver", {"--bind", "tcp://127.0.0.1:*", "--hwm", std::to_string(hwm)});
    auto ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    zmq::context_t ctx;
    auto flood = test::flood_without_reading(ctx, ep, requests, mib, server);
    CHECK(flood.sent == requests);

    // Another client is served meanwhile.
    zmq::socket_t other(ctx, zmq::socket_type::req);
    other.set(zmq::sockopt::linger, 0);
    other.connect(ep);
    other.send(zmq::str_buffer("still there?"), zmq::send_flags::none);
    Frames reply;
    REQUIRE(test::recv_within(other, reply, 10s));
    CHECK(test::strings(reply) == std::vector<std::string>{"still there?"});

    // The bound: the client's pipe holds hwm replies, its inbound pipe hwm requests, plus the message being
    // read and the one being written: about 2 x hwm x 1 MiB live. Allow 3 x hwm x 1 MiB over the RSS before
    // the flood, plus 32 MiB for the allocator (freed blocks kept in its arenas), plus ASan's quarantine in a
    // sanitizer build. Without the bound (libzmq's default hwm of 1000) the replies of all 150 requests stay.
    const std::size_t bound = flood.base_rss + 3 * hwm * mib + 32 * mib + test::allocator_slack();
    const std::size_t after = server.rss_bytes();
    MESSAGE("lpserver RSS: before " << flood.base_rss / 1024 << " KiB, peak sampled " << flood.max_rss / 1024
                                    << " KiB, after " << after / 1024 << " KiB, bound " << bound / 1024
                                    << " KiB");
    CHECK(flood.max_rss < bound);
    CHECK(after < bound);

    server.signal(SIGTERM);
    REQUIRE(server.wait_exit() == 0);
    REQUIRE(server.wait_for("to clients not reading)"));
    CHECK(test::number_before(server.output(), "to clients not reading)") > 0);  // dropped, counted
}
