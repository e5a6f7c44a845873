// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// A Paranoid Pirate worker in a few lines: connect to ppqueue's backend, answer each request with its frames
// in upper case. The library sends READY, heartbeats, notices a dead queue, reconnects with back-off.
//
//   build/bin/ppqueue --frontend tcp://127.0.0.1:5555 --backend tcp://127.0.0.1:5556
//   build/bin/example_ppworker_upper tcp://127.0.0.1:5556
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/paranoid_pirate/worker.hpp>

#include <cctype>

using namespace pirates;

int main(int argc, char** argv) {
    const std::string backend = argc > 1 ? argv[1] : "tcp://127.0.0.1:5556";
    install_stop_signals();

    paranoid_pirate::WorkerOptions options;
    options.connect = backend;
    options.timing.heartbeat = Duration{1000};  // the 6/PPP defaults, spelled out
    options.timing.liveness = 3;
    options.timing.reconnect = BackoffPolicy{Duration{1000}, Duration{32000}, 0.2};

    zmq::context_t context;
    paranoid_pirate::Worker worker(context, options, [](Frames request) -> std::optional<Frames> {
        Frames reply;
        for (auto& part : request) {
            std::string text = part.to_string();
            for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            reply.add(frame(text));
        }
        return reply;  // std::nullopt would send no reply at all
    });
    StopSignalHook hook([&] { worker.request_stop(); });  // SIGINT/SIGTERM end run()
    worker.run();
    log::info("stopped after {} requests", worker.stats().requests);
    return 0;
}
