// bench_titanic: how fast can Titanic durably accept requests, compared with the disk's raw fsync rate?
//
//   raw:    small appends (64 bytes), each followed by fdatasync, on the store's filesystem: the rate at
//   which
//           anything can be made durable one record at a time.
//   store:  the same through titanic::Store, one record per commit (the cost of our record format and
//   checks). group:  titanic::Store with commits of --batch records (what the driver's group commit does).
//
// Every figure is printed with its ratio to the raw fsync rate measured in the same run.
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker.hpp>
#include <pirates/titanic/server.hpp>
#include <pirates/titanic/store.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

using namespace pirates;
using namespace pirates::titanic;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double raw_fsync_rate(const std::string& dir, int writes) {
    std::string path = (fs::path(dir) / "raw-fsync.bench").string();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot create " + path);
    char record[64];
    for (std::size_t i = 0; i < sizeof record; ++i) record[i] = static_cast<char>('a' + i % 26);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < writes; ++i) {
        if (::write(fd, record, sizeof record) != static_cast<ssize_t>(sizeof record) || ::fdatasync(fd) != 0)
            throw std::runtime_error("write/fdatasync failed");
    }
    double rate = writes / seconds_since(start);
    ::close(fd);
    ::unlink(path.c_str());
    return rate;
}

double store_rate(const std::string& dir, int requests, int batch) {
    StoreOptions o;
    o.dir = dir;
    auto store = Store::open(o);
    if (!store) throw std::runtime_error(store.error().reason);
    Frames request;
    request.add(frame("echo"));
    request.add(frame(std::string(40, 'x')));
    auto start = std::chrono::steady_clock::now();
    for (int done = 0; done < requests;) {
        for (int i = 0; i < batch && done < requests; ++i, ++done) store.value()->stage_request(request);
        if (!store.value()->commit()) throw std::runtime_error("commit failed");
    }
    return requests / seconds_since(start);
}

// A broker on tcp://127.0.0.1:* in its own thread.
struct BrokerThread {
    zmq::context_t& context;
    majordomo::Broker broker;
    std::thread thread;
    explicit BrokerThread(zmq::context_t& ctx) : context(ctx), broker(ctx, options()) {
        thread = std::thread([this] { broker.run(); });
    }
    ~BrokerThread() {
        broker.stop();
        thread.join();
    }
    static majordomo::BrokerOptions options() {
        majordomo::BrokerOptions o;
        o.bind = "tcp://127.0.0.1:*";
        o.core.max_queue = 100000;
        return o;
    }
};

// `clients` threads, each a synchronous Majordomo client making `per_client` calls to `service`; calls per
// second over the whole run.
double call_rate(zmq::context_t& context, const std::string& endpoint, const std::string& service,
                 const Frames& body, int clients, int per_client) {
    // One call first, so that the service is registered before the clock starts.
    {
        majordomo::Client warm(context, majordomo::ClientConfig{endpoint, Duration{5000}, 3});
        if (!warm.request(service, majordomo::share(body)).ok())
            throw std::runtime_error("no answer from " + service);
    }
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    auto start = std::chrono::steady_clock::now();
    for (int c = 0; c < clients; ++c) {
        threads.emplace_back([&] {
            majordomo::Client client(context, majordomo::ClientConfig{endpoint, Duration{10000}, 1});
            for (int i = 0; i < per_client; ++i) {
                auto r = client.request(service, majordomo::share(body));
                if (!r.ok() || r.reply.empty() || !equals(r.reply[0], "200")) ++failed;
            }
        });
    }
    for (auto& t : threads) t.join();
    double rate = clients * per_client / seconds_since(start);
    if (failed) throw std::runtime_error(fmt::format("{} calls to {} failed", failed.load(), service));
    return rate;
}

// Echo-less "200" workers (no disk) on a broker: the raw MDP round trip.
double mdp_rate(int clients, int per_client, int pool) {
    zmq::context_t context;
    BrokerThread broker(context);
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int w = 0; w < pool; ++w) {
        workers.emplace_back([&] {
            majordomo::Worker worker(context, majordomo::WorkerConfig{broker.broker.endpoint(), "bench.ok"});
            while (!stop) {
                auto request = worker.recv(Duration{50});
                if (!request) continue;
                Frames reply;
                reply.add(frame("200"));
                reply.add(frame("0123456789ABCDEF0123456789ABCDEF"));
                worker.reply(std::move(*request), std::move(reply));
            }
        });
    }
    Frames body;
    body.add(frame("echo"));
    body.add(frame(std::string(40, 'x')));
    double rate = call_rate(context, broker.broker.endpoint(), "bench.ok", body, clients, per_client);
    stop = true;
    for (auto& t : workers) t.join();
    return rate;
}

