// spworker: a Simple Pirate echo worker (REQ, READY on connect), with fault injection for tests and demos.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/simple_pirate/echo_worker.hpp>

int main(int argc, char** argv) try {
    pirates::simple_pirate::EchoWorkerOptions options;
    pirates::CommandLine cli("spworker", "Simple Pirate worker: echoes each request back through the queue.");
    cli.endpoint("connect", options.connect, "queue backend endpoint, e.g. tcp://localhost:5556", true)
        .millis("transport-heartbeat-ms", options.options.transport_heartbeat,
                "libzmq (ZMTP) heartbeat to notice a vanished queue host (0: off)", 0);
    options.chaos.add_flags(cli);
    pirates::CurveFlags curve;
    pirates::curve_client_flags(cli, curve);
    cli.parse(argc, argv);
    options.options.security = pirates::client_security(cli, curve);
    options.chaos.check(cli);

    pirates::install_stop_signals();
    zmq::context_t context;
    pirates::simple_pirate::EchoWorker worker(context, options);
    pirates::StopSignalHook hook([&] { worker.request_stop(); });
    worker.run();
    return 0;
} catch (...) {
    return pirates::exit_on_exception();
}
