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
#include <pirates/titanic/store.hpp>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>
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

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    int writes = 2000;
    int batch = 16;
    CommandLine cli("bench_titanic",
                    "Durable request rate of Titanic against the raw fsync rate of the disk.");
    cli.text("dir", dir,
             "directory on the filesystem to measure (default: a fresh one under $TMPDIR or /tmp)")
        .integer("writes", writes, "fsync'd writes (and requests) per measurement (default 2000)", 10,
                 10000000)
        .integer("batch", batch, "records per commit for the group figure (default 16)", 1, 10000);
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
        double raw = raw_fsync_rate(work, writes);
        fmt::print("raw write+fdatasync (64 B)          {:>10.0f} /s   (baseline)\n", raw);
        double one = store_rate((fs::path(work) / "store1").string(), writes, 1);
        fmt::print("store, 1 request per commit         {:>10.0f} /s   {:.2f} x raw\n", one, one / raw);
        double group = store_rate((fs::path(work) / "store2").string(), writes, batch);
        fmt::print("store, {:>3} requests per commit     {:>10.0f} /s   {:.2f} x raw\n", batch, group,
                   group / raw);
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
