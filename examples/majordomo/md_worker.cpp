// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// A Majordomo worker for the service "upper": replies with the request upper-cased (every frame).
//   example_md_worker tcp://127.0.0.1:5555
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/worker.hpp>

#include <cctype>
#include <string>

using namespace pirates;

int main(int argc, char** argv) {
    std::string broker = argc > 1 ? argv[1] : "tcp://127.0.0.1:5555";
    install_stop_signals();
    zmq::context_t context;
    majordomo::WorkerOptions options;
    options.connect = broker;
    options.service = "upper";
    options.heartbeat = Duration{1000};  // heartbeat, liveness and reconnect back-off are all configurable
    majordomo::Worker worker(context, options);
    StopSignalHook hook([&] { worker.request_stop(); });  // Ctrl-C stops run() cleanly
    // The handler gets the request body and returns the reply body; several frames either way.
    worker.run([](Frames&& request) {
        Frames reply;
        for (auto& f : request) {
            std::string s = f.to_string();
            for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            reply.add(frame(s));
        }
        return reply;
    });
    return 0;
}
