// soak: the demo topology (mdbroker, echo mdworkers, titanic) under continuous random faults for a while,
// then a drain and one summary line. PASS when every Titanic request that was acknowledged got its reply with
// the body sent, no program exited on its own, nobody answered a wrong body, no role's memory grew without
// bound (rss.hpp), and every program stopped cleanly (exit 0) on the final SIGTERM. Exit 0 on PASS, 1 on FAIL,
// 2 on bad flags, 130 when stopped by SIGINT/SIGTERM.
//   soak --minutes 2 [--seed N] [--bin DIR] [--workers N] [-v]
// Children's logs and titanic's store go to a temporary directory, kept (and named) on FAIL.
#include "clients.hpp"
#include "faults.hpp"
#include "rss.hpp"
#include "topology.hpp"

#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

using namespace pirates;
using namespace pirates::soak;
namespace fs = std::filesystem;

namespace {

// --leak-child: the self-test's leaking process: 10 MB more every second, up to 1.5 GB, until SIGTERM.
int leak_child() {
    install_stop_signals();
    std::vector<std::vector<char>> held;
    while (!stop_requested() && held.size() < 1536) {
        held.emplace_back(1024 * 1024, '\1');
        std::this_thread::sleep_for(Duration{100});
    }
    while (!stop_requested()) std::this_thread::sleep_for(Duration{50});
    return 0;
}

std::string own_dir() {
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string(".") : exe.parent_path().string();
}

double seconds_since(TimePoint t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) try {
    std::string minutes_text = "2", seed_text, bin;
    int workers = 2;
    Duration drain{60000}, start_timeout{60000};
    Duration titanic_interval{100}, echo_interval{50};
    bool keep = false, leak_self_test = false, leak = false;
    CommandLine cli(
        "soak",
        "Soak run: mdbroker, echo mdworkers and titanic under random faults (kills, restarts, link "
        "drops, cuts and delays through fault proxies) while the soak sends Titanic and echo requests; "
        "then a drain and one summary line (PASS: every acknowledged Titanic request answered with its "
        "body, no program exited on its own, no unbounded memory growth).");
    cli.text("minutes", minutes_text, "length of the fault phase in minutes (a decimal number > 0)")
        .text("seed", seed_text,
              "seed of the random faults and bodies (default: from the clock; printed in the "
              "summary, give it again to replay the same fault sequence)")
        .text("bin", bin, "directory of mdbroker, mdworker and titanic (default: the soak's own directory)")
        .integer("workers", workers, "echo workers", 1, 8)
        .millis("drain-ms", drain, "after the faults, wait this long at most for every acknowledged reply")
        .millis("start-ms", start_timeout,
                "wait this long at most for the topology to serve before the faults")
        .millis("titanic-ms", titanic_interval, "interval between titanic.request sends")
        .millis("echo-ms", echo_interval, "interval between plain echo requests")
        .flag("keep", keep, "keep the run's directory (logs, titanic's store) even on PASS")
        .flag("leak-self-test", leak_self_test,
              "also run a child that grows 10 MB a second from the start of the faults (up to 1.5 GB: for "
              "runs up to "
              "about a minute): the run must FAIL on memory growth (checks the rule)")
        .flag("leak-child", leak, "internal: be that leaking child");
    cli.parse(argc, argv);
    if (leak) return leak_child();

    char* end = nullptr;
    const double minutes = std::strtod(minutes_text.c_str(), &end);
    if (minutes_text.empty() || *end != '\0' || !(minutes > 0) || minutes > 24 * 60)
        cli.fail("--minutes: a number of minutes > 0 (and at most a day), not '" + minutes_text + "'");
    std::uint64_t seed = 0;
    if (seed_text.empty()) {
        seed = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) %
               1000000000;
    } else {
        const auto v = std::strtoull(seed_text.c_str(), &end, 10);
        if (*end != '\0' || seed_text[0] == '-')
            cli.fail("--seed: a non-negative integer, not '" + seed_text + "'");
        seed = v;
    }
    if (bin.empty()) bin = own_dir();
    for (const char* p : {"mdbroker", "mdworker", "titanic"})
        if (::access((bin + "/" + p).c_str(), X_OK) != 0)
            cli.fail(fmt::format("--bin: no program {} in {}", p, bin));

    install_stop_signals();
    const double run_s = minutes * 60;
    std::string dir_template = (fs::temp_directory_path() / "pirates-soak-XXXXXX").string();
    if (!::mkdtemp(dir_template.data())) throw std::runtime_error("cannot create a temporary directory");
    const std::string dir = dir_template;
    log::info("soak {:.2f} min, seed {}, programs from {}, logs in {}", minutes, seed, bin, dir);

    TopologySettings settings;
    settings.bin = bin;
    settings.dir = dir;
    settings.workers = workers;
    if (leak_self_test) settings.leaky_child = (fs::path(own_dir()) / "soak").string();
    auto topology = std::make_unique<Topology>(settings);
    std::vector<std::string> reasons;
    RssWatch rss;
    Ledger ledger;
    zmq::context_t context;
    std::unique_ptr<TitanicSender> sender;
    std::unique_ptr<TitanicPoller> poller;
    std::unique_ptr<EchoClient> echo;
    FaultSchedule faults(*topology, seed);
    int unexpected = 0;
    auto began = Clock::now();
    auto next_sample = began;
    auto sample = [&] {
        if (Clock::now() < next_sample) return;
        next_sample = Clock::now() + Duration{1000};  // once a second, no burst after a long restart
        const double at = seconds_since(began);
        for (auto& role : topology->roles())
            if (role->child && role->child->running()) rss.sample(at, role->name, role->child->rss_kb());
    };

