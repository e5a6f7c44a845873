#pragma once
// A real pair of bstarsrv processes (OS-picked ports) whose state channel goes through a test-owned proxy
// (state_proxy.hpp), settled: the primary ACTIVE, the backup PASSIVE. Shared by the process tests.
#include <doctest/doctest.h>
#include <pirates/binary_star/client.hpp>

#include "state_proxy.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <memory>
#include <string>
#include <vector>

namespace pirates::test {

// The pair's timings (a short heartbeat so that tests run in tens of ms).

inline constexpr Duration hb = Duration{50};               // the pair's heartbeat
inline constexpr Duration client_timeout = Duration{300};  // per attempt
inline constexpr Duration settle = 2 * hb;  // the passive takes over 2 heartbeats after its peer fell silent
inline constexpr Duration slack = Duration{1000};  // CI is a loaded 2-core machine (measured: ~400 ms in all)

inline std::unique_ptr<Process> start_server(const char* role, const std::string& frontend,
                                             const std::string& pub, const std::string& sub,
                                             std::vector<std::string> extra = {}, Duration heartbeat = hb) {
    std::vector<std::string> args{role,
                                  "--frontend",
                                  frontend,
                                  "--state-pub",
                                  pub,
                                  "--state-sub",
                                  sub,
                                  "--heartbeat-ms",
                                  std::to_string(heartbeat.count())};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>("bstarsrv", std::move(args));
}

struct Pair {
    zmq::context_t context{1};
    StateProxy proxy{context};
    std::unique_ptr<Process> primary, backup;
    std::string primary_frontend, backup_frontend, primary_pub, backup_pub;

    explicit Pair(std::vector<std::string> primary_extra = {}, Duration heartbeat = hb,
                  std::vector<std::string> backup_extra = {}) {
        primary = start_server("--primary", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*",
                               proxy.primary_state_sub(), std::move(primary_extra), heartbeat);
        backup = start_server("--backup", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", proxy.backup_state_sub(),
                              std::move(backup_extra), heartbeat);
        primary_frontend = primary->bound_endpoint("frontend");
        primary_pub = primary->bound_endpoint("state-pub");
        backup_frontend = backup->bound_endpoint("frontend");
        backup_pub = backup->bound_endpoint("state-pub");
        REQUIRE_FALSE(primary_pub.empty());
        REQUIRE_FALSE(backup_pub.empty());
        proxy.connect(primary_pub, backup_pub);
        proxy.start();
        // The pair settles without any client: the primary hears BACKUP and becomes active, the backup hears
        // ACTIVE and becomes passive.
        REQUIRE(primary->wait_for("state PRIMARY -> ACTIVE on PEER_BACKUP"));
        REQUIRE(backup->wait_for("state BACKUP -> PASSIVE on PEER_ACTIVE"));
        // And each has published its new state since.
        REQUIRE(eventually([&] {
            return proxy.last_state(StateProxy::primary_to_backup) == 3 &&
                   proxy.last_state(StateProxy::backup_to_primary) == 4;
        }));
    }

    binary_star::ClientConfig client_config() const {
        binary_star::ClientConfig c;
        c.connect = {primary_frontend, backup_frontend};
        c.timeout = client_timeout;
        c.settle = settle;
        c.attempts = 20;
        return c;
    }
};

}  // namespace pirates::test
