// An application that embeds a broker, a worker and a client in one process: each stops on its own, through its
// request_stop(), with no signal and no process-wide flag; and the library's log lines reach the application's
// sink.
#include <doctest/doctest.h>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/majordomo/worker.hpp>

#include "support/net.hpp"

#include <atomic>
#include <mutex>
#include <thread>

using namespace pirates;
using namespace pirates::majordomo;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {
// Collects the library's log lines for the length of a test, then restores stderr.
struct CapturedLog {
    std::mutex mutex;
    std::vector<std::string> lines;
    CapturedLog() {
        log::set_sink([this](log::Level, std::string_view message, std::string_view) {
            std::lock_guard lock(mutex);
            lines.emplace_back(message);
        });
    }
    ~CapturedLog() { log::set_sink({}); }
    bool contains(std::string_view text) {
        std::lock_guard lock(mutex);
        for (auto& l : lines)
            if (l.find(text) != std::string::npos) return true;
        return false;
    }
};
}  // namespace

TEST_CASE(
    "a broker, a worker and a client in one process stop one by one, and their log lines reach the sink") {
    CapturedLog captured;
    clear_stop_request();
    zmq::context_t context;

    BrokerOptions bo;
    bo.bind = "tcp://127.0.0.1:*";
    bo.core.heartbeat = 50ms;
    Broker broker(context, bo);
    std::thread broker_thread([&] { broker.run(); });

    WorkerOptions wo;
    wo.connect = broker.endpoint();
    wo.service = "echo";
    wo.heartbeat = 50ms;
    Worker worker(context, wo);
    std::atomic<int> handled{0};
    std::thread worker_thread([&] {
        worker.run([&](Frames&& body) {
            ++handled;
            return std::move(body);
        });
    });

    Client client(context, ClientOptions{broker.endpoint(), 2000ms, 3});
    auto first = client.request("echo", make_frames({"one"}));
    REQUIRE(first.ok());
    CHECK(strings(first.reply) == std::vector<std::string>{"one"});

    // The worker stops alone: the broker goes on serving (MMI) and a request to "echo" now finds no worker.
    worker.request_stop();
    worker_thread.join();
    CHECK(eventually([&] {
        auto r = client.request("mmi.service", make_frames({"echo"}));
        return r.ok() && strings(r.reply) == std::vector<std::string>{"404"};
    }));

    // The client stops alone: its next request is interrupted at once, and the broker is still running.
    client.request_stop();
    auto after = client.request("echo", make_frames({"two"}));
    CHECK(after.status == Status::interrupted);
    Client other(context, ClientOptions{broker.endpoint(), 2000ms, 1});
    auto mmi = other.request("mmi.service", make_frames({"echo"}));
    REQUIRE(mmi.ok());

    // Then the broker.
    broker.request_stop();
    broker_thread.join();
    CHECK(handled.load() == 1);
    CHECK_FALSE(stop_requested());  // nothing used the process-wide flag

    // The library's own lines went to the application's sink.
    CHECK(captured.contains("bound broker"));
    CHECK(captured.contains("broker stopping"));
}
