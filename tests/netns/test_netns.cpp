// A Majordomo broker and two workers on three "hosts", and a Binary Star pair on two: network namespaces joined by veth pairs (broker <->
// each worker, and the test's own namespace <-> broker for the client). A worker's link is cut with
// `ip link set down` on its side: the broker expires it, the other worker serves; `ip link set up` and it
// rejoins. Skipped, with a message, where namespaces cannot be made (not root, no `ip netns`).
#include <doctest/doctest.h>

#include <pirates/binary_star/client.hpp>
#include <pirates/majordomo/client.hpp>

#include "support/net.hpp"
#include "support/process.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>
#include <thread>

using namespace pirates;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {

constexpr Duration slack = 5000ms;

// Run a command (no shell-special characters in it), quietly; whether it succeeded.
bool run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// Namespaces ("hosts") and veth pairs between them, with names and addresses unique to this process (a /30
// per link: 10.<pid>.<link*4 + 1|2>); all removed on destruction (deleting a namespace deletes the veth ends in
// it, and so their peers, the root namespace's included).
struct Hosts {
    std::string tag = std::to_string(::getpid() % 100000);
    std::string error;
    std::vector<std::string> made;

    // The address of side 1 or 2 of link `link`.
    std::string addr(int link, int side) const {
        const int pid = static_cast<int>(::getpid());
        return "10." + std::to_string((pid >> 8) & 255) + "." + std::to_string(pid & 255) + "." +
               std::to_string(link * 4 + side);
    }
    // The veth end of link `link` on side 1 or 2.
    std::string end(int link, int side) const {
        return "pv" + std::to_string(link) + (side == 1 ? "a" : "b") + tag;
    }
    std::string ns(const std::string& name) const { return "pf" + name + tag; }

    bool add_hosts(std::initializer_list<std::string> names) {
        if (::geteuid() != 0) return fail("not root");
        if (!run("ip netns list")) return fail("no 'ip netns'");
        for (const auto& name : names) {
            if (!run("ip netns add " + ns(name))) return fail("ip netns add " + ns(name) + " failed");
            made.push_back(ns(name));
            run("ip -n " + ns(name) + " link set lo up");
        }
        return true;
    }
    // Link `link` between host `one` (side 1) and host `two` (side 2; "" for the test's own namespace).
    bool link(int link, const std::string& one, const std::string& two) {
        const std::string a = end(link, 1), c = end(link, 2);
        if (!run("ip link add " + a + " type veth peer name " + c)) return fail("ip link add veth failed");
        if (!run("ip link set " + a + " netns " + ns(one))) return fail("moving " + a + " failed");
        if (!two.empty() && !run("ip link set " + c + " netns " + ns(two)))
            return fail("moving " + c + " failed");
        const std::string in_a = "ip -n " + ns(one) + " ",
                          in_c = two.empty() ? "ip " : "ip -n " + ns(two) + " ";
        if (!run(in_a + "addr add " + addr(link, 1) + "/30 dev " + a) ||
            !run(in_c + "addr add " + addr(link, 2) + "/30 dev " + c) ||
            !run(in_a + "link set " + a + " up") || !run(in_c + "link set " + c + " up"))
            return fail("configuring link " + std::to_string(link) + " failed");
        return true;
    }
    // Side 2 of `link` (in host `two`, "" for the test's own namespace) down or up.
    bool set_link(int link, const std::string& two, bool up) {
        const std::string in = two.empty() ? "ip " : "ip -n " + ns(two) + " ";
        return run(in + "link set " + end(link, 2) + (up ? " up" : " down"));
    }
    bool fail(std::string why) {
        error = std::move(why);
        return false;
    }
    ~Hosts() {
        for (const auto& n : made) run("ip netns del " + n);
    }
};

// `program` started inside namespace `ns` (ip netns exec replaces itself with the program: same pid).
std::unique_ptr<Process> start_in(const std::string& ns, const std::string& program,
                                  std::vector<std::string> args) {
    std::vector<std::string> a{"netns", "exec", ns, bin_path(program)};
    a.insert(a.end(), args.begin(), args.end());
    return std::make_unique<Process>("/usr/sbin/ip", std::move(a));
}

}  // namespace

