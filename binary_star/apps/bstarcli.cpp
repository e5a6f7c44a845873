// bstarcli: Binary Star client. Sends numbered requests to the pair, failing over on timeout; prints each
// outcome.
//   bstarcli --connect tcp://localhost:5001,tcp://localhost:5002 --requests 10
#include <pirates/binary_star/client.hpp>
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>

#include <cstdio>
#include <thread>

using namespace pirates;
using namespace pirates::binary_star;

int main(int argc, char** argv) try {
    ClientOptions options;
    int requests = 0;
    Duration interval{0};
    CommandLine cli("bstarcli", "Binary Star client: numbered echo requests with fail-over between the pair");
    cli.endpoints("connect", options.connect, "the pair: primary,backup", true)
        .alias("servers")
        .millis("timeout-ms", options.timeout, "wait for each reply this long")
        .millis("settle-ms", options.settle, "pause before switching server", 0)
        .integer("retries", options.attempts, "attempts per request before giving up (0: never)")
        .alias("attempts")
        .integer("requests", requests, "how many requests (0: until stopped)")
        .millis("interval-ms", interval, "pause between requests", 0);
    CurveFlags curve;
    curve_client_flags(cli, curve);
    cli.parse(argc, argv);
    options.security = client_security(cli, curve);
    if (options.connect.size() != 2) cli.fail("--connect takes exactly two endpoints (primary,backup)");
    install_stop_signals();

    zmq::context_t context(1);
    Client client(context, options);
    StopSignalHook hook(
        [&] { client.request_stop(); });  // SIGINT/SIGTERM: a request waiting is `interrupted`
    client.on_switch = [&](std::size_t from, std::size_t to) {
        std::printf("no reply from %s, failing over to %s\n", options.connect[from].c_str(),
                    options.connect[to].c_str());
        std::fflush(stdout);
    };
    long answered = 0;
    for (long seq = 1; requests == 0 || seq <= requests; ++seq) {
        const std::string body = std::to_string(seq);
        auto reply = client.request(body);
        if (!reply) {
            if (reply.status == Status::interrupted || stop_requested()) break;
            std::printf("request %ld: %s, giving up\n", seq, reply.reason.c_str());
            return 1;
        }
        if (reply->body.size() != 1 || !equals(reply->body[0], body)) {
            std::printf("request %ld: unexpected reply %s, giving up\n", seq, printable(reply->body).c_str());
            return 1;
        }
        std::printf("reply %ld from %s in %lld ms (%d attempts)\n", seq,
                    options.connect[reply->server].c_str(), static_cast<long long>(reply->elapsed.count()),
                    reply.attempts);
        std::fflush(stdout);
        ++answered;
        // A pacing pause between requests, as the reference client has, not a wait for an event.
        if (interval.count() > 0) std::this_thread::sleep_for(interval);
        if (stop_requested()) break;
    }
    // Stopped by a signal: a success only when "until stopped" (--requests 0) was asked for, or all came
    // back.
    return requests == 0 || answered == requests ? 0 : exit_interrupted;
} catch (...) {
    return exit_on_exception();
}
