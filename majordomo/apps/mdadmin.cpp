// mdadmin: asks a running mdbroker what it knows, through MMI (docs/protocols.md): the services with their
// workers and counters (mmi.stats), one service's worker count (mmi.workers), or the table redrawn every
// interval (watch). Exit 0 on an answer, 1 when the broker does not answer (or does not know the command or
// the service), 2 on a usage error.
#include <pirates/common/cli.hpp>
#include <pirates/common/json.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/majordomo/client.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace pirates;
using namespace pirates::majordomo;

namespace {

// One MMI request; the reply's frames, or nullopt (after a message on stderr) when there was none.
std::optional<std::vector<std::string>> ask(Client& client, std::string_view command, std::string_view arg) {
    Frames body;
    body.add(frame(arg));
    auto r = client.request(command, std::move(body));
    if (!r.ok()) {
        if (r.status != Status::interrupted)
            std::fprintf(stderr, "mdadmin: no answer from the broker to %.*s (%s)\n",
                         static_cast<int>(command.size()), command.data(), name(r.status));
        return std::nullopt;
    }
    std::vector<std::string> frames;
    for (const auto& f : r.reply) frames.push_back(f.to_string());
    if (frames.empty() || frames[0] != "200") {
        std::fprintf(stderr, "mdadmin: the broker answered %s to %.*s\n",
                     frames.empty() ? "nothing" : frames[0].c_str(), static_cast<int>(command.size()),
                     command.data());
        return std::nullopt;
    }
    return frames;
}

std::uint64_t count(const JsonValue& object, std::string_view key) {
    const JsonValue* v = object.find(key);
    return v && v->number() && *v->number() >= 0 ? static_cast<std::uint64_t>(*v->number()) : 0;
}

// The readable form of an mmi.stats object: a summary line, then one row per service.
std::string table(const JsonValue& stats) {
    std::string out;
    const JsonValue* version = stats.find("version");
    const JsonValue* uptime = stats.find("uptime_s");
    out += fmt::format(
        "broker {} up {:.0f} s: requests {} replies {} workers {} idle {} queued {} | malformed {} "
        "protocol-errors {} expired {} queue-full {}\n\n",
        version && version->string() ? *version->string() : "?",
        uptime && uptime->number() ? *uptime->number() : 0.0, count(stats, "requests"),
        count(stats, "replies"), count(stats, "workers"), count(stats, "idle"), count(stats, "queued"),
        count(stats, "malformed"), count(stats, "protocol_errors"), count(stats, "expired"),
        count(stats, "queue_full"));
    std::size_t width = 7;  // "SERVICE"
    const JsonValue* services = stats.find("services");
    const JsonValue::Array* rows = services ? services->array() : nullptr;
    if (rows)
        for (const auto& s : *rows)
            if (const JsonValue* n = s.find("name"); n && n->string())
                width = std::max(width, n->string()->size());
    out += fmt::format("{:<{}}  {:>7}  {:>6}  {:>6}  {:>10}  {:>10}\n", "SERVICE", width, "WORKERS", "IDLE",
                       "QUEUED", "REQUESTS", "REPLIES");
    if (rows)
        for (const auto& s : *rows) {
            const JsonValue* n = s.find("name");
            out +=
                fmt::format("{:<{}}  {:>7}  {:>6}  {:>6}  {:>10}  {:>10}\n",
                            n && n->string() ? *n->string() : std::string("?"), width, count(s, "workers"),
                            count(s, "idle"), count(s, "queued"), count(s, "requests"), count(s, "replies"));
        }
    if (!rows || rows->empty()) out += "(no services)\n";
    return out;
}

// mmi.stats, parsed; nullopt after a message on stderr.
std::optional<std::pair<std::string, JsonValue>> fetch_stats(Client& client) {
    auto frames = ask(client, "mmi.stats", "");
    if (!frames) return std::nullopt;
    if (frames->size() != 2) {
        std::fprintf(stderr, "mdadmin: mmi.stats reply has %zu frames, not 2\n", frames->size());
        return std::nullopt;
    }
    auto json = parse_json((*frames)[1]);
    if (!json || !json->object()) {
        std::fprintf(stderr, "mdadmin: mmi.stats reply is not a JSON object\n");
        return std::nullopt;
    }
    return std::pair{std::move((*frames)[1]), std::move(*json)};
}

}  // namespace

