// faultproxy: a TCP relay between a listening address and a target that cuts, blackholes, delays, throttles or
// corrupts the bytes on command (tests/support/fault_proxy.hpp). Commands are read from stdin, one a line:
//   drop [DIR]            blackhole: read and discard, connections stay open
//   delay MS [DIR]        hold every byte MS milliseconds
//   throttle BPS [DIR]    at most BPS bytes a second
//   corrupt-every N [DIR] flip every Nth byte
//   corrupt P [DIR]       flip each byte with probability P (0..1)
//   pass [DIR]            clear DIR's faults
//   cut [refuse]          close every connection (and, with refuse, every new one until heal)
//   heal                  every fault off
//   target HOST:PORT      relay new connections there
//   stats                 print the counters
// DIR is to-target, to-client or both (the default). The program runs until SIGINT/SIGTERM (end of stdin does
// not stop it, so it can run in the background).
//   faultproxy --target tcp://127.0.0.1:5555 --listen tcp://127.0.0.1:6666
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>

#include "fault_proxy.hpp"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>
#include <stdexcept>

using namespace pirates;
using pirates::test::FaultProxy;

namespace {

FaultProxy::Direction direction(const std::string& word) {
    if (word.empty() || word == "both") return FaultProxy::Direction::both;
    if (word == "to-target") return FaultProxy::Direction::to_target;
    if (word == "to-client") return FaultProxy::Direction::to_client;
    throw std::invalid_argument("direction is to-target, to-client or both, not '" + word + "'");
}

std::string counters(const FaultProxy& proxy) {
    const auto c = proxy.counters();
    return fmt::format(
        "to-target: read {} written {} dropped {} corrupted {}; to-client: read {} written {} dropped {} "
        "corrupted {}; connections: accepted {} refused {} cut {} open {}",
        c.read[0], c.written[0], c.dropped[0], c.corrupted[0], c.read[1], c.written[1], c.dropped[1],
        c.corrupted[1], c.accepted, c.refused, c.cut, c.open);
}

// One command line; throws std::invalid_argument on a bad one.
void run_command(FaultProxy& proxy, const std::string& line) {
    std::istringstream in(line);
    std::string verb, a, b;
    in >> verb >> a >> b;
    if (verb.empty()) return;
    auto number = [&](const std::string& s) {
        std::size_t used = 0;
        const double v = std::stod(s, &used);
        if (used != s.size() || v < 0) throw std::invalid_argument("not a number >= 0: '" + s + "'");
        return v;
    };
    if (verb == "drop") {
        proxy.drop(direction(a));
    } else if (verb == "delay") {
        proxy.delay(Duration{static_cast<long>(number(a))}, direction(b));
    } else if (verb == "throttle") {
        proxy.throttle(static_cast<std::size_t>(number(a)), direction(b));
    } else if (verb == "corrupt-every") {
        proxy.corrupt_every(static_cast<std::size_t>(number(a)), direction(b));
    } else if (verb == "corrupt") {
        const double p = number(a);
        if (p > 1) throw std::invalid_argument("a probability is 0..1");
        proxy.corrupt(p, direction(b));
    } else if (verb == "pass") {
        proxy.pass(direction(a));
    } else if (verb == "cut") {
        if (!a.empty() && a != "refuse") throw std::invalid_argument("cut [refuse]");
        proxy.cut(a == "refuse");
    } else if (verb == "heal") {
        proxy.heal();
    } else if (verb == "target") {
        proxy.set_target(a);
    } else if (verb == "stats") {
        std::printf("%s\n", counters(proxy).c_str());
        std::fflush(stdout);
        return;
    } else {
        throw std::invalid_argument("unknown command '" + verb + "'");
    }
    log::info("{}", line);
}

}  // namespace

int main(int argc, char** argv) try {
    std::string listen = "tcp://127.0.0.1:*", target;
    CommandLine cli(
        "faultproxy",
        "TCP relay that cuts, blackholes, delays, throttles or corrupts bytes on command (stdin: "
        "drop|delay MS|throttle BPS|corrupt-every N|corrupt P [to-target|to-client|both], pass [DIR], "
        "cut [refuse], heal, target HOST:PORT, stats)");
    cli.endpoint("listen", listen, "TCP endpoint to accept connections on (port * for any)")
        .endpoint("target", target, "TCP endpoint to relay each connection to (or the 'target' command)");
    cli.parse(argc, argv);
    if (listen.rfind("tcp://", 0) != 0 || (!target.empty() && target.rfind("tcp://", 0) != 0))
        cli.fail("--listen and --target are tcp:// endpoints");
    install_stop_signals();

    FaultProxy proxy(target, listen);
    log::info(log::Fields{{"role", "proxy"}, {"endpoint", proxy.endpoint()}}, "bound proxy {}",
              proxy.endpoint());
    std::string pending;
    bool open = true;
    while (!stop_requested()) {
        pollfd p{STDIN_FILENO, POLLIN, 0};
        if (!open || ::poll(&p, 1, 100) != 1) {
            if (!open) ::poll(nullptr, 0, 100);
            continue;
        }
        char buf[4096];
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n <= 0) {
            open = false;  // end of commands: keep relaying until stopped
            continue;
        }
        pending.append(buf, static_cast<std::size_t>(n));
        for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
            const std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            try {
                run_command(proxy, line);
            } catch (const std::exception& e) {
                log::warn("bad command '{}': {}", line, e.what());
            }
        }
    }
    log::info("stopped: {}", counters(proxy));
    return 0;
} catch (...) {
    return exit_on_exception();
}
