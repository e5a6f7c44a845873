// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// A Binary Star server with your own request handler (here: upper-case the request) and a state-change hook.
//   example_bstar_server primary tcp://*:5001 tcp://*:5003 tcp://localhost:5004
//   example_bstar_server backup  tcp://*:5002 tcp://*:5004 tcp://localhost:5003
#include <pirates/binary_star/server.hpp>
#include <pirates/common/signals.hpp>

#include <cctype>
#include <cstdio>
#include <string>

using namespace pirates::binary_star;

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s primary|backup FRONTEND STATE-PUB PEER-STATE-PUB\n", argv[0]);
        return 2;
    }
    pirates::install_stop_signals();
    ServerOptions config;
    config.role = std::string(argv[1]) == "primary" ? State::primary : State::backup;
    config.frontend = argv[2];
    config.state_pub = argv[3];
    config.state_sub = argv[4];
    config.heartbeat = std::chrono::milliseconds(1000);

    zmq::context_t context;
    Server server(context, config);
    server.on_request([](pirates::Frames request) -> std::optional<pirates::Frames> {
        std::string text = request.popstr();
        for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return pirates::Frames(text);
    });
    server.on_state_change([](State from, State to, Event cause) {
        std::printf("%s -> %s (%s)\n", name(from).data(), name(to).data(), name(cause).data());
    });
    pirates::StopSignalHook stop_hook([&] { server.request_stop(); });
    auto fatal = server.run();  // until SIGINT/SIGTERM, or a fatal state combination
    if (fatal) std::fprintf(stderr, "stopped: %s\n", fatal->reason.c_str());
    return fatal ? 1 : 0;
}
