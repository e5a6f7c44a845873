// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// An asynchronous Majordomo client: 100 requests in flight on one socket, replies matched to requests by id.
// (Works with echo workers and with any worker built on pirates::majordomo::Worker; see docs/majordomo.md.)
//   example_md_async_client tcp://127.0.0.1:5555
#include <pirates/majordomo/async_client.hpp>

#include <cstdio>
#include <map>
#include <string>

using namespace pirates;

int main(int argc, char** argv) {
    std::string broker = argc > 1 ? argv[1] : "tcp://127.0.0.1:5555";
    zmq::context_t context;
    majordomo::AsyncClient client(context, majordomo::AsyncClientOptions{broker, Duration{2500}, 3});

    std::map<std::uint64_t, std::string> asked;  // request id -> what we sent
    for (int i = 0; i < 100; ++i) {
        std::string text = "word " + std::to_string(i);
        Frames body;
        body.add(frame(text));
        asked[client.send("upper", std::move(body))] = text;
    }
    int answered = 0, failed = 0;
    while (!asked.empty()) {
        auto done = client.recv(Duration{10000});  // the next reply, in completion order
        if (!done) break;
        if (done->ok())
            ++answered;
        else
            ++failed;  // given up after its attempts
        if (done->ok() && answered <= 3)
            std::printf("%s -> %s\n", asked[done->id].c_str(), done->reply[0].to_string().c_str());
        asked.erase(done->id);
    }
    std::printf("answered %d, failed %d, retries %llu\n", answered, failed,
                static_cast<unsigned long long>(client.stats().retries));
    return failed == 0 && asked.empty() ? 0 : 1;
}
