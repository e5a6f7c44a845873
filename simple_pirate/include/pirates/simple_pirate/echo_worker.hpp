#pragma once
// spworker's driver: an echo Worker with fault injection.
//   crash: exit at once (no reply);  hang: stay alive and silent until request_stop();
//   slow: answer after the delay;    drop: leave the request unanswered, which for a REQ worker means
//   reopening the socket and sending READY again (the queue sees a new worker; the client's retry gets
//   served).
#include <pirates/common/chaos.hpp>
#include <pirates/simple_pirate/worker.hpp>

#include <string>

namespace pirates::simple_pirate {

struct EchoWorkerOptions {
    std::string connect = "tcp://localhost:5556";
    Chaos chaos;
    WorkerOptions options;
};
using EchoWorkerConfig = EchoWorkerOptions;  // the former name

class EchoWorker {
  public:
    EchoWorker(zmq::context_t& context, EchoWorkerOptions options, const ClockSource& clock = steady_clock());

    // Serve until request_stop(). Returns the worker's stats.
    const WorkerStats& run();
    // Thread-safe: run() returns within one poll slice (100 ms), or after the late answer being waited for.
    void request_stop() {
        stop_.request_stop();
        worker_.request_stop();
    }
    bool stopped() const { return stop_.stop_requested() || worker_.stopped(); }
    const WorkerStats& stats() const { return worker_.stats(); }

  private:
    // Wait `delay` (the simulated slowness), cut short by a stop. False if stopped.
    bool wait(Duration delay);

    EchoWorkerOptions options_;
    const ClockSource& clock_;
    Worker worker_;
    StopSource stop_;  // also what a hang and a slow answer wait for
};

}  // namespace pirates::simple_pirate
