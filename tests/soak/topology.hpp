#pragma once
// The soak's topology: one mdbroker, N echo mdworkers and titanic (its store in the soak's directory), each
// worker and titanic reaching the broker through its own FaultProxy (a "link"), the soak's clients through one
// more proxy that is never faulted (the "front"). The broker binds an OS-chosen port at every start; the
// proxies are pointed at it again, so everybody else keeps the proxy ports across broker restarts.
#include "child.hpp"
#include "support/fault_proxy.hpp"

#include <pirates/common/clock.hpp>

#include <memory>
#include <string>
#include <vector>

namespace pirates::soak {

struct TopologySettings {
    std::string bin;  // directory of the programs
    std::string dir;  // the run's directory: logs, titanic's store
    int workers = 2;
    int heartbeat_ms = 250;
    Duration start_timeout{30000};  // a program's "bound" line (a loaded machine)
    std::string leaky_child;        // self-test: this command (the soak itself) is run as role "leaker"
};

// One program of the topology, restarted under the same name and log file.
struct Role {
    std::string name;     // mdbroker, titanic, mdworker, leaker
    std::string label;    // worker1, worker2... (name for single roles)
    std::string program;  // path
    std::vector<std::string> args;
    std::unique_ptr<Child> child;
    int starts = 0;
    int unexpected_exits = 0;  // found gone without the soak killing it
};

class Topology {
  public:
    explicit Topology(TopologySettings settings);
    ~Topology();

    // Start everything but the self-test's leaker; throws std::runtime_error if the broker does not bind in
    // time.
    void start();
    // Start the roles start() left out (the leaker: it grows from the start of the fault phase).
    void start_late();
    // What the soak's clients connect to.
    std::string client_endpoint() const { return front_->endpoint(); }

    // Kill (sig) a role and start it again at once. The broker's restart points every proxy at its new port.
    void restart(Role& role, int sig);
    Role& broker() { return *roles_[0]; }
    Role& titanic() { return *roles_[1]; }
    std::vector<Role*> workers();
    std::vector<std::unique_ptr<Role>>& roles() { return roles_; }

    // The links that faults may hit: titanic's first, then each worker's.
    std::vector<test::FaultProxy*> links();
    std::vector<std::string> link_names() const;
    void heal_links();

    // Restart every role that is not running; returns how many were found gone (counted in each role).
    int revive();
    // The labels of the roles whose log shows a sanitizer report (AddressSanitizer, LeakSanitizer, UBSan's
    // "runtime error:"), in any of their runs.
    std::vector<std::string> sanitizer_reports() const;
    // SIGTERM everything (SIGKILL after `timeout`); returns the labels of roles that did not exit 0.
    std::vector<std::string> stop(Duration timeout);

  private:
    void launch(Role& role);
    void start_broker();

    TopologySettings settings_;
    std::vector<std::unique_ptr<Role>> roles_;
    std::unique_ptr<test::FaultProxy> front_;
    std::vector<std::unique_ptr<test::FaultProxy>> links_;  // titanic, worker1, worker2...
};

}  // namespace pirates::soak
