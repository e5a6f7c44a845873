#pragma once
// Shared by the fault tests: timings, and a client loop that counts what it was told.
#include "support/fault_proxy.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace pirates::test::fault {

using namespace std::chrono_literals;

// Protocol timings are short; the waits for "it eventually happens" are long (a loaded 2-core machine).
inline constexpr int heartbeat_ms = 50;
inline constexpr int liveness = 3;
inline constexpr Duration expiry = Duration{heartbeat_ms * liveness};
inline constexpr Duration slack = 5000ms;  // waits only; never a bound on how fast something must be

inline std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

inline std::string port_part(const std::string& endpoint) {
    return "127.0.0.1:" + endpoint.substr(endpoint.rfind(':') + 1);
}

}  // namespace pirates::test::fault
