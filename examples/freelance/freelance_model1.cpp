// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// Freelance model 1: try each server in turn until one answers.
//   flserver --model 1 --bind tcp://127.0.0.1:5555 &
//   example_freelance_model1 tcp://127.0.0.1:5556 tcp://127.0.0.1:5555
#include <pirates/freelance/simple.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

int main(int argc, char** argv) {
    using namespace pirates;
    std::vector<std::string> servers(argv + 1, argv + argc);
    zmq::context_t context;
    // 1000 ms per attempt; one attempt per server (three when there is only one server).
    freelance::SimpleClient client(context, servers, {std::chrono::milliseconds(1000), 0});

    Frames request;
    request.add(frame("hello"));
    freelance::Reply reply = client.request(request);
    if (!reply) {
        fmt::print("no answer: {}\n", reply.reason);  // every server was silent
        return 1;
    }
    fmt::print("{} answered {}\n", reply->server, printable(reply->body));
    return 0;
}
