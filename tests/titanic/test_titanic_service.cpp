// Titanic as a service (issue 13): UUIDs from the OS random source, a private store (0700 directory, 0600
// files, whatever the umask), a clear error for an unusable --dir, signals and sd_notify.
#include <doctest/doctest.h>
#include <pirates/titanic/store.hpp>
#include <pirates/titanic/uuid.hpp>

#include "support/net.hpp"
#include "support/notify_listener.hpp"
#include "support/process.hpp"
#include "temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

using namespace pirates;
using namespace pirates::titanic;
using pirates::test::NotifyListener;
using pirates::test::Process;
using pirates::test::TempDir;
namespace fs = std::filesystem;

namespace {

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

// Sets the process umask for one scope.
struct Umask {
    mode_t old;
    explicit Umask(mode_t m) : old(::umask(m)) {}
    ~Umask() { ::umask(old); }
};

// A titanic that needs no broker to start (it connects lazily): for flags, signals and notices.
std::vector<std::string> titanic_args(const std::string& dir) {
    return {"--connect", "tcp://127.0.0.1:1", "--dir", dir, "--reconnect-ms", "50"};
}

}  // namespace

TEST_CASE("titanic uuids: version 4, RFC 4122 variant, distinct within and across generators") {
    UuidGenerator a, b;
    std::set<std::string> seen;
    for (int i = 0; i < 2000; ++i) {
        const Uuid u = (i % 2 ? a : b).next();
        CHECK((u.bytes[6] >> 4) == 4);
        CHECK((u.bytes[8] & 0xc0) == 0x80);
        const std::string s = u.str();
        CHECK(s.size() == 32);
        CHECK(s.find_first_not_of("0123456789ABCDEF") == std::string::npos);
        seen.insert(s);
    }
    CHECK(seen.size() == 2000);
    // 122 random bits: no two fresh generators start alike (a fixed or weak seed would).
    CHECK(UuidGenerator().next() != UuidGenerator().next());
}

TEST_CASE("titanic store: a directory it creates is 0700 and its files 0600, whatever the umask") {
    TempDir d;
    const std::string dir = d.sub("a/store");
    {
        Umask open_umask(0);  // the widest: every mode is what the code asked for
        StoreOptions o;
        o.dir = dir;
        auto store = Store::open(o);
        REQUIRE(store.ok());
    }
    CHECK(mode_of(dir) == 0700);
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        CAPTURE(e.path().string());
        CHECK(mode_of(e.path()) == 0600);
        ++files;
    }
    CHECK(files >= 2);  // the log and the lock
    // A store file of the umask's mode (an older version's) is narrowed when reopened.
    fs::permissions(fs::path(dir) / Store::lock_name, fs::perms(0644));
    {
        StoreOptions o;
        o.dir = dir;
        REQUIRE(Store::open(o).ok());
    }
    CHECK(mode_of(fs::path(dir) / Store::lock_name) == 0600);
}

TEST_CASE("titanic --dir that is a regular file: a clear error, exit 1") {
    TempDir d;
    const std::string file = d.sub("plain");
    std::ofstream(file) << "not a directory\n";
    Process t("titanic", titanic_args(file));
    CHECK(t.wait_exit() == 1);
    CHECK(t.wait_for("titanic: cannot use store directory " + file + ": not a directory"));
    const std::string below = file + "/store";  // a path through a file
    Process t2("titanic", titanic_args(below));
    CHECK(t2.wait_exit() == 1);
    CHECK(t2.wait_for("titanic: cannot use store directory " + below + ": "));
}

TEST_CASE("titanic --dir that is not writable: a clear error, exit 1") {
    if (::geteuid() == 0) return;  // root may write anywhere
    TempDir d;
    const std::string dir = d.sub("locked");
    fs::create_directory(dir);
    fs::permissions(dir, fs::perms(0500));
    Process t("titanic", titanic_args(dir));
    CHECK(t.wait_exit() == 1);
    CHECK(t.wait_for("titanic: cannot use store directory " + dir + ": Permission denied"));
    fs::permissions(dir, fs::perms(0700));
}

TEST_CASE(
    "titanic: READY=1 once serving, SIGUSR1 summary, SIGHUP ignored, STOPPING=1 and exit 0 on SIGTERM") {
    TempDir d;
    NotifyListener notify;
    Process t("titanic", titanic_args(d.sub("store")), {notify.env()});
    CHECK(notify.wait_for("READY=1"));
    t.signal(SIGHUP);
    CHECK(t.wait_for("SIGHUP ignored"));
    CHECK(pirates::test::eventually([&] {
        t.signal(SIGUSR1);
        return t.count("replies stored") > 0;
    }));
    CHECK(t.running());
    t.signal(SIGTERM);
    CHECK(notify.wait_for("STOPPING=1"));
    CHECK(t.wait_exit() == 0);
}
