#include <doctest/doctest.h>
#include <pirates/titanic/store.hpp>

#include "support/net.hpp"
#include "temp_dir.hpp"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <set>

using namespace pirates;
using namespace pirates::titanic;
using pirates::test::make_frames;
using pirates::test::strings;
using pirates::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<Store> open_store(const std::string& dir, std::uint64_t compact_min = 4u << 20,
                                  FileIo* io = nullptr) {
    StoreOptions o;
    o.dir = dir;
    o.compact_min_bytes = compact_min;
    o.io = io;
    auto r = Store::open(o);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().reason));
    return std::move(r.value());
}

Uuid submit(Store& s, std::initializer_list<std::string_view> frames) {
    Uuid id = s.stage_request(make_frames(frames));
    REQUIRE(s.commit().ok());
    return id;
}

std::uintmax_t log_size(const TempDir& d) {
    return fs::file_size(d.path() / Store::log_name);
}

void chop(const TempDir& d, std::uintmax_t bytes) {
    fs::resize_file(d.path() / Store::log_name, log_size(d) - bytes);
}

void append_raw(const TempDir& d, const std::string& bytes) {
    std::ofstream f(d.path() / Store::log_name, std::ios::binary | std::ios::app);
    f << bytes;
}

}  // namespace

TEST_CASE("uuids: 32 uppercase hex digits, parsed back in either case, unique") {
    UuidGenerator gen;
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        Uuid u = gen.next();
        std::string s = u.str();
        REQUIRE(s.size() == 32);
        CHECK(s.find_first_not_of("0123456789ABCDEF") == std::string::npos);
        CHECK(Uuid::parse(s) == u);
        std::string lower = s;
        for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        CHECK(Uuid::parse(lower) == u);
        seen.insert(s);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("uuids: hostile text is not a uuid") {
    const std::string good = "0123456789ABCDEFabcdef0123456789";
    REQUIRE(Uuid::parse(good));
    CHECK_FALSE(Uuid::parse(""));
    CHECK_FALSE(Uuid::parse(good.substr(0, 31)));        // short
    CHECK_FALSE(Uuid::parse(good + "0"));                // long
    CHECK_FALSE(Uuid::parse(good.substr(0, 31) + "G"));  // not hex
    CHECK_FALSE(Uuid::parse(good.substr(0, 31) + " "));
    CHECK_FALSE(Uuid::parse("../../etc/passwd0000000000000000"));  // path-like, 32 chars
    CHECK_FALSE(Uuid::parse("0123456789ABCDEF/123456789ABCDEF"));
    std::string with_nul = good;
    with_nul[10] = '\0';
    CHECK_FALSE(Uuid::parse(with_nul));                                    // NUL inside
    CHECK_FALSE(Uuid::parse(std::string_view("0123456789ABCDEF\0", 17)));  // NUL-terminated short one
    CHECK_FALSE(Uuid::parse("-123456789ABCDEF0123456789ABCDEF"));
    CHECK_FALSE(Uuid::parse("0x23456789ABCDEF0123456789ABCDEF"));
}

TEST_CASE("store: write, read back, reply, close, and all of it survives a reopen") {
    TempDir d;
    Uuid a, b;
    {
        auto s = open_store(d.str());
        a = s->stage_request(make_frames({"echo", "hello", std::string_view("\0bin\xff", 5)}));
        b = s->stage_request(make_frames({"echo", "world"}));
        CHECK(s->state(a) == RequestState::unknown);  // staged is not visible
        auto n = s->commit();
        REQUIRE(n.ok());
        CHECK(n.value() == 2);
        CHECK(s->stats().commits == 1);
        CHECK(s->state(a) == RequestState::pending);
        CHECK(*s->service(a) == "echo");
        auto req = s->read_request(a);
        REQUIRE(req.ok());
        CHECK(strings(req.value()) == std::vector<std::string>{"echo", "hello", std::string("\0bin\xff", 5)});
        s->stage_reply(a, make_frames({"HELLO"}));
        REQUIRE(s->commit().ok());
        CHECK(s->state(a) == RequestState::answered);
        CHECK(strings(s->read_reply(a).value()) == std::vector<std::string>{"HELLO"});
        s->stage_close(b);
        REQUIRE(s->commit().ok());
        CHECK(s->state(b) == RequestState::unknown);
    }
    auto s = open_store(d.str());
    CHECK(s->state(a) == RequestState::answered);
    CHECK(strings(s->read_reply(a).value()) == std::vector<std::string>{"HELLO"});
    CHECK(s->state(b) == RequestState::unknown);
    CHECK(s->stats().open == 1);
    CHECK(s->stats().torn_bytes == 0);
}

TEST_CASE("store: the directory is created if missing, and one process at a time owns it") {
    TempDir d;
    std::string dir = d.sub("a/b/store");
    auto s = open_store(dir);
    CHECK(fs::is_directory(dir));
    StoreOptions o;
    o.dir = dir;
    auto second = Store::open(o);
    CHECK_FALSE(second.ok());
    o.dir = "";
    CHECK_FALSE(Store::open(o).ok());  // never the current directory by accident
}

TEST_CASE("store: pending requests come back in submission order") {
    TempDir d;
    std::vector<Uuid> ids;
    {
        auto s = open_store(d.str());
        for (int i = 0; i < 20; ++i) ids.push_back(submit(*s, {i % 2 ? "odd" : "even", std::to_string(i)}));
        s->stage_reply(ids[3], make_frames({"r"}));
        s->stage_close(ids[5]);
        REQUIRE(s->commit().ok());
    }
    auto s = open_store(d.str());
    std::vector<Uuid> expected;
    for (int i = 0; i < 20; ++i)
        if (i != 3 && i != 5) expected.push_back(ids[static_cast<std::size_t>(i)]);
    CHECK(s->pending_in_order() == expected);
}

TEST_CASE("store: a truncated last record is dropped at recovery, and the log goes on from there") {
    TempDir d;
    Uuid a, b, c;
    {
        auto s = open_store(d.str());
        a = submit(*s, {"echo", "one"});
        b = submit(*s, {"echo", "two"});
        c = submit(*s, {"echo", "three"});
    }
    chop(d, 5);  // the last record loses its tail: a torn write
    auto before = log_size(d);
    Uuid e;
    {
        auto s = open_store(d.str());
        CHECK(s->state(a) == RequestState::pending);
        CHECK(s->state(b) == RequestState::pending);
        CHECK(s->state(c) == RequestState::unknown);
        CHECK(s->stats().torn_bytes > 0);
        CHECK(log_size(d) < before);  // cut back to the last whole record
        e = submit(*s, {"echo", "four"});
    }
    auto s = open_store(d.str());
    CHECK(s->stats().torn_bytes == 0);
    CHECK(s->state(e) == RequestState::pending);
    CHECK(s->stats().open == 3);
}

TEST_CASE("store: every kind of broken tail is ignored, never crashes recovery") {
    TempDir d;
    Uuid a;
    {
        auto s = open_store(d.str());
        a = submit(*s, {"echo", "kept"});
    }
    const auto good = log_size(d);
    SUBCASE("only part of a record header") {
        append_raw(d, std::string("\x20\x00", 2));
    }
    SUBCASE("a length far too large") {
        append_raw(d, std::string("\xff\xff\xff\x7f\x00\x00\x00\x00", 8));
    }
    SUBCASE("a length too small") {
        append_raw(d, std::string("\x03\x00\x00\x00\x00\x00\x00\x00xyz", 11));
    }
    SUBCASE("zeros, as a crash can leave after extending a file") {
        append_raw(d, std::string(300, '\0'));
    }
    SUBCASE("a whole record with a wrong checksum") {
        std::string rec(
            "\x11\x00\x00\x00"
            "\xde\xad\xbe\xef"
            "\x03",
            9);
        rec += std::string(16, 'A');
        append_raw(d, rec);
    }
    SUBCASE("random junk") {
        std::string junk;
        for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 7919) & 0xff));
        append_raw(d, junk);
    }
    auto s = open_store(d.str());
    CHECK(s->state(a) == RequestState::pending);
    CHECK(s->stats().open == 1);
    CHECK(log_size(d) == good);
}

