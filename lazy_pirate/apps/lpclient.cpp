// lpclient: the Lazy Pirate client. Sends numbered requests, checks each reply echoes its request, prints one
// line per request. Exit 0 when all were answered, 1 when it gave up on the server.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/lazy_pirate/client.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) try {
    std::string endpoint;
    pirates::RetryPolicy policy;  // 2500 ms, 3 attempts: the Guide's
    int requests = 10;
    pirates::CommandLine cli("lpclient",
                             "Lazy Pirate client: numbered requests to an echo server, with retries.");
    cli.endpoint("connect", endpoint, "server endpoint, e.g. tcp://localhost:5555", true)
        .millis("timeout-ms", policy.timeout, "how long to wait for each reply")
        .integer("retries", policy.attempts, "attempts per request, the first included", 1, 1000)
        .alias("attempts")
        .integer("requests", requests, "number of requests to send; 0 = until stopped");
    pirates::CurveFlags curve;
    pirates::curve_client_flags(cli, curve);
    cli.parse(argc, argv);
    const pirates::Security security = pirates::client_security(cli, curve);

    pirates::install_stop_signals();
    pirates::log::info("client of {}: timeout {} ms, {} attempts per request", endpoint,
                       policy.timeout.count(), policy.attempts);
    zmq::context_t context;
    pirates::lazy_pirate::ClientOptions options;
    options.check = pirates::lazy_pirate::echo_check();
    options.security = security;
    pirates::lazy_pirate::Client client(context, endpoint, policy, options);
    pirates::StopSignalHook hook([&] { client.request_stop(); });  // SIGINT/SIGTERM: `interrupted`

    for (long sequence = 1; requests == 0 || sequence <= requests; ++sequence) {
        auto outcome = client.request(std::to_string(sequence));
        switch (outcome.status) {
            case pirates::Status::reply:
                std::printf("%ld ok attempts=%d\n", sequence, outcome.attempts);
                break;
            case pirates::Status::gave_up:
            case pirates::Status::timed_out:
                std::printf("%ld gave-up attempts=%d\n", sequence, outcome.attempts);
                std::fflush(stdout);
                pirates::log::error("server {} seems to be offline, abandoning", endpoint);
                return 1;
            case pirates::Status::interrupted:
                std::printf("%ld interrupted\n", sequence);
                std::fflush(stdout);
                pirates::log::info("stopped after {} replies", client.stats().replies);
                return requests == 0 ? 0 : pirates::exit_interrupted;  // 0: "until stopped" was asked for
        }
        std::fflush(stdout);
    }
    const auto& c = client.stats();
    pirates::log::info("done: {} requests, {} replies, {} retries, {} discarded", c.requests, c.replies,
                       c.retries, c.discarded);
    return 0;
} catch (...) {
    return pirates::exit_on_exception();
}
