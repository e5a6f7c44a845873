// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// Freelance model 3 (router): pings every server, sends each request to one live server, fails over on
// silence.
//   flserver --model 3 --bind tcp://127.0.0.1:5555 &  flserver --model 3 --bind tcp://127.0.0.1:5556 &
//   example_freelance_model3 tcp://127.0.0.1:5555 tcp://127.0.0.1:5556
#include <pirates/freelance/router.hpp>

#include <fmt/format.h>

int main(int argc, char** argv) {
    using namespace pirates;
    zmq::context_t context;
    freelance::RouterOptions options;  // ping 2000 ms, server TTL 6000 ms, global timeout 3000 ms
    freelance::RouterClient client(context, options);
    // Each endpoint is also the server's routing identity (flserver --model 3 sets it).
    for (int i = 1; i < argc; ++i) client.connect(argv[i]);

    for (int n = 0; n < 5; ++n) {
        Frames request;
        request.add(frame("hello"));
        freelance::Reply reply = client.request(std::move(request));
        if (!reply) {
            fmt::print("request {} failed: {}\n", n, reply.reason);  // after the global timeout
            continue;
        }
        fmt::print("request {}: {} from {}\n", n, printable(reply->body), reply->server);
    }
    auto c = client.stats();
    fmt::print("{} fail-overs, {} stale replies discarded\n", c.failovers, c.stale);
    return 0;
}