TEST_CASE("store: a file that is not a titanic log is refused and left alone") {
    TempDir d;
    {
        std::ofstream f(d.path() / Store::log_name, std::ios::binary);
        f << "precious data that is not ours";
    }
    StoreOptions o;
    o.dir = d.str();
    CHECK_FALSE(Store::open(o).ok());
    CHECK(log_size(d) == 30);
}

TEST_CASE("store: after 10,000 closed requests the log, the index and recovery stay small") {
    TempDir d;
    const std::uint64_t min = 64 * 1024;
    std::vector<Uuid> kept;
    std::uintmax_t largest = 0;
    {
        auto s = open_store(d.str(), min);
        for (int batch = 0; batch < 100; ++batch) {
            std::vector<Uuid> ids;
            for (int i = 0; i < 100; ++i)
                ids.push_back(s->stage_request(make_frames({"echo", "request body of some length"})));
            REQUIRE(s->commit().ok());
            for (auto& id : ids) s->stage_reply(id, make_frames({"reply body of some length"}));
            REQUIRE(s->commit().ok());
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (batch % 10 == 0 && i == 0) {
                    kept.push_back(ids[i]);  // a few stay open across compactions
                    continue;
                }
                s->stage_close(ids[i]);
            }
            REQUIRE(s->commit().ok());
            largest = std::max(largest, log_size(d));
        }
        CHECK(s->stats().compactions > 0);
    }
    // Without compaction the log would hold 10,000 x (request + reply + close) records: over 1.3 MB.
    CHECK(largest < 3 * min);
    auto s = open_store(d.str(), min);
    auto st = s->stats();
    CHECK(st.open == kept.size());
    CHECK(st.answered == kept.size());
    CHECK(log_size(d) < 2 * min);
    CHECK(st.log_bytes == log_size(d));
    for (auto& id : kept)
        CHECK(strings(s->read_reply(id).value()) == std::vector<std::string>{"reply body of some length"});
    // Nothing else accumulates in the directory.
    std::set<std::string> names;
    for (auto& e : fs::directory_iterator(d.path())) names.insert(e.path().filename().string());
    CHECK(names == std::set<std::string>{std::string(Store::log_name), std::string(Store::lock_name)});
    // Forced compaction leaves only the live records.
    REQUIRE(s->compact(true).ok());
    CHECK(s->stats().dead_bytes == 0);
    CHECK(log_size(d) == 8 + s->stats().live_bytes);
}

