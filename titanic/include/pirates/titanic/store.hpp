#pragma once
// The durable store of Titanic: one append-only log of checksummed, length-prefixed records, compacted when
// closed requests make up most of it.
//
// Contract:
// - Writes are staged (stage_request, stage_reply, stage_close) and become durable and visible together in
//   commit(): one write of every staged record, then ONE fdatasync. Only when commit() returns successfully
//   may the caller acknowledge anything staged (this is the group commit: many requests share one fsync).
// - A failed write or fsync makes commit() return an error and applies nothing staged; the log is cut back to
//   the last commit. After a failed fsync the page cache can no longer be trusted, so the store refuses
//   further writes (broken()) until it is reopened (recovery reads what really is on disk).
// - On open, the log is replayed; the first record that is short, too long, or fails its CRC-32C ends the log
//   (a torn write of a batch that was never acknowledged) and the file is truncated there. Recovery never
//   crashes on what it reads.
// - Memory holds an index entry per open request only (UUID, service name, file offsets); request and reply
//   bodies stay on disk and are read back with pread. When dead bytes (closed requests) exceed both the live
//   bytes and `compact_min_bytes`, the live records are copied to a new log (fsync'd, renamed over the old
//   one, directory fsync'd). So the log, start-up time and memory are bounded by the open requests, not by
//   how many were ever closed.
//
// File layout (all integers little-endian):
//   header:  8 bytes "TSPLOG01"
//   record:  u32 length | u32 crc32c(length bytes + body) | body
//   body:    u8 type | 16-byte uuid | payload
//   type 1 REQUEST, payload = frames (service, request...); type 2 REPLY, payload = frames (reply...);
//   type 3 CLOSE, no payload. frames = u32 count, then per frame u32 size and the bytes.
#include <pirates/common/frames.hpp>
#include <pirates/common/result.hpp>
#include <pirates/titanic/io.hpp>
#include <pirates/titanic/uuid.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace pirates::titanic {

struct StoreOptions {
    std::string dir;       // created if missing
    FileIo* io = nullptr;  // nullptr: posix_io()
    std::uint64_t compact_min_bytes = 4u << 20;
    std::uint32_t max_record_bytes = 64u
                                     << 20;  // larger records are refused (and treated as corrupt on read)
};

enum class RequestState { unknown, pending, answered };

struct StoreStats {
    std::size_t open = 0;      // requests not closed (pending + answered)
    std::size_t answered = 0;  // of which have a reply stored
    std::uint64_t log_bytes = 0;
    std::uint64_t live_bytes = 0;
    std::uint64_t dead_bytes = 0;
    std::uint64_t commits = 0;  // fsyncs of the log (one per batch)
    std::uint64_t records = 0;  // records committed
    std::uint64_t compactions = 0;
    std::uint64_t torn_bytes = 0;  // tail bytes dropped at recovery
};

class Store {
  public:
    static constexpr std::string_view log_name = "titanic.log";
    static constexpr std::string_view lock_name = "titanic.lock";

    static Result<std::unique_ptr<Store>> open(StoreOptions options);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Staged writes: nothing is visible or durable before commit() succeeds.
    // A new request (frames: service, request...); returns its fresh UUID.
    Uuid stage_request(const Frames& request);
    // The reply of a pending request (ignored at commit if the request is closed or answered by then).
    void stage_reply(const Uuid& id, const Frames& reply);
    // Forget a request and its reply (ignored at commit if unknown).
    void stage_close(const Uuid& id);
    std::size_t staged() const { return staged_.size(); }
    // Size in bytes a request would take on disk; requests over max_record_bytes must not be staged.
    static std::size_t record_size(const Frames& frames);
    std::uint32_t max_record_bytes() const { return options_.max_record_bytes; }

    // Write all staged records, one fdatasync, apply them. Returns the number of records committed.
    Result<std::size_t> commit();
    // Drop staged records without writing them.
    void discard();

    RequestState state(const Uuid& id) const;
    // Service name of an open request (nullptr if unknown).
    const std::string* service(const Uuid& id) const;
    // Read back from disk (checksum verified): the request (service, request...) or the reply (reply...).
    Result<Frames> read_request(const Uuid& id);
    Result<Frames> read_reply(const Uuid& id);
    // Open requests without a stored reply, oldest first (what the dispatcher starts with after a restart).
    std::vector<Uuid> pending_in_order() const;

    // Copy the live records to a fresh log if closed requests dominate it (or always, with force).
    Result<bool> compact(bool force = false);

    bool broken() const { return !broken_.empty(); }
    const std::string& broken_reason() const { return broken_; }
    StoreStats stats() const;
    const std::string& dir() const { return options_.dir; }

  private:
    struct Span {
        std::int64_t offset = 0;
        std::uint32_t size = 0;  // whole record, header included; 0: none
    };
    struct Entry {
        std::string service;
        Span request;
        Span reply;
    };
    struct Staged {
        std::uint8_t type;
        Uuid id;
        std::size_t offset;  // in batch_
        std::uint32_t size;
        std::string service;
    };

    explicit Store(StoreOptions options);
    Result<bool> recover();
    Result<bool> create_log();
    bool apply(std::uint8_t type, const Uuid& id, Span span, std::string service);
    Result<Frames> read_frames(Span span, std::uint8_t type, const Uuid& id);
    void stage(std::uint8_t type, const Uuid& id, const Frames* frames, std::string service);
    Result<bool> sync_dir();
    std::string path(std::string_view name) const;

    StoreOptions options_;
    FileIo* io_;
    int lock_fd_ = -1;
    int fd_ = -1;
    std::int64_t end_ = 0;  // committed size of the log
    std::unordered_map<Uuid, Entry, UuidHash> index_;
    std::size_t answered_ = 0;
    std::uint64_t live_ = 0;
    std::uint64_t dead_ = 0;
    std::string batch_;
    std::vector<Staged> staged_;
    std::unordered_set<Uuid, UuidHash> staged_ids_;
    UuidGenerator uuids_;
    std::string broken_;
    StoreStats counters_;
};

}  // namespace pirates::titanic
