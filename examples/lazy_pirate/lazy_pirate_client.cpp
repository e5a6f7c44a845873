// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// A reliable request-reply client in a few lines: Lazy Pirate against any REP echo server (lpserver, or the
// Guide's). Usage: example_lazy_pirate_client [endpoint]
#include <pirates/lazy_pirate/client.hpp>

#include <chrono>
#include <cstdio>

int main(int argc, char** argv) {
    const char* endpoint = argc > 1 ? argv[1] : "tcp://localhost:5555";
    zmq::context_t context;

    // Wait 2500 ms for each reply; on silence reopen the socket and resend; 3 attempts in all.
    pirates::RetryPolicy policy{std::chrono::milliseconds(2500), 3};
    pirates::lazy_pirate::ClientOptions options;
    options.check = pirates::lazy_pirate::echo_check();  // an echo server's reply must equal the request
    pirates::lazy_pirate::Client client(context, endpoint, policy, options);

    for (int i = 1; i <= 5; ++i) {
        pirates::Outcome<pirates::Frames> outcome = client.request("hello " + std::to_string(i));
        if (!outcome) {  // an outage is a value, not an exception
            std::printf("server unreachable after %d attempts\n", outcome.attempts);
            return 1;
        }
        std::printf("reply: %s (attempts: %d)\n", outcome.reply[0].to_string().c_str(), outcome.attempts);
    }
    std::printf("retries in all: %llu\n", static_cast<unsigned long long>(client.stats().retries));
    return 0;
}
