#pragma once
// Endpoints as given on command lines, and binding with OS-chosen ports.
#include <zmq.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace pirates {

// tcp://host:port (port may be * to bind), ipc://path, inproc://name.
bool valid_endpoint(std::string_view endpoint);
// Split "a,b,c" into endpoints (empty items are an error, reported by the command line).
std::vector<std::string> split_list(std::string_view list);

// Bind and return the endpoint actually bound (tcp://127.0.0.1:* becomes tcp://127.0.0.1:41234), and log
// "bound <role> <endpoint>" at info level so that a parent process (tests, scripts) can read the port.
std::string bind_and_announce(zmq::socket_t& socket, const std::string& endpoint, std::string_view role);

}  // namespace pirates
