// ticlient: a Titanic client. Submits N requests for a service through titanic.request, polls titanic.reply
// until each answer is there, closes each with titanic.close, prints every outcome. Exit 0 when all came
// back.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/client.hpp>

#include <fmt/format.h>

#include <cstdio>
#include <thread>

using namespace pirates;

namespace {

Frames frames(std::initializer_list<std::string_view> parts) {
    Frames m;
    for (auto p : parts) m.add(frame(p));
    return m;
}

// Wait `d`, waking up early on a stop signal.
void pause(Duration d) {
    const auto end = Clock::now() + d;
    while (!stop_requested() && Clock::now() < end)
        std::this_thread::sleep_for(std::min<Clock::duration>(Duration{50}, end - Clock::now()));
}

}  // namespace

int main(int argc, char** argv) try {
    majordomo::ClientOptions options;
    std::string service;
    std::string text = "Hello world";
    int requests = 1;
    Duration poll{1000};
    CommandLine cli(
        "ticlient",
        "Titanic client: submits requests through titanic.request, polls titanic.reply, closes each "
        "answered request with titanic.close.");
    cli.endpoint("connect", options.connect, "Majordomo broker endpoint", true)
        .text("service", service, "service the requests are for", true)
        .integer("requests", requests, "requests to submit", 1, 1 << 24)
        .millis("poll-ms", poll, "interval between rounds of titanic.reply")
        .text("body", text, "request body; with several requests ' #n' is appended")
        .millis("timeout-ms", options.timeout, "wait for each answer from Titanic")
        .integer("retries", options.attempts, "sends of each call to Titanic before giving up", 1, 100)
        .alias("attempts");
    pirates::CurveFlags curve;
    pirates::curve_client_flags(cli, curve);
    cli.parse(argc, argv);
    options.security = pirates::client_security(cli, curve);

    install_stop_signals();
    zmq::context_t context;
    majordomo::Client client(context, options);
    StopSignalHook hook(
        [&] { client.request_stop(); });  // SIGINT/SIGTERM: a request waiting is `interrupted`

    struct Waiting {
        int n;
        std::string uuid;
    };
    std::vector<Waiting> waiting;
    int submitted = 0;
    for (int n = 1; n <= requests && !stop_requested(); ++n) {
        std::string body = requests == 1 ? text : fmt::format("{} #{}", text, n);
        auto r = client.request("titanic.request", frames({service, body}));
        if (!r.ok()) {
            if (stop_requested()) break;  // interrupted while waiting: reported below
            log::error("titanic.request: no answer ({})", name(r.status));
            return 1;
        }
        if (r.reply.size() != 2 || !equals(r.reply[0], "200")) {
            log::error("titanic.request refused: {}", printable(r.reply));
            return 1;
        }
        waiting.push_back({n, r.reply[1].to_string()});
        ++submitted;
        fmt::print("request {} stored as {}\n", n, waiting.back().uuid);
        std::fflush(stdout);
    }

    int failed = 0;
    while (!waiting.empty() && !stop_requested()) {
        for (auto it = waiting.begin(); it != waiting.end() && !stop_requested();) {
            auto r = client.request("titanic.reply", frames({it->uuid}));
            if (!r.ok() || r.reply.empty()) {
                log::warn("titanic.reply: no answer ({}), trying again later", name(r.status));
                break;
            }
            std::string code = r.reply[0].to_string();
            if (code == "300" || code == "500") {  // pending, or a failure on Titanic's side: ask again later
                ++it;
                continue;
            }
            if (code == "200") {
                r.reply.pop();
                fmt::print("reply {} ({}): {}\n", it->n, it->uuid, printable(r.reply, 256));
                auto closed = client.request("titanic.close", frames({it->uuid}));
                if (!closed.ok() || closed.reply.empty() || !equals(closed.reply[0], "200"))
                    log::warn("titanic.close {}: {}", it->uuid,
                              closed.ok() ? printable(closed.reply) : std::string(name(closed.status)));
            } else {
                fmt::print("request {} ({}): titanic answered {}\n", it->n, it->uuid, code);
                ++failed;
            }
            std::fflush(stdout);
            it = waiting.erase(it);
        }
        if (!waiting.empty()) pause(poll);
    }
    if (stop_requested() && (!waiting.empty() || submitted < requests)) {
        log::info("stopped with {} requests unanswered, {} not sent", waiting.size(), requests - submitted);
        return exit_interrupted;
    }
    fmt::print("{} of {} replies received\n", requests - failed, requests);
    return failed == 0 ? 0 : 1;
} catch (...) {
    return exit_on_exception();
}