    bool started = false;
    try {
        topology->start();
        started = true;
    } catch (const std::exception& e) {
        reasons.push_back(e.what());
    }
    double drained_s = 0;
    if (started) {
        sender = std::make_unique<TitanicSender>(context, topology->client_endpoint(), ledger,
                                                 titanic_interval, seed);
        poller = std::make_unique<TitanicPoller>(context, topology->client_endpoint(), ledger, Duration{200});
        echo = std::make_unique<EchoClient>(context, topology->client_endpoint(), echo_interval, seed);
        StopSignalHook hook([&] {
            // Wake the clients' waits at once; their threads are joined below.
            sender->stop_soon();
            poller->stop_soon();
            echo->stop_soon();
        });
        sender->start();
        poller->start();
        echo->start();
        // Warm-up: the fault phase begins once the topology serves (a first titanic.request acknowledged),
        // however long the programs take to start on a loaded machine.
        const auto serving_by = Clock::now() + start_timeout;
        while (!stop_requested() && ledger.counts().acked == 0 && Clock::now() < serving_by) {
            unexpected += topology->revive();
            std::this_thread::sleep_for(Duration{50});
        }
        if (ledger.counts().acked == 0 && !stop_requested())
            reasons.push_back(fmt::format("no titanic.request acknowledged within {} ms of the start",
                                          start_timeout.count()));
        began = Clock::now();
        next_sample = began;
        faults.start();
        topology->start_late();
        // The fault phase.
        const auto fault_end =
            began + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(run_s));
        while (!stop_requested() && Clock::now() < fault_end) {
            faults.tick();
            unexpected += topology->revive();
            sample();
            std::this_thread::sleep_for(Duration{50});
        }
        // The drain: no more faults or new requests; every role up; every acknowledged request answered.
        faults.heal_all();
        if (!stop_requested()) unexpected += topology->revive();
        sender->stop();
        echo->stop();
        const auto drain_start = Clock::now();
        if (!stop_requested())
            log::info("drain: {} acknowledged requests outstanding", ledger.counts().outstanding);
        while (!stop_requested() && ledger.counts().outstanding > 0 && Clock::now() < drain_start + drain) {
            unexpected += topology->revive();
            sample();
            std::this_thread::sleep_for(Duration{50});
        }
        drained_s = seconds_since(drain_start);
        poller->stop();
    }
    const bool interrupted = stop_requested();
    // Every program must stop cleanly on SIGTERM (exit 0), as every executable here does.
    const auto not_clean = topology->stop(Duration{10000});
    // The verdict.
    const auto t = ledger.counts();
    const auto e = echo ? echo->counts() : EchoCounts{};
    const auto lost = t.acked - t.replied;
    const auto verdict = rss.judge(run_s);
    if (started && !interrupted) {  // a stopped run is not judged: its summary is what it had so far
        if (lost > 0)
            reasons.push_back(
                fmt::format("lost {} (unknown {} wrong {}, not answered after {:.0f} s of drain)", lost,
                            t.unknown, t.wrong, drained_s));
        if (e.wrong > 0) reasons.push_back(fmt::format("echo answered a wrong body {} times", e.wrong));
        if (unexpected > 0) reasons.push_back(fmt::format("{} programs exited on their own", unexpected));
        if (!verdict.ok) reasons.push_back("memory growth: " + verdict.reason);
        if (!not_clean.empty())
            reasons.push_back(fmt::format("did not stop cleanly on SIGTERM: {}", fmt::join(not_clean, ", ")));
        if (const auto reports = topology->sanitizer_reports(); !reports.empty())
            reasons.push_back(fmt::format("sanitizer reports in the logs of {}", fmt::join(reports, ", ")));
    }
    const bool pass = reasons.empty() && !interrupted;
    std::string faults_text;
    for (std::size_t n = 0; n < fault_kinds; ++n)
        faults_text += fmt::format("{}{} {}", n ? " " : "", name(static_cast<Fault>(n)), faults.counts()[n]);
    std::string rss_text;
    for (const char* role : {"mdbroker", "titanic", "mdworker", "leaker"})
        if (verdict.peak.count(role)) rss_text += fmt::format(" {} {}", role, verdict.peak.at(role));
    const char* word = interrupted ? "STOPPED" : pass ? "PASS" : "FAIL";
    std::string why = reasons.empty() ? "" : fmt::format(" ({})", fmt::join(reasons, "; "));
    // The growth self-test fails by design: its directory is kept only with --keep.
    const bool keep_dir = keep || (!pass && !interrupted && !leak_self_test);
    fmt::print(
        "soak: {}{} {:g} min seed {}: titanic requests {} acked {} replied {} lost {}; echo {} ok {} "
        "failed {}; faults {}; exited on their own {}; rss peak KB{}{}\n",
        word, why, minutes, seed, t.requests, t.acked, t.replied, lost, e.requests, e.ok, e.failed,
        faults_text, unexpected, rss_text, keep_dir ? "; logs in " + dir : std::string());
    std::fflush(stdout);
    topology.reset();
    if (!keep_dir) {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    if (interrupted) return exit_interrupted;
    return pass ? 0 : 1;
} catch (...) {
    return exit_on_exception();
}