TEST_CASE(
    "netns: majordomo broker and workers on three hosts - a worker's link down, expired, back up, rejoins") {
    // Link 1: broker <-> worker 1, link 2: broker <-> worker 2, link 3: broker <-> the test (the client).
    Hosts hosts;
    if (!hosts.add_hosts({"b", "w1", "w2"}) || !hosts.link(1, "b", "w1") || !hosts.link(2, "b", "w2") ||
        !hosts.link(3, "b", "")) {
        MESSAGE("SKIPPED: network namespaces are not available here (" << hosts.error << ")");
        return;
    }
    const std::vector<std::string> timing = {"--heartbeat-ms", "50", "--liveness", "3"};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& more) {
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    // The broker binds every address of its host (one port on all three links).
    auto broker = start_in(hosts.ns("b"), "mdbroker", with({"--bind", "tcp://0.0.0.0:*", "-v"}, timing));
    const auto bound = broker->bound_endpoint("broker");
    REQUIRE_FALSE(bound.empty());
    const std::string port = bound.substr(bound.rfind(':') + 1);
    auto worker = [&](int k, const std::string& ns) {
        return start_in(ns, "mdworker",
                        with({"--connect", "tcp://" + hosts.addr(k, 1) + ":" + port, "--service", "echo",
                              "--reconnect-ms", "50", "-v"},
                             timing));
    };
    auto w1 = worker(1, hosts.ns("w1"));
    auto w2 = worker(2, hosts.ns("w2"));
    REQUIRE(eventually([&] { return broker->count(" ready for 'echo'") >= 2; }, slack));

    std::atomic<bool> stop{false}, pause{false}, paused{false};
    std::atomic<int> sent{0}, answered{0}, wrong{0}, gave_up{0};
    std::thread client_thread([&] {
        zmq::context_t context;
        majordomo::ClientOptions options;
        options.connect = "tcp://" + hosts.addr(3, 1) + ":" + port;  // from the root namespace, link 3
        options.timeout = Duration{300};
        options.attempts = 50;
        majordomo::Client client(context, options);
        for (int i = 0; !stop; ++i) {
            paused = pause.load();
            if (paused) {
                std::this_thread::sleep_for(
                    std::chrono::milliseconds(1));  // parked, not waiting for anything
                continue;
            }
            const std::string body = "ns-" + std::to_string(i);
            ++sent;
            auto outcome = client.request("echo", make_frames({body}));
            if (!outcome)
                ++gave_up;
            else if (outcome.reply.size() == 1 && outcome.reply[0].to_string() == body)
                ++answered;
            else
                ++wrong;
        }
    });
    REQUIRE(eventually([&] { return w1->count("request ") >= 2 && w2->count("request ") >= 2; }, slack));

    // Cut worker 1's host off while the client is parked (the broker expires idle workers by heartbeat).
    pause = true;
    REQUIRE(eventually([&] { return paused.load(); }, slack));
    REQUIRE(hosts.set_link(1, "w1", false));
    const TimePoint cut = Clock::now();
    CHECK(broker->wait_for(" expired", slack));
    MESSAGE("worker expired " << std::chrono::duration_cast<Duration>(Clock::now() - cut).count()
                              << " ms after its link went down (heartbeat x liveness 150 ms)");
    pause = false;
    const int answered_at_cut = answered;
    const std::size_t w1_served = w1->count("request ");
    CHECK(eventually([&] { return answered >= answered_at_cut + 20; }, slack));
    CHECK(w1->count("request ") == w1_served);

    REQUIRE(hosts.set_link(1, "w1", true));
    CHECK(eventually([&] { return broker->count(" ready for 'echo'") >= 3; }, slack));
    CHECK(eventually([&] { return w1->count("request ") >= w1_served + 3; }, slack));
    stop = true;
    client_thread.join();
    MESSAGE("client: " << sent.load() << " sent, " << answered.load() << " answered, " << gave_up.load()
                       << " gave up, " << wrong.load() << " wrong");
    CHECK(wrong == 0);
    CHECK(gave_up == 0);
    CHECK(answered == sent);
    for (auto* p : {w1.get(), w2.get(), broker.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);
    }
}

namespace {

// The state a Binary Star server last logged entering ("" before any).
std::string current_state(const Process& p) {
    const std::string out = p.output();
    const auto at = out.rfind("state ");
    const auto arrow = out.find(" -> ", at == std::string::npos ? 0 : at);
    if (at == std::string::npos || arrow == std::string::npos) return "";
    const auto end = out.find(' ', arrow + 4);
    return out.substr(arrow + 4, end - arrow - 4);
}

}  // namespace

