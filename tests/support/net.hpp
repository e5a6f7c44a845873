#pragma once
// Loopback helpers shared by every test: OS-chosen ports, waiting with a deadline.
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace pirates::test {

// Bind to tcp://127.0.0.1:* and return the endpoint the OS chose.
std::string bind_loopback(zmq::socket_t& socket);

// Wait until pred() holds, checking every few ms, for at most `timeout`. Returns whether it held.
bool eventually(const std::function<bool()>& pred, Duration timeout = Duration{5000});

// Receive one message within `timeout`; false on timeout.
bool recv_within(zmq::socket_t& socket, Frames& out, Duration timeout = Duration{5000});

// Build a message from text frames; "\x01"-style bytes welcome.
Frames make_frames(std::initializer_list<std::string_view> parts);

// The frames of a message as strings (for CHECKs with readable failures).
std::vector<std::string> strings(const Frames& m);

}  // namespace pirates::test
