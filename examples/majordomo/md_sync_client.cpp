// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// A synchronous Majordomo client: one request at a time, with timeout and retries; giving up is a value.
//   example_md_sync_client tcp://127.0.0.1:5555
#include <pirates/majordomo/client.hpp>

#include <cstdio>
#include <string>

using namespace pirates;

int main(int argc, char** argv) {
    std::string broker = argc > 1 ? argv[1] : "tcp://127.0.0.1:5555";
    zmq::context_t context;
    majordomo::Client client(context, majordomo::ClientOptions{broker, Duration{2500}, 3});

    // Is anybody serving "upper"? (8/MMI, answered by the broker itself.)
    Frames query;
    query.add(frame("upper"));
    auto mmi = client.request("mmi.service", std::move(query));
    if (!mmi.ok()) {
        std::printf("no broker at %s\n", broker.c_str());
        return 1;
    }
    std::printf("mmi.service upper -> %s\n", mmi.reply[0].to_string().c_str());

    for (int i = 1; i <= 5; ++i) {
        Frames body;
        body.add(frame("hello " + std::to_string(i)));
        Outcome<Frames> r = client.request("upper", std::move(body));
        if (!r.ok()) {  // Status::gave_up after every attempt: the service is unavailable
            std::printf("request %d: %s after %d attempts\n", i, name(r.status), r.attempts);
            return 1;
        }
        std::printf("request %d: %s\n", i, r.reply[0].to_string().c_str());
    }
    return 0;
}
