#include "topology.hpp"

#include <pirates/common/log.hpp>

#include <sys/stat.h>
#include <csignal>
#include <stdexcept>

namespace pirates::soak {

namespace {

std::size_t file_size(const std::string& file) {
    struct stat st {};
    return ::stat(file.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

std::string host_port(const std::string& endpoint) {
    return "127.0.0.1:" + endpoint.substr(endpoint.rfind(':') + 1);
}

}  // namespace

Topology::Topology(TopologySettings settings) : settings_(std::move(settings)) {
    const std::string hb = std::to_string(settings_.heartbeat_ms);
    auto add = [&](std::string name, std::string label, std::vector<std::string> args) {
        auto role = std::make_unique<Role>();
        role->name = std::move(name);
        role->label = std::move(label);
        role->program = settings_.bin + "/" + role->name;
        role->args = std::move(args);
        roles_.push_back(std::move(role));
    };
    front_ = std::make_unique<test::FaultProxy>();
    links_.push_back(std::make_unique<test::FaultProxy>());
    for (int n = 0; n < settings_.workers; ++n) links_.push_back(std::make_unique<test::FaultProxy>());
    add("mdbroker", "mdbroker",
        {"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", hb, "--liveness", "3", "--drain-ms", "500"});
    add("titanic", "titanic",
        {"--connect", links_[0]->endpoint(), "--dir", settings_.dir + "/store", "--heartbeat-ms", hb,
         "--liveness", "3", "--reconnect-ms", hb, "--timeout-ms", "2000", "--retry-ms", "200",
         "--retry-max-ms", "2000"});
    for (int n = 1; n <= settings_.workers; ++n)
        add("mdworker", "worker" + std::to_string(n),
            {"--connect", links_[static_cast<std::size_t>(n)]->endpoint(), "--service", "echo",
             "--heartbeat-ms", hb, "--liveness", "3", "--reconnect-ms", hb});
    if (!settings_.leaky_child.empty()) {
        add("leaker", "leaker", {"--leak-child"});
        roles_.back()->program = settings_.leaky_child;
    }
}

Topology::~Topology() {
    for (auto& role : roles_) role->child.reset();  // SIGKILL whatever still runs
}

void Topology::launch(Role& role) {
    role.child.reset();
    role.child = std::make_unique<Child>(role.program, role.args, settings_.dir + "/" + role.label + ".log");
    ++role.starts;
    log::debug("started {} (pid {})", role.label, role.child->pid());
}

void Topology::start_broker() {
    Role& b = broker();
    const std::string log_file = settings_.dir + "/" + b.label + ".log";
    const std::size_t from = file_size(log_file);
    launch(b);
    const std::string endpoint = wait_bound(log_file, "broker", settings_.start_timeout, from);
    if (endpoint.empty())
        throw std::runtime_error("mdbroker did not bind within " +
                                 std::to_string(settings_.start_timeout.count()) + " ms (see " + log_file +
                                 ")");
    front_->set_target(host_port(endpoint));
    for (auto& link : links_) link->set_target(host_port(endpoint));
    log::debug("broker bound {}", endpoint);
}

void Topology::start() {
    start_broker();
    for (std::size_t n = 1; n < roles_.size(); ++n)
        if (roles_[n]->name != "leaker") launch(*roles_[n]);
}

void Topology::start_late() {
    for (auto& role : roles_)
        if (!role->child) launch(*role);
}

void Topology::restart(Role& role, int sig) {
    if (role.child) role.child->stop(sig, Duration{5000});
    if (&role == &broker())
        start_broker();
    else
        launch(role);
}

std::vector<Role*> Topology::workers() {
    std::vector<Role*> out;
    for (auto& r : roles_)
        if (r->name == "mdworker") out.push_back(r.get());
    return out;
}

std::vector<test::FaultProxy*> Topology::links() {
    std::vector<test::FaultProxy*> out;
    for (auto& l : links_) out.push_back(l.get());
    return out;
}

std::vector<std::string> Topology::link_names() const {
    std::vector<std::string> out{"titanic"};
    for (int n = 1; n <= settings_.workers; ++n) out.push_back("worker" + std::to_string(n));
    return out;
}

void Topology::heal_links() {
    for (auto& l : links_) l->heal();
}

int Topology::revive() {
    int gone = 0;
    for (auto& role : roles_) {
        if (!role->child || role->child->running()) continue;  // not started yet, or running
        ++gone;
        ++role->unexpected_exits;
        log::warn("{} exited on its own (status {}); restarting it", role->label,
                  role->child && role->child->exit_status() ? *role->child->exit_status() : -1);
        restart(*role, SIGKILL);
    }
    return gone;
}

std::vector<std::string> Topology::sanitizer_reports() const {
    std::vector<std::string> out;
    for (const auto& role : roles_) {
        const std::string text = read_file(settings_.dir + "/" + role->label + ".log");
        for (const char* mark : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"})
            if (text.find(mark) != std::string::npos) {
                out.push_back(role->label);
                break;
            }
    }
    return out;
}

std::vector<std::string> Topology::stop(Duration timeout) {
    std::vector<std::string> bad;
    // Clients of the broker first, then the broker.
    for (auto it = roles_.rbegin(); it != roles_.rend(); ++it) {
        auto& role = **it;
        if (!role.child) continue;
        const bool was_running = role.child->running();
        const auto status = role.child->stop(SIGTERM, timeout);
        if (!was_running || status != 0) bad.push_back(role.label);
    }
    return bad;
}

}  // namespace pirates::soak
