// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// Freelance model 2 (shotgun): every request goes to every server, the first answer wins.
//   flserver --model 2 --bind tcp://127.0.0.1:5555 &  flserver --model 2 --bind tcp://127.0.0.1:5556 &
//   example_freelance_model2 tcp://127.0.0.1:5555 tcp://127.0.0.1:5556
#include <pirates/freelance/shotgun.hpp>

#include <fmt/format.h>

int main(int argc, char** argv) {
    using namespace pirates;
    zmq::context_t context;
    freelance::ShotgunClient client(context, {std::chrono::milliseconds(2500)});  // global timeout
    for (int i = 1; i < argc; ++i) client.connect(argv[i]);

    for (int n = 0; n < 5; ++n) {
        Frames request;
        request.add(frame("hello"));
        freelance::Reply reply = client.request(request);  // late replies of other servers are discarded
        if (!reply) {
            fmt::print("request {} failed: {}\n", n, reply.reason);
            return 1;
        }
        fmt::print("request {}: {}\n", n, printable(reply->body));
    }
    fmt::print("{} late or stale replies discarded\n", client.stats().stale);
    return 0;
}
