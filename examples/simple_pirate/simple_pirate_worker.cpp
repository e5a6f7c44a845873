// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// A Simple Pirate worker in a few lines: connects to a queue's backend (spqueue, or the Guide's), announces
// itself with READY, and answers each request. Clients are Lazy Pirate clients on the queue's frontend.
// Usage: example_simple_pirate_worker [backend-endpoint]
#include <pirates/common/signals.hpp>
#include <pirates/simple_pirate/worker.hpp>

#include <chrono>
#include <cstdio>

int main(int argc, char** argv) {
    const char* backend = argc > 1 ? argv[1] : "tcp://localhost:5556";
    pirates::install_stop_signals();
    zmq::context_t context;
    pirates::simple_pirate::Worker worker(context, backend);       // sends READY (0x01)
    pirates::StopSignalHook hook([&] { worker.request_stop(); });  // Ctrl-C ends the loop below

    while (!worker.stopped()) {
        // The body only: the client's envelope is kept by the worker and put back on the reply.
        std::optional<pirates::Frames> request = worker.receive(std::chrono::milliseconds(100));
        if (!request) continue;  // nothing yet (or the queue restarted: the worker registered again)
        // Do the work here. This worker echoes, so that any Lazy Pirate echo client can talk to it.
        worker.reply(std::move(*request));
    }
    std::printf("answered %llu requests\n", static_cast<unsigned long long>(worker.stats().replies));
    return 0;
}
