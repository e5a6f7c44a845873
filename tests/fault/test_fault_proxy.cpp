// The fault proxy itself, with raw TCP sockets on both sides: each fault does what it says, and only that.
#include <doctest/doctest.h>

#include "support/fault_proxy.hpp"
#include "support/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

using namespace pirates;
using namespace pirates::test;
using namespace std::chrono_literals;
using Dir = FaultProxy::Direction;

namespace {

// A descriptor closed on scope exit.
struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
    Fd& operator=(Fd&& o) noexcept {
        std::swap(fd, o.fd);
        return *this;
    }
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// A target: a listening socket on 127.0.0.1, OS-chosen port.
struct Target {
    Fd listener{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    int port = 0;
    Target() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener.fd, 16) == 0);
        socklen_t len = sizeof a;
        ::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port); }
    // The next relayed connection, within `timeout` (-1 on timeout).
    Fd accept(Duration timeout = 5000ms) {
        pollfd p{listener.fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return Fd{};
        return Fd{::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC)};
    }
};

Fd connect_to(int port) {
    Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    return s;
}

void send_all(const Fd& s, const std::string& bytes) {
    REQUIRE(::send(s.fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
}

// Read until `want` bytes arrived, the peer closed, or `timeout` passed.
std::string read_some(const Fd& s, std::size_t want, Duration timeout = 5000ms) {
    std::string got;
    const TimePoint deadline = Clock::now() + timeout;
    char buf[65536];
    while (got.size() < want) {
        pollfd p{s.fd, POLLIN, 0};
        const auto left = until(Clock::now(), deadline);
        if (left.count() == 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) break;
        const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

// Whether the peer closed within `timeout` (recv returns 0 or an error).
bool closed_within(const Fd& s, Duration timeout = 5000ms) {
    const TimePoint deadline = Clock::now() + timeout;
    char buf[4096];
    for (;;) {
        pollfd p{s.fd, POLLIN, 0};
        const auto left = until(Clock::now(), deadline);
        if (left.count() == 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
        if (::recv(s.fd, buf, sizeof buf, 0) <= 0) return true;
    }
}

// A connection through the proxy: the client's end and the target's end.
struct Link {
    Fd client, server;
};

Link open_link(FaultProxy& proxy, Target& target) {
    Link l{connect_to(proxy.port()), Fd{}};
    l.server = target.accept();
    REQUIRE(l.server.fd >= 0);
    return l;
}

}  // namespace

TEST_CASE("fault proxy: relays both ways and counts bytes and connections") {
    Target target;
    FaultProxy proxy(target.address());
    CHECK(proxy.endpoint() == "tcp://127.0.0.1:" + std::to_string(proxy.port()));
    auto link = open_link(proxy, target);
    send_all(link.client, "hello");
    CHECK(read_some(link.server, 5) == "hello");
    send_all(link.server, "world!");
    CHECK(read_some(link.client, 6) == "world!");
    CHECK(eventually([&] {
        const auto c = proxy.counters();
        return c.written[0] == 5 && c.written[1] == 6 && c.read[0] == 5 && c.read[1] == 6 &&
               c.accepted == 1 && c.open == 1;
    }));
    // A close on one side closes the other.
    link.client = Fd{};
    CHECK(closed_within(link.server));
    CHECK(eventually([&] { return proxy.counters().open == 0; }));
}

TEST_CASE("fault proxy: the target may be given later, until then connections are closed at once") {
    FaultProxy proxy;
    auto early = connect_to(proxy.port());
    CHECK(closed_within(early));
    CHECK(eventually([&] { return proxy.counters().refused == 1; }));
    Target target;
    proxy.set_target("tcp://" + target.address());
    auto link = open_link(proxy, target);
    send_all(link.client, "late");
    CHECK(read_some(link.server, 4) == "late");
}

TEST_CASE("fault proxy: drop is a blackhole in one direction, the connection stays open, heal resumes it") {
    Target target;
    FaultProxy proxy(target.address());
    auto link = open_link(proxy, target);
    proxy.drop(Dir::to_target);
    send_all(link.client, "lost");
    send_all(link.server, "back");
    CHECK(read_some(link.client, 4) == "back");  // the other direction still passes
    CHECK(read_some(link.server, 1, 300ms).empty());
    CHECK(eventually([&] { return proxy.counters().dropped[0] == 4; }));
    // The peer that closes during the blackhole is not reported: the other side sees silence.
    proxy.drop(Dir::both);
    CHECK(proxy.faults(Dir::to_client).drop);
    proxy.heal();
    CHECK_FALSE(proxy.faults(Dir::to_target).drop);
    send_all(link.client, "again");
    CHECK(read_some(link.server, 5) == "again");
    CHECK(proxy.counters().accepted == 1);

    proxy.drop();
    link.client = Fd{};
    CHECK_FALSE(closed_within(link.server, 300ms));
    CHECK(proxy.counters().open == 1);
    proxy.heal();  // now the close goes through
    CHECK(closed_within(link.server));
}

TEST_CASE("fault proxy: delay holds the bytes at least that long, in order") {
    Target target;
    FaultProxy proxy(target.address());
    auto link = open_link(proxy, target);
    proxy.delay(200ms, Dir::to_client);
    const TimePoint sent = Clock::now();
    send_all(link.server, "ab");
    send_all(link.server, "cd");
    CHECK(read_some(link.client, 4) == "abcd");
    CHECK(Clock::now() - sent >= 200ms);
    send_all(link.client, "x");  // the other direction is not delayed (no upper bound asserted: CI is slow)
    CHECK(read_some(link.server, 1) == "x");
}

TEST_CASE("fault proxy: cut closes every connection, with refuse, new ones too until heal") {
    Target target;
    FaultProxy proxy(target.address());
    auto a = open_link(proxy, target);
    auto b = open_link(proxy, target);
    CHECK(eventually([&] { return proxy.counters().open == 2; }));
    proxy.cut();
    CHECK(proxy.counters().cut == 2);
    for (auto* l : {&a, &b}) {
        CHECK(closed_within(l->client));
        CHECK(closed_within(l->server));
    }
    auto c = open_link(proxy, target);  // plain cut: new connections go through
    send_all(c.client, "c");
    CHECK(read_some(c.server, 1) == "c");

    proxy.cut(true);
    CHECK(closed_within(c.client));
    auto refused = connect_to(proxy.port());
    CHECK(closed_within(refused));
    CHECK(target.accept(200ms).fd < 0);
    CHECK(eventually([&] { return proxy.counters().refused >= 1; }));
    proxy.heal();
    auto d = open_link(proxy, target);
    send_all(d.client, "d");
    CHECK(read_some(d.server, 1) == "d");
}

TEST_CASE("fault proxy: throttle passes at most that many bytes a second") {
    Target target;
    FaultProxy proxy(target.address());
    auto link = open_link(proxy, target);
    proxy.throttle(20000, Dir::to_target);  // 20 KB/s, bursts of 1 KB
    const std::string payload(6000, 'x');
    const TimePoint sent = Clock::now();
    send_all(link.client, payload);
    CHECK(read_some(link.server, payload.size(), 10000ms) == payload);
    // 6000 bytes at 20000 B/s with a 1000-byte burst: at least 250 ms.
    CHECK(Clock::now() - sent >= 240ms);
}

TEST_CASE("fault proxy: corrupt flips every Nth byte and only those, a probability flips about that many") {
    Target target;
    FaultProxy proxy(target.address());
    auto link = open_link(proxy, target);
    proxy.corrupt_every(4, Dir::to_target);
    send_all(link.client, std::string(12, 'a'));
    const std::string got = read_some(link.server, 12);
    REQUIRE(got.size() == 12);
    for (std::size_t i = 0; i < got.size(); ++i)
        CHECK(got[i] == ((i + 1) % 4 == 0 ? static_cast<char>(~'a') : 'a'));
    CHECK(eventually([&] { return proxy.counters().corrupted[0] == 3; }));

    proxy.pass(Dir::to_target);
    proxy.corrupt(0.5, Dir::to_client, 7);
    const std::string payload(2000, 'b');
    send_all(link.server, payload);
    const std::string back = read_some(link.client, payload.size());
    REQUIRE(back.size() == payload.size());
    const auto flipped =
        static_cast<std::size_t>(std::count(back.begin(), back.end(), static_cast<char>(~'b')));
    CHECK(flipped > 800);
    CHECK(flipped < 1200);
    CHECK(flipped + static_cast<std::size_t>(std::count(back.begin(), back.end(), 'b')) == payload.size());
}
