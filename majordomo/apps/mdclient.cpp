// mdclient: sends N requests to a Majordomo service and checks every reply matches its request (echo
// workers). Exit 0 when every request was answered with its own body; 1 otherwise.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/async_client.hpp>
#include <pirates/majordomo/client.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

using namespace pirates;
using namespace pirates::majordomo;

namespace {
std::string body_of(long i) {
    return fmt::format("request {} from {}", i, ::getpid());
}
}  // namespace

int main(int argc, char** argv) try {
    std::string broker, service = "echo";
    int requests = 10, attempts = 3, window = 100;
    bool async = false;
    std::string mdp = "0.1";
    Duration timeout{2500};
    CommandLine cli("mdclient",
                    "Majordomo client: sends requests to a service and checks the echoed replies.");
    std::vector<std::string> brokers;
    Duration settle{2000};
    cli.endpoints("connect", brokers,
                  "broker endpoint, or two (A,B: a Binary Star pair; on a timeout, fail over to the other)",
                  true)
        .text("service", service, "service name", true)
        .integer("requests", requests, "number of requests", 0)
        .flag("async", async, "many requests in flight on one socket (AsyncClient)")
        .integer("window", window, "with --async: requests in flight at most", 1)
        .millis("timeout-ms", timeout, "timeout per attempt")
        .integer("retries", attempts, "attempts per request, as the reference counts them", 1, 1000)
        .alias("attempts")
        .millis("settle-ms", settle, "with two brokers: pause before failing over to the other", 0)
        .text("mdp", mdp, "protocol: 0.1, 0.2 (prints each PARTIAL reply as it arrives) or majortomo");
    CurveFlags curve;
    curve_client_flags(cli, curve);
    cli.parse(argc, argv);
    const Security security = client_security(cli, curve);
    broker = fmt::format("{}", fmt::join(brokers, ","));
    const auto version = parse_version(mdp);
    if (!version) cli.fail("--mdp must be 0.1, 0.2 or majortomo");
    install_stop_signals();

    zmq::context_t context;
    const auto start = Clock::now();
    long answered = 0, matched = 0, failed = 0;
    std::uint64_t retried = 0, failovers = 0;
    auto check = [&](long i, const Outcome<Frames>& c) {
        if (!c.ok()) {
            ++failed;
            log::warn("request {}: no reply after {} attempts ({})", i, c.attempts, name(c.status));
            return;
        }
        ++answered;
        bool same = c.reply.size() == 1 && c.reply[0].to_string_view() == body_of(i);
        if (same)
            ++matched;
        else
            log::warn("request {}: reply does not match: {}", i, printable(c.reply));
        log::debug("request {}: {} after {} attempt(s)", i, same ? "ok" : "MISMATCH", c.attempts);
    };

    if (!async) {
        ClientOptions co{broker, timeout, attempts, *version};
        co.security = security;
        co.settle = settle;
        Client client(context, co);
        StopSignalHook hook([&] { client.request_stop(); });  // SIGINT/SIGTERM: the request is `interrupted`
        for (long i = 1; i <= requests && !stop_requested() && !client.stop_requested(); ++i) {
            Frames body;
            body.add(frame(body_of(i)));
            check(i, client.request(service, std::move(body), [i](Frames&& partial) {
                std::printf("mdclient: request %ld partial %s\n", i, printable(partial).c_str());
                std::fflush(stdout);
            }));
        }
        retried = client.stats().retries;
        failovers = client.stats().failovers;
    } else {
        AsyncClientOptions o{broker, timeout, attempts, *version};
        o.security = security;
        o.settle = settle;
        o.on_partial = [](std::uint64_t id, Frames&& partial) {
            std::printf("mdclient: request id %llu partial %s\n", static_cast<unsigned long long>(id),
                        printable(partial).c_str());
        };
        AsyncClient client(context, o);
        StopSignalHook hook([&] { client.request_stop(); });  // SIGINT/SIGTERM: in flight -> `interrupted`
        std::unordered_map<std::uint64_t, long> index;        // request id -> request number
        long next = 1;
        while (!stop_requested() && !client.stop_requested() && (next <= requests || !index.empty())) {
            while (next <= requests && index.size() < static_cast<std::size_t>(window)) {
                Frames body;
                body.add(frame(body_of(next)));
                index.emplace(client.send(service, std::move(body)), next++);
            }
            auto c = client.recv(Duration{100});
            if (!c || c->status == Status::interrupted) continue;  // stopped: not counted as failed
            auto it = index.find(c->id);
            if (it == index.end()) {
                log::warn("completion for an unknown request id {}", c->id);
                continue;
            }
            check(it->second, *c);
            index.erase(it);
        }
        retried = client.stats().retries;
        failovers = client.stats().failovers;
    }

    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("mdclient: sent %d answered %ld matched %ld retried %llu failed %ld time %.3f s\n", requests,
                answered, matched, static_cast<unsigned long long>(retried), failed, secs);
    if (brokers.size() > 1)
        std::printf("mdclient: failovers %llu\n", static_cast<unsigned long long>(failovers));
    std::fflush(stdout);
    if (answered == requests && matched == requests) return 0;
    return stop_requested() ? exit_interrupted : 1;
} catch (...) {
    return exit_on_exception();
}
