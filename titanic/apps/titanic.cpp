// titanic: the Titanic service (9/TSP). A Majordomo worker for titanic.request, titanic.reply and
// titanic.close, and a Majordomo client of the services it forwards requests to. Requests are acknowledged
// only once they are on disk (fsync'd); see docs/titanic.md for the guarantees.
#include <pirates/common/chaos.hpp>
#include <pirates/common/cli.hpp>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/notify.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/titanic/metrics.hpp>
#include <pirates/titanic/titanic.hpp>

using namespace pirates;

namespace {

// Fault injection for the crash tests: die at a chosen point of the N-th commit of the log.
struct CrashIo : titanic::FileIo {
    enum class Point { none, torn_write, before_fsync, after_fsync } point = Point::none;
    int commit = 0;
    int syncs = 0;
    bool armed = false;  // only once the store is open: creating or recovering it is not a commit
    long pwrite(int fd, const void* data, std::size_t size, std::int64_t offset) override {
        if (armed && point == Point::torn_write && syncs == commit - 1 && size > 1) {
            FileIo::pwrite(fd, data, size / 2, offset);  // half a batch reaches the file, then the crash
            crash_now();
        }
        return FileIo::pwrite(fd, data, size, offset);
    }
    int fdatasync(int fd) override {
        if (!armed) return FileIo::fdatasync(fd);
        ++syncs;
        if (point == Point::before_fsync && syncs == commit) crash_now();
        int r = FileIo::fdatasync(fd);
        if (point == Point::after_fsync && syncs == commit) crash_now();
        return r;
    }
};

}  // namespace

int main(int argc, char** argv) try {
    titanic::TitanicOptions config;
    std::string metrics_address;
    int compact_kb = static_cast<int>(config.compact_min_bytes / 1024);
    int max_open = static_cast<int>(config.max_open);
    std::string crash_at;
    CrashIo crash;
    CommandLine cli("titanic",
                    "Titanic (9/TSP): disk-backed, disconnected request-reply over a Majordomo broker.\n"
                    "Serves titanic.request, titanic.reply and titanic.close; stores every request durably "
                    "(fsync) before acknowledging it, then forwards it to its service.");
    cli.endpoint("connect", config.broker, "Majordomo broker endpoint", true)
        .text("dir", config.dir, "store directory (created if missing)", true)
        .millis("heartbeat-ms", config.heartbeat, "MDP worker heartbeat interval")
        .integer("liveness", config.liveness, "silent heartbeats before the broker counts as dead", 1, 100)
        .millis("reconnect-ms", config.reconnect, "first worker reconnect delay, doubled up to 32 s")
        .integer("pool", config.pool,
                 "worker connections for titanic.request and for titanic.close: requests that can share one "
                 "fsync",
                 1, 1024)
        .integer("lanes", config.dispatch.lanes, "requests dispatched at once, one per service", 1, 1024)
        .millis("timeout-ms", config.dispatch.timeout,
                "time a service has to answer a dispatched request or mmi.service query")
        .millis("retry-ms", config.dispatch.backoff.initial,
                "first delay before retrying an unavailable service, doubled up to --retry-max-ms")
        .millis("retry-max-ms", config.dispatch.backoff.max, "longest delay between retries")
        .integer("compact-kb", compact_kb,
                 "compact the log when closed requests take more than this and more than the open ones", 1,
                 1 << 30)
        .integer("max-open", max_open,
                 "requests stored and not yet closed, at most; titanic.request beyond it is answered 500", 1)
        .bytes("max-message-bytes", config.max_message_bytes,
               "largest frame accepted from the broker; a larger one drops that connection", 1)
        .text("crash-at", crash_at, "fault injection for tests: torn-write, before-fsync or after-fsync")
        .integer("crash-commit", crash.commit,
                 "fault injection: the commit (1, 2, ...) at which --crash-at strikes", 0);
    pirates::CurveFlags curve;
    pirates::curve_client_flags(cli, curve);
    cli.metrics(metrics_address);
    cli.parse(argc, argv);
    config.security = pirates::client_security(cli, curve);
    config.dispatch.backoff.max = std::max(config.dispatch.backoff.max, config.dispatch.backoff.initial);
    config.compact_min_bytes = static_cast<std::uint64_t>(compact_kb) * 1024;
    config.max_open = static_cast<std::size_t>(max_open);
    if (!crash_at.empty()) {
        if (crash_at == "torn-write")
            crash.point = CrashIo::Point::torn_write;
        else if (crash_at == "before-fsync")
            crash.point = CrashIo::Point::before_fsync;
        else if (crash_at == "after-fsync")
            crash.point = CrashIo::Point::after_fsync;
        else
            cli.fail("--crash-at must be torn-write, before-fsync or after-fsync");
        if (crash.commit < 1) cli.fail("--crash-at needs --crash-commit N (N >= 1)");
        config.io = &crash;
    }

    install_server_signals();
    zmq::context_t context;
    auto server = titanic::Titanic::open(context, config);
    if (!server) {
        log::error("{}", server.error().reason);
        return 1;
    }
    crash.armed = true;
    StopSignalHook hook([&] {
        notify_stopping();
        server.value()->request_stop();
    });
    SummarySignalHook summary_hook([&] { server.value()->request_summary(); });
    std::unique_ptr<metrics::Exporter> exporter;
    if (!metrics_address.empty()) exporter = titanic::serve_metrics(*server.value(), metrics_address);
    notify_ready();
    server.value()->run();
    return 0;
} catch (...) {
    return exit_on_exception();
}
