#pragma once
// spworker's driver: an echo Worker with fault injection.
//   crash: exit at once (no reply);  hang: stay alive and silent until a stop signal;
//   slow: answer after the delay;    drop: leave the request unanswered, which for a REQ worker means
//   reopening the socket and sending READY again (the queue sees a new worker; the client's retry gets
//   served).
#include <pirates/common/chaos.hpp>
#include <pirates/simple_pirate/worker.hpp>

#include <string>

namespace pirates::simple_pirate {

struct EchoWorkerConfig {
    std::string connect = "tcp://localhost:5556";
    Chaos chaos;
    WorkerOptions options;
};

// Run until a stop signal (SIGINT/SIGTERM, request_stop()). Returns the worker's counters.
WorkerCounters run_echo_worker(zmq::context_t& context, const EchoWorkerConfig& config);

}  // namespace pirates::simple_pirate