int main(int argc, char** argv) try {
    std::string broker, mdp = "0.1";
    std::vector<std::string> words;
    bool json = false;
    Duration timeout{2000}, interval{1000};
    CommandLine cli("mdadmin",
                    "Majordomo admin: asks a running mdbroker about its services, workers and counters.");
    std::vector<std::string> brokers;
    cli.endpoints("connect", brokers,
                  "broker endpoint, or two (A,B: asks A, and B if A does not answer within --timeout-ms; "
                  "the first that answers is shown)",
                  true)
        .flag("json", json, "print the broker's JSON (mmi.stats) or a JSON object instead of a table")
        .millis("timeout-ms", timeout, "how long to wait for the broker's answer")
        .millis("interval-ms", interval, "watch: time between two redraws")
        .text("mdp", mdp, "protocol: 0.1, 0.2 or majortomo")
        .positionals("COMMAND [NAME]", words,
                     "services (table of services), stats (counters and table), workers NAME (its worker "
                     "count), watch (the table, redrawn every --interval-ms until SIGINT/SIGTERM)");
    cli.parse(argc, argv);
    const auto version = parse_version(mdp);
    if (!version) cli.fail("--mdp must be 0.1, 0.2 or majortomo");
    if (words.empty()) cli.fail("a command is needed: services, stats, workers NAME or watch");
    const std::string command = words[0];
    if (command == "workers") {
        if (words.size() != 2) cli.fail("workers takes one service name");
    } else if (command == "services" || command == "stats" || command == "watch") {
        if (words.size() != 1) cli.fail(fmt::format("{} takes no argument", command));
    } else {
        cli.fail(fmt::format("unknown command '{}' (services, stats, workers NAME, watch)", command));
    }
    install_stop_signals();

    zmq::context_t context;
    broker = fmt::format("{}", fmt::join(brokers, ","));
    ClientOptions co{broker, timeout, static_cast<int>(brokers.size()), *version};
    co.settle = Duration{0};  // an admin asks the next broker at once: no Binary Star pause to wait out
    Client client(context, co);
    StopSignalHook hook([&] { client.request_stop(); });

    if (command == "workers") {
        auto frames = ask(client, "mmi.workers", words[1]);
        if (!frames) return 1;
        const std::string n = frames->size() > 1 ? (*frames)[1] : "?";
        if (json) {
            JsonWriter j;
            j.begin_object().key("service").value(words[1]).key("workers");
            if (frames->size() > 1 && !n.empty() && n.find_first_not_of("0123456789") == std::string::npos)
                j.value(static_cast<std::uint64_t>(std::stoull(n)));
            else
                j.null();
            std::printf("%s\n", j.end_object().str().c_str());
        } else {
            std::printf("%s\n", n.c_str());
        }
        return 0;
    }
    if (command == "services" || command == "stats") {
        auto stats = fetch_stats(client);
        if (!stats) return 1;
        if (json) {
            std::printf("%s\n", stats->first.c_str());
        } else if (command == "services") {
            std::string t = table(stats->second);
            std::fputs(t.substr(t.find("\n\n") + 2).c_str(), stdout);  // the rows without the summary line
        } else {
            std::fputs(table(stats->second).c_str(), stdout);
        }
        return 0;
    }
    // watch
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    while (!stop_requested()) {
        auto stats = fetch_stats(client);
        if (stop_requested()) break;
        if (tty) std::fputs("\x1b[H\x1b[2J", stdout);  // home, clear
        if (stats)
            std::fputs(json ? (stats->first + "\n").c_str() : table(stats->second).c_str(), stdout);
        else
            std::printf("(no answer from %s)\n", broker.c_str());
        if (!tty && !json) std::fputs("\n", stdout);
        std::fflush(stdout);
        // Wait the interval in short slices, so that SIGINT/SIGTERM ends the program at once.
        const auto until = Clock::now() + interval;
        while (!stop_requested() && Clock::now() < until)
            std::this_thread::sleep_for(
                std::min<Duration>(Duration{50}, std::chrono::duration_cast<Duration>(until - Clock::now())));
    }
    return 0;
} catch (...) {
    return exit_on_exception();
}
