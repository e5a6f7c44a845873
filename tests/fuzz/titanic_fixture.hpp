#pragma once
// For the Titanic targets: one scratch store directory per process (/dev/shm, else $TMPDIR), emptied before each
// input, and a FileIo without fsync (durability is the kernel's business, not the fuzzer's: recovery is
// tested by reading back what was written, and an fsync per commit would cost most of the run).
#include <pirates/titanic/io.hpp>
#include <pirates/titanic/store.hpp>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace pirates::fuzz {

class NoSyncIo final : public titanic::FileIo {
  public:
    int fdatasync(int) override { return 0; }
    int fsync(int) override { return 0; }
};

class ScratchDir {
  public:
    ScratchDir() {
        // In memory where there is a tmpfs: the store targets spend their time in file system calls.
        std::error_code ec;
        const std::filesystem::path base = std::filesystem::is_directory("/dev/shm", ec)
                                               ? std::filesystem::path("/dev/shm")
                                               : std::filesystem::temp_directory_path();
        std::string pattern = (base / "pirates-fuzz-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) std::abort();
        path_ = pattern;
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    // Remove everything in it (the directory stays).
    void clear() const {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(path_, ec))
            std::filesystem::remove_all(e, ec);
    }
    std::string str() const { return path_.string(); }
    std::string sub(const std::string& name) const { return (path_ / name).string(); }

  private:
    std::filesystem::path path_;
};

inline const ScratchDir& scratch() {
    static ScratchDir dir;
    return dir;
}
inline NoSyncIo& no_sync_io() {
    static NoSyncIo io;
    return io;
}

inline std::unique_ptr<titanic::Store> open_store(std::uint64_t compact_min_bytes = 4096) {
    titanic::StoreOptions o;
    o.dir = scratch().str();
    o.io = &no_sync_io();
    o.compact_min_bytes = compact_min_bytes;
    o.max_record_bytes = 1 << 16;
    auto r = titanic::Store::open(o);
    if (!r) return nullptr;
    return std::move(r.value());
}

}  // namespace pirates::fuzz