struct TitanicFigure {
    double rate;
    std::uint64_t commits;
    std::uint64_t requests;
    std::uint64_t largest_batch;
};

// titanic.request through a broker to an in-process Titanic storing in `dir`.
TitanicFigure titanic_rate(const std::string& dir, int clients, int per_client, int pool) {
    zmq::context_t context;
    BrokerThread broker(context);
    titanic::ServerConfig config;
    config.broker = broker.broker.endpoint();
    config.dir = dir;
    config.pool = pool;
    auto server = titanic::Server::open(context, config);
    if (!server) throw std::runtime_error(server.error().reason);
    auto& s = *server.value();
    std::thread thread([&] { s.run(); });
    Frames body;
    body.add(frame("echo"));
    body.add(frame(std::string(40, 'x')));
    double rate = 0;
    try {
        rate = call_rate(context, broker.broker.endpoint(), "titanic.request", body, clients, per_client);
    } catch (...) {
        s.stop();
        thread.join();
        throw;
    }
    s.stop();
    thread.join();
    return {rate, s.store_stats().commits, s.core().counters().requests, s.stats().largest_batch};
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    int writes = 2000;
    int batch = 16;
    int requests = 2000;
    int clients = 16;
    int pool = 8;
    CommandLine cli("bench_titanic",
                    "Durable request rate of Titanic against the raw fsync rate of the disk.");
    cli.text("dir", dir,
             "directory on the filesystem to measure (default: a fresh one under $TMPDIR or /tmp)")
        .integer("writes", writes, "fsync'd writes (and requests) per measurement (default 2000)", 10,
                 10000000)
        .integer("batch", batch, "records per commit for the group figure (default 16)", 1, 10000)
        .integer("requests", requests, "titanic.request calls per Titanic measurement (default 2000)", 1,
                 10000000)
        .integer("clients", clients, "concurrent clients of the second Titanic measurement (default 16)", 1,
                 1000)
        .integer("pool", pool, "Titanic's titanic.request worker connections (default 8)", 1, 1000);
    cli.parse(argc, argv);

    std::string work;
    bool remove_after = false;
    if (dir.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/bench-titanic-XXXXXX";
        if (!::mkdtemp(pattern.data())) {
            log::error("cannot create a temporary directory");
            return 1;
        }
        work = pattern;
        remove_after = true;
    } else {
        fs::create_directories(dir);
        work = (fs::path(dir) / fmt::format("bench-titanic-{}", ::getpid())).string();
        fs::create_directories(work);
        remove_after = true;
    }

    int rc = 0;
    try {
        fmt::print("bench_titanic: {} cores, directory {}\n", std::thread::hardware_concurrency(), work);
        // The disk is shared: its fsync rate moves with other load. Each figure is compared with a raw fsync
        // measurement taken just before it.
        double raw = raw_fsync_rate(work, writes);
        fmt::print("raw write+fdatasync (64 B)             {:>9.0f} /s\n", raw);
        double one = store_rate((fs::path(work) / "store1").string(), writes, 1);
        fmt::print("store, 1 request per commit            {:>9.0f} /s   {:.2f} x raw\n", one, one / raw);
        double group = store_rate((fs::path(work) / "store2").string(), writes, batch);
        fmt::print("store, {:>3} requests per commit        {:>9.0f} /s   {:.2f} x raw\n", batch, group,
                   group / raw);
        double mdp = mdp_rate(clients, std::max(1, requests / clients), pool);
        fmt::print("MDP round trip, {:>3} clients, no disk  {:>9.0f} /s   (the messaging ceiling)\n", clients,
                   mdp);
        for (int c : {1, clients}) {
            double base = raw_fsync_rate(work, writes);
            auto t = titanic_rate((fs::path(work) / fmt::format("titanic{}", c)).string(), c,
                                  std::max(1, requests / c), pool);
            fmt::print("raw write+fdatasync, just before       {:>9.0f} /s\n", base);
            fmt::print(
                "titanic.request, {:>3} client(s)        {:>9.0f} /s   {:.2f} x raw fsync, {:.2f} x MDP; "
                "{} fsyncs ({:.1f} requests per fsync), largest batch {}\n",
                c, t.rate, t.rate / base, t.rate / mdp, t.commits,
                static_cast<double>(t.requests) / static_cast<double>(std::max<std::uint64_t>(1, t.commits)),
                t.largest_batch);
        }
    } catch (const std::exception& e) {
        log::error("{}", e.what());
        rc = 1;
    }
    if (remove_after) {
        std::error_code ec;
        fs::remove_all(work, ec);
    }
    return rc;
}