TEST_CASE(
    "netns: binary star pair on two hosts - state link down, then the client's link to the active down") {
    // Link 1: primary <-> backup (the state channel), link 2: primary <-> the test, link 3: backup <-> the test.
    Hosts hosts;
    if (!hosts.add_hosts({"p", "q"}) || !hosts.link(1, "p", "q") || !hosts.link(2, "p", "") ||
        !hosts.link(3, "q", "")) {
        MESSAGE("SKIPPED: network namespaces are not available here (" << hosts.error << ")");
        return;
    }
    // Fixed ports, inside private namespaces where nothing else runs: each server must be told its peer's
    // publisher before the peer has bound.
    auto primary =
        start_in(hosts.ns("p"), "bstarsrv",
                 {"--primary", "--frontend", "tcp://0.0.0.0:5001", "--state-pub", "tcp://0.0.0.0:5003",
                  "--state-sub", "tcp://" + hosts.addr(1, 2) + ":5004", "--heartbeat-ms", "50", "-v"});
    auto backup =
        start_in(hosts.ns("q"), "bstarsrv",
                 {"--backup", "--frontend", "tcp://0.0.0.0:5002", "--state-pub", "tcp://0.0.0.0:5004",
                  "--state-sub", "tcp://" + hosts.addr(1, 1) + ":5003", "--heartbeat-ms", "50", "-v"});
    REQUIRE(primary->wait_for("state PRIMARY -> ACTIVE on PEER_BACKUP", slack));
    REQUIRE(backup->wait_for("state BACKUP -> PASSIVE on PEER_ACTIVE", slack));
    std::atomic<bool> stop{false};
    std::atomic<int> both_active{0}, samples{0};
    std::thread sampler([&] {
        while (!stop) {
            if (current_state(*primary) == "ACTIVE" && current_state(*backup) == "ACTIVE") ++both_active;
            ++samples;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));  // the sampling period, not a wait
        }
    });

    zmq::context_t context;
    binary_star::ClientOptions o;
    o.connect = {"tcp://" + hosts.addr(2, 1) + ":5001", "tcp://" + hosts.addr(3, 1) + ":5002"};
    o.settle = Duration{100};
    o.attempts = 40;
    // While the state link is down, a patient client (tests/fault/test_binary_star.cpp says why); then a quick one.
    o.timeout = Duration{5000};
    binary_star::Client patient(context, o);
    o.timeout = Duration{300};
    binary_star::Client client(context, o);
    auto first = patient.request(std::string("hello"));
    REQUIRE(first.ok());
    CHECK(first->server == 0);

    // The state channel down for 40 heartbeats: the client keeps using the primary; the backup stays passive.
    REQUIRE(hosts.set_link(1, "q", false));
    const TimePoint until_time = Clock::now() + 2000ms;
    int served = 0, elsewhere = 0, retried = 0;
    while (Clock::now() < until_time) {
        auto r = patient.request(std::string("during"));
        REQUIRE(r.ok());
        elsewhere += r->server != 0;
        retried += r.attempts != 1;
        ++served;
    }
    CHECK(elsewhere == 0);
    CHECK(retried == 0);
    REQUIRE(hosts.set_link(1, "q", true));
    CHECK(eventually([&] { return backup->count("PEER_ACTIVE") >= 1 && backup->running(); }, slack));

    // The client's link to the primary down, the state channel up: the backup refuses, no fail-over; the link
    // back up, the same request is answered by the primary.
    REQUIRE(hosts.set_link(2, "", false));
    std::optional<Outcome<binary_star::Answer>> outcome;
    std::thread asker([&] { outcome = client.request(std::string("cut off")); });
    CHECK(eventually([&] { return backup->count("refused a request") >= 2; }, slack));
    REQUIRE(hosts.set_link(2, "", true));
    asker.join();
    REQUIRE(outcome.has_value());
    REQUIRE(outcome->ok());
    CHECK((*outcome)->server == 0);
    CHECK(outcome->attempts >= 3);
    stop = true;
    sampler.join();
    MESSAGE(served << " requests during the state link's cut; answered after " << outcome->attempts
                   << " attempts with the client's link down; " << samples.load() << " state samples");
    CHECK(both_active == 0);
    CHECK(backup->count("-> ACTIVE") == 0);
    CHECK(primary->count("fatal") + backup->count("fatal") == 0);
    for (auto* p : {primary.get(), backup.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);
    }
}
