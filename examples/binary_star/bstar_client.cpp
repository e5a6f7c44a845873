// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// A Binary Star client: requests to a primary-backup pair, failing over to the backup when the primary is
// gone.
//   example_bstar_client tcp://localhost:5001 tcp://localhost:5002
#include <pirates/binary_star/client.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s PRIMARY-FRONTEND BACKUP-FRONTEND\n", argv[0]);
        return 2;
    }
    zmq::context_t context;
    pirates::binary_star::ClientOptions options;
    options.connect = {argv[1], argv[2]};
    options.timeout = std::chrono::milliseconds(1000);  // per attempt
    options.settle = std::chrono::milliseconds(2000);   // >= 2 server heartbeats, so the backup is ready
    options.attempts = 6;                               // then give up: a value, not an exception
    pirates::binary_star::Client client(context, options);

    for (int i = 1; i <= 10; ++i) {
        auto reply = client.request(std::string("hello ") + std::to_string(i));
        if (!reply) {
            std::printf("gave up: %s\n", reply.reason.c_str());
            return 1;
        }
        std::printf("%s from %s after %d attempt(s)\n", reply->body[0].to_string().c_str(),
                    options.connect[reply->server].c_str(), reply.attempts);
    }
    return 0;
}
