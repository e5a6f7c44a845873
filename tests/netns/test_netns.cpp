// A Majordomo broker and two workers on three "hosts": network namespaces joined by veth pairs (broker <->
// each worker, and the test's own namespace <-> broker for the client). A worker's link is cut with
// `ip link set down` on its side: the broker expires it, the other worker serves; `ip link set up` and it
// rejoins. Skipped, with a message, where namespaces cannot be made (not root, no `ip netns`).
#include <doctest/doctest.h>

#include <pirates/majordomo/client.hpp>

#include "support/net.hpp"
#include "support/process.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
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

// Three namespaces (b: broker, w1, w2) and veth pairs b<->w1, b<->w2, root<->b, with names unique to this
// process; all removed on destruction (deleting a namespace deletes the veth ends in it, and so their peers).
struct Hosts {
    std::string tag = std::to_string(::getpid() % 100000);
    std::string b = "pfb" + tag, w1 = "pfw1" + tag, w2 = "pfw2" + tag;
    int net = 16 + static_cast<int>(::getpid() % 200);  // 10.<net>.x.y
    std::string error;
    std::vector<std::string> made;

    std::string addr(int link, int host) const {
        return "10." + std::to_string(net) + "." + std::to_string(link) + "." + std::to_string(host);
    }
    // Worker k's veth end, in its namespace.
    std::string worker_if(int k) const { return "pw" + std::to_string(k) + "x" + tag; }

    bool make() {
        if (::geteuid() != 0) return fail("not root");
        if (!run("ip netns list")) return fail("no 'ip netns'");
        for (const auto& ns : {b, w1, w2}) {
            if (!run("ip netns add " + ns)) return fail("ip netns add " + ns + " failed");
            made.push_back(ns);
            run("ip -n " + ns + " link set lo up");
        }
        // link 1: b <-> w1, link 2: b <-> w2, link 3: root <-> b.
        const std::string b1 = "pb1x" + tag, b2 = "pb2x" + tag, b3 = "pb3x" + tag, r3 = "pr3x" + tag;
        return veth(b1, b, worker_if(1), w1, 1) && veth(b2, b, worker_if(2), w2, 2) && veth(b3, b, r3, "", 3);
    }
    // A pair: `a` in namespace `ns_a` gets .1, `c` in `ns_c` (or the root namespace if empty) .2.
    bool veth(const std::string& a, const std::string& ns_a, const std::string& c, const std::string& ns_c,
              int link) {
        if (!run("ip link add " + a + " type veth peer name " + c)) return fail("ip link add veth failed");
        if (!run("ip link set " + a + " netns " + ns_a)) return fail("moving " + a + " failed");
        if (!ns_c.empty() && !run("ip link set " + c + " netns " + ns_c))
            return fail("moving " + c + " failed");
        const std::string in_c = ns_c.empty() ? "ip " : "ip -n " + ns_c + " ";
        if (!run("ip -n " + ns_a + " addr add " + addr(link, 1) + "/24 dev " + a) ||
            !run(in_c + "addr add " + addr(link, 2) + "/24 dev " + c) ||
            !run("ip -n " + ns_a + " link set " + a + " up") || !run(in_c + "link set " + c + " up"))
            return fail("configuring link " + std::to_string(link) + " failed");
        return true;
    }
    bool fail(std::string why) {
        error = std::move(why);
        return false;
    }
    bool set_worker_link(int k, bool up) {
        return run("ip -n " + (k == 1 ? w1 : w2) + " link set " + worker_if(k) + (up ? " up" : " down"));
    }
    ~Hosts() {
        for (const auto& ns : made) run("ip netns del " + ns);
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
    Hosts hosts;
    if (!hosts.make()) {
        MESSAGE("SKIPPED: network namespaces are not available here (" << hosts.error << ")");
        return;
    }
    const std::vector<std::string> timing = {"--heartbeat-ms", "50", "--liveness", "3"};
    auto with = [](std::vector<std::string> a, const std::vector<std::string>& more) {
        a.insert(a.end(), more.begin(), more.end());
        return a;
    };
    // The broker binds every address of its host (one port on all three links).
    auto broker = start_in(hosts.b, "mdbroker", with({"--bind", "tcp://0.0.0.0:*", "-v"}, timing));
    const auto bound = broker->bound_endpoint("broker");
    REQUIRE_FALSE(bound.empty());
    const std::string port = bound.substr(bound.rfind(':') + 1);
    auto worker = [&](int k, const std::string& ns) {
        return start_in(ns, "mdworker",
                        with({"--connect", "tcp://" + hosts.addr(k, 1) + ":" + port, "--service", "echo",
                              "--reconnect-ms", "50", "-v"},
                             timing));
    };
    auto w1 = worker(1, hosts.w1);
    auto w2 = worker(2, hosts.w2);
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
    REQUIRE(hosts.set_worker_link(1, false));
    const TimePoint cut = Clock::now();
    CHECK(broker->wait_for(" expired", slack));
    MESSAGE("worker expired " << std::chrono::duration_cast<Duration>(Clock::now() - cut).count()
                              << " ms after its link went down (heartbeat x liveness 150 ms)");
    pause = false;
    const int answered_at_cut = answered;
    const std::size_t w1_served = w1->count("request ");
    CHECK(eventually([&] { return answered >= answered_at_cut + 20; }, slack));
    CHECK(w1->count("request ") == w1_served);

    REQUIRE(hosts.set_worker_link(1, true));
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
