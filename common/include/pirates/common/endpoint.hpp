#pragma once
// Endpoints as given on command lines, and binding with OS-chosen ports.
#include <zmq.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pirates {

// tcp://host:port with a port in 1-65535 or * (to bind an OS-chosen port); host may be a name, an IPv4
// address, an interface, * or an IPv6 address in brackets ([::1]). ipc://path, inproc://name.
bool valid_endpoint(std::string_view endpoint);
// Split "a,b,c" into endpoints (empty items are an error, reported by the command line).
std::vector<std::string> split_list(std::string_view list);

// A bind that failed: the endpoint and the reason (libzmq's, e.g. "Address already in use"). Every bind in the
// libraries goes through bind_endpoint(), so every program reports it the same way (exit_on_exception() in
// cli.hpp: "<program>: cannot bind <endpoint>: <reason>", exit 1).
class BindError : public std::runtime_error {
  public:
    BindError(std::string endpoint, std::string reason, int error_number = 0);
    const std::string& endpoint() const { return endpoint_; }
    const std::string& reason() const { return reason_; }
    int error_number() const { return errno_; }  // errno of the failure (EADDRINUSE, ENODEV...), or 0

  private:
    std::string endpoint_;
    std::string reason_;
    int errno_;
};

// Bind `socket` to `endpoint`; throws BindError when libzmq refuses. Both functions set ZMQ_IPV6 for the
// endpoint: on for a bracketed IPv6 address (tcp://[::1]:P) and, to bind, for * (IPv4 and IPv6 peers); off
// for host names and IPv4 addresses (libzmq's default, so "localhost" keeps meaning 127.0.0.1).
void bind_endpoint(zmq::socket_t& socket, const std::string& endpoint);
// Connect `socket` to `endpoint` (a connect to an unreachable peer does not fail: libzmq retries).
void connect_endpoint(zmq::socket_t& socket, const std::string& endpoint);

// Bind (through bind_endpoint) and return the endpoint actually bound (tcp://127.0.0.1:* becomes tcp://127.0.0.1:41234), and log
// "bound <role> <endpoint>" at info level so that a parent process (tests, scripts) can read the port.
std::string bind_and_announce(zmq::socket_t& socket, const std::string& endpoint, std::string_view role);

}  // namespace pirates
