// flclient: a Freelance client of model 1, 2 or 3; prints each outcome and the average round trip. Exit 0
// when every request was answered, 1 otherwise.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/freelance/router.hpp>
#include <pirates/freelance/shotgun.hpp>
#include <pirates/freelance/simple.hpp>

#include <fmt/format.h>

#include <functional>
#include <memory>

using namespace pirates;
using namespace pirates::freelance;

int main(int argc, char** argv) try {
    int model = 3, requests = 10, retries = 0;
    std::vector<std::string> endpoints;
    Duration timeout{0}, ping{2000}, ttl{6000}, attempt{1000};
    std::string body = "hello";
    CommandLine cli("flclient", "Freelance client (10/FLP), model 1, 2 or 3");
    cli.integer("model", model, "1: try each server in turn, 2: shotgun, 3: router with pings", 1, 3, true)
        .endpoints("connect", endpoints, "server endpoints, comma-separated", true)
        .alias("servers")
        .integer("requests", requests, "number of requests", 1)
        .millis("timeout-ms", timeout, "model 1: per attempt (1000); 2: global (2500); 3: global (3000)")
        .integer("retries", retries, "model 1: attempts per server (0: 3 with one server, else 1)", 0, 100)
        .alias("attempts")
        .millis("ping-ms", ping, "model 3: ping interval")
        .millis("ttl-ms", ttl, "model 3: server TTL")
        .millis("attempt-ms", attempt, "model 3: silence before failing over to another server")
        .text("body", body, "request body");
    CurveFlags curve;
    curve_client_flags(cli, curve);
    cli.parse(argc, argv);
    const Security security = client_security(cli, curve);
    install_stop_signals();

    zmq::context_t context;
    std::function<Reply(const Frames&)> send;
    std::unique_ptr<SimpleClient> simple;
    std::unique_ptr<ShotgunClient> shotgun;
    std::unique_ptr<RouterClient> router;
    std::unique_ptr<StopSignalHook> stop_client;  // declared after the clients: destroyed before them
    if (model == 1) {
        simple = std::make_unique<SimpleClient>(
            context, endpoints, SimpleOptions{timeout.count() ? timeout : Duration{1000}, retries, security});
        send = [&](const Frames& b) { return simple->request(b); };
        // SIGINT/SIGTERM end the request in flight at once, instead of after its timeout.
        stop_client = std::make_unique<StopSignalHook>([&] { simple->request_stop(); });
    } else if (model == 2) {
        shotgun = std::make_unique<ShotgunClient>(
            context, ShotgunOptions{timeout.count() ? timeout : Duration{2500}, security});
        for (auto& ep : endpoints) shotgun->connect(ep);
        send = [&](const Frames& b) { return shotgun->request(b); };
        stop_client = std::make_unique<StopSignalHook>([&] { shotgun->request_stop(); });
    } else {
        RouterOptions options;
        options.ping_interval = ping;
        options.server_ttl = ttl;
        options.attempt_timeout = attempt;
        options.security = security;
        if (timeout.count()) options.request_timeout = timeout;
        router = std::make_unique<RouterClient>(context, options);
        // SIGINT/SIGTERM end the request in flight at once, instead of after its global timeout.
        stop_client = std::make_unique<StopSignalHook>([&] { router->request_stop(); });
        for (auto& ep : endpoints)
            if (!router->connect(ep)) cli.fail(fmt::format("cannot connect to {}", ep));
        send = [&](const Frames& b) { return router->request(b.clone()); };
    }

    int answered = 0, sent = 0;
    Duration::rep total_us = 0;
    for (int i = 1; i <= requests && !stop_requested(); ++i) {
        Frames request;
        request.add(frame(body));
        auto start = Clock::now();
        Reply reply = send(request);
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
        ++sent;
        if (reply) {
            ++answered;
            total_us += us;
            fmt::print("reply {}: {} from {} in {:.3f} ms\n", i, printable(reply->body),
                       reply->server.empty() ? "a server" : reply->server, us / 1000.0);
        } else {
            fmt::print("request {} failed: {} (after {:.3f} ms)\n", i, reply.reason, us / 1000.0);
        }
        std::fflush(stdout);
    }
    if (answered)
        fmt::print("answered {}/{}, average round trip {:.3f} ms\n", answered, sent,
                   total_us / 1000.0 / answered);
    else
        fmt::print("answered 0/{}\n", sent);
    std::fflush(stdout);
    if (answered == requests) return 0;
    return stop_requested() ? exit_interrupted : 1;
} catch (...) {
    return exit_on_exception();
}