namespace {

// Breaks chosen calls: a full disk (ENOSPC, possibly after a partial write) or a failing fsync.
struct FaultyIo : FileIo {
    bool fail_write = false;
    bool partial = false;  // write half of the data first, then fail
    bool fail_sync = false;
    int writes_failed = 0;
    long pwrite(int fd, const void* data, std::size_t size, std::int64_t offset) override {
        if (fail_write) {
            if (partial && size > 1) {
                partial = false;
                return FileIo::pwrite(fd, data, size / 2, offset);
            }
            ++writes_failed;
            return -ENOSPC;
        }
        return FileIo::pwrite(fd, data, size, offset);
    }
    int fdatasync(int fd) override { return fail_sync ? -EIO : FileIo::fdatasync(fd); }
};

}  // namespace

TEST_CASE("store: a failed write applies nothing, cuts the log back, and the store goes on") {
    TempDir d;
    FaultyIo io;
    Uuid a, lost, c;
    {
        auto s = open_store(d.str(), 4u << 20, &io);
        a = submit(*s, {"echo", "before"});
        auto size = log_size(d);
        io.fail_write = true;
        io.partial = true;
        lost = s->stage_request(make_frames({"echo", "lost"}));
        auto r = s->commit();
        CHECK_FALSE(r.ok());
        CHECK(io.writes_failed == 1);
        CHECK(s->state(lost) == RequestState::unknown);
        CHECK(s->staged() == 0);
        CHECK(log_size(d) == size);  // the half-written record is gone
        CHECK_FALSE(s->broken());
        io.fail_write = false;
        c = submit(*s, {"echo", "after"});
    }
    auto s = open_store(d.str());
    CHECK(s->state(a) == RequestState::pending);
    CHECK(s->state(lost) == RequestState::unknown);
    CHECK(s->state(c) == RequestState::pending);
    CHECK(s->stats().torn_bytes == 0);
}

TEST_CASE("store: a failed fsync applies nothing and refuses further writes until reopened") {
    TempDir d;
    FaultyIo io;
    Uuid a;
    {
        auto s = open_store(d.str(), 4u << 20, &io);
        a = submit(*s, {"echo", "before"});
        io.fail_sync = true;
        Uuid b = s->stage_request(make_frames({"echo", "unsure"}));
        CHECK_FALSE(s->commit().ok());
        CHECK(s->state(b) == RequestState::unknown);
        CHECK(s->broken());
        io.fail_sync = false;
        s->stage_request(make_frames({"echo", "refused"}));
        CHECK_FALSE(s->commit().ok());
        CHECK(s->state(a) == RequestState::pending);  // reads still work
    }
    auto s = open_store(d.str(), 4u << 20, &io);
    CHECK_FALSE(s->broken());
    CHECK(s->state(a) == RequestState::pending);
    CHECK(s->stats().open == 1);
}
