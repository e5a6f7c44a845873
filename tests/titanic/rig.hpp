#pragma once
// The rig of Titanic's process tests: one mdbroker, one store directory, one titanic (restartable), echo
// workers, and clients that call through the broker. Timings are short; deadlines are generous.
#include <doctest/doctest.h>
#include <pirates/majordomo/client.hpp>

#include "support/net.hpp"
#include "support/process.hpp"
#include "temp_dir.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pirates::test {

using Strings = std::vector<std::string>;
using namespace std::chrono_literals;

// One broker, one store directory, one titanic (restartable), and clients.
struct Rig {
    TempDir dir;
    zmq::context_t context;
    std::unique_ptr<Process> broker;
    std::unique_ptr<Process> titanic;
    std::string endpoint;

    void start_broker(std::string bind = "tcp://127.0.0.1:*") {
        broker = std::make_unique<Process>("mdbroker",
                                           std::vector<std::string>{"--bind", bind, "--heartbeat-ms", "200"});
        endpoint = broker->bound_endpoint("broker");
        REQUIRE(!endpoint.empty());
    }
    std::string store() const { return dir.sub("store"); }
    void start_titanic(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"--connect",      endpoint, "--dir",          store(),
                                      "--heartbeat-ms", "200",    "--reconnect-ms", "50",
                                      "--retry-ms",     "20",     "--retry-max-ms", "200",
                                      "--timeout-ms",   "1000"};
        args.insert(args.end(), extra.begin(), extra.end());
        titanic = std::make_unique<Process>("titanic", args);
        REQUIRE(titanic->wait_for("serving"));
    }
    std::unique_ptr<Process> start_worker(const std::string& service) {
        return std::make_unique<Process>(
            "mdworker", std::vector<std::string>{"--connect", endpoint, "--service", service,
                                                 "--heartbeat-ms", "200", "--reconnect-ms", "50"});
    }
    // One call through a fresh client (so no late answer of an earlier call can be taken for this one). An
    // MDP reply can be lost (a worker connection counted dead under load): the client resends, as clients
    // should.
    std::optional<Strings> call(std::string_view service, std::initializer_list<std::string_view> body,
                                Duration timeout = 1000ms, int attempts = 3) {
        majordomo::Client client(context, majordomo::ClientConfig{endpoint, timeout, attempts});
        auto r = client.request(service, make_frames(body));
        if (!r.ok()) return std::nullopt;
        return strings(r.reply);
    }
    // titanic.request until it answers (Titanic may be registering with the broker still): the uuid.
    std::string submit(std::string_view service, std::string_view body) {
        std::string uuid;
        bool ok = eventually(
            [&] {
                auto r = call("titanic.request", {service, body}, 500ms, 1);
                if (!r || r->size() != 2 || (*r)[0] != "200") return false;
                uuid = (*r)[1];
                return true;
            },
            10s);
        REQUIRE(ok);
        REQUIRE(uuid.size() == 32);
        return uuid;
    }
    // titanic.reply until it says 200: the reply frames (code removed); nullopt on deadline.
    std::optional<Strings> await_reply(const std::string& uuid, Duration deadline = Duration{10000}) {
        std::optional<Strings> out;
        eventually(
            [&] {
                auto r = call("titanic.reply", {uuid}, 500ms, 1);
                if (!r || r->empty() || (*r)[0] != "200") return false;
                out = Strings(r->begin() + 1, r->end());
                return true;
            },
            deadline);
        return out;
    }
};

}  // namespace pirates::test
