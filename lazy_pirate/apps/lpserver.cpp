// lpserver: the Lazy Pirate echo server (REP on the wire), with fault injection for tests and demos.
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/lazy_pirate/echo_server.hpp>

int main(int argc, char** argv) try {
    pirates::lazy_pirate::EchoServerOptions config;
    pirates::CommandLine cli("lpserver",
                             "Lazy Pirate echo server: answers each request with the request itself.");
    cli.endpoint("bind", config.bind, "endpoint to bind, e.g. tcp://*:5555", true)
        .message_bounds(config.max_message_bytes, config.hwm, "a client")
        .bytes("max-queue-bytes", config.max_queue_bytes,
               "late answers (--slow-after) held at most; newer ones are dropped", 1);
    config.chaos.add_flags(cli);
    pirates::CurveFlags curve;
    pirates::curve_server_flags(cli, curve);
    cli.parse(argc, argv);
    config.security = pirates::server_security(cli, curve);
    config.chaos.check(cli);

    pirates::install_server_signals();
    zmq::context_t context;
    auto zap = pirates::start_zap(context, curve);
    pirates::lazy_pirate::EchoServer server(context, config);
    pirates::StopSignalHook hook([&] { server.request_stop(); });
    pirates::ZapHooks zap_hooks(zap.get(), nullptr, "lpserver");
    server.run();
    return 0;
} catch (...) {
    return pirates::exit_on_exception();
}
