#include <pirates/common/log.hpp>
#include <pirates/titanic/store.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "detail/crc32c.hpp"

namespace pirates::titanic {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view magic = "TSPLOG01";
constexpr std::size_t file_header = 8;
constexpr std::size_t record_header = 8;  // u32 length, u32 crc
constexpr std::size_t body_fixed = 17;    // u8 type, 16-byte uuid
constexpr std::uint8_t t_request = 1, t_reply = 2, t_close = 3;
constexpr std::size_t copy_chunk = 1u << 20;

void put32(std::string& out, std::uint32_t v) {
    char b[4] = {static_cast<char>(v & 0xff), static_cast<char>((v >> 8) & 0xff),
                 static_cast<char>((v >> 16) & 0xff), static_cast<char>((v >> 24) & 0xff)};
    out.append(b, 4);
}

std::uint32_t get32(const char* p) {
    auto u = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t(u[0]) | std::uint32_t(u[1]) << 8 | std::uint32_t(u[2]) << 16 |
           std::uint32_t(u[3]) << 24;
}

std::string errno_text(long negative) {
    return std::strerror(static_cast<int>(-negative));
}

// Checks that `n` bytes at `p` are a well-formed frame list; the first frame goes to `first` if given, and then
// there must be one (a request without its service frame was never written by a store: it is corrupt, and
// recovering it would hand Titanic a request it cannot dispatch).
bool check_frames(const char* p, std::size_t n, std::string* first) {
    if (n < 4) return false;
    std::uint32_t count = get32(p);
    if (first && count == 0) return false;
    std::size_t at = 4;
    for (std::uint32_t i = 0; i < count; ++i) {
        if (n - at < 4) return false;
        std::uint32_t size = get32(p + at);
        at += 4;
        if (n - at < size) return false;
        if (i == 0 && first) first->assign(p + at, size);
        at += size;
    }
    return at == n;
}

Frames decode_frames(const char* p) {
    Frames out;
    std::uint32_t count = get32(p);
    std::size_t at = 4;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint32_t size = get32(p + at);
        at += 4;
        out.add(Frame(p + at, size));
        at += size;
    }
    return out;
}

// pread until `size` bytes or end of file; bytes read or -errno.
long read_full(FileIo& io, int fd, char* out, std::size_t size, std::int64_t offset) {
    std::size_t done = 0;
    while (done < size) {
        long n = io.pread(fd, out + done, size - done, offset + static_cast<std::int64_t>(done));
        if (n < 0) return n;
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    return static_cast<long>(done);
}

// pwrite all of it; 0 or -errno (-ENOSPC for a write that makes no progress).
long write_full(FileIo& io, int fd, const char* data, std::size_t size, std::int64_t offset) {
    std::size_t done = 0;
    while (done < size) {
        long n = io.pwrite(fd, data + done, size - done, offset + static_cast<std::int64_t>(done));
        if (n < 0) return n;
        if (n == 0) return -ENOSPC;
        done += static_cast<std::size_t>(n);
    }
    return 0;
}

// Sequential reads of the log at recovery through a window, so that replay costs few system calls. The window
// is at most copy_chunk and never larger than what is left of the file: a small log does not pay for zeroing
// (and faulting in) a megabyte.
class Window {
  public:
    Window(FileIo& io, int fd, std::int64_t file_size) : io_(io), fd_(fd), file_size_(file_size) {}
    // Pointer to `n` bytes at `offset`, nullptr if the file ends before (or on a read error: `error` set).
    const char* at(std::int64_t offset, std::size_t n) {
        if (offset >= start_ &&
            offset + static_cast<std::int64_t>(n) <= start_ + static_cast<std::int64_t>(len_))
            return buf_.data() + (offset - start_);
        const auto left = static_cast<std::size_t>(std::max<std::int64_t>(file_size_ - offset, 0));
        buf_.resize(std::max(n, std::min(left, copy_chunk)));
        long got = read_full(io_, fd_, buf_.data(), buf_.size(), offset);
        if (got < 0) {
            error = got;
            return nullptr;
        }
        start_ = offset;
        len_ = static_cast<std::size_t>(got);
        return len_ >= n ? buf_.data() : nullptr;
    }
    long error = 0;

  private:
    FileIo& io_;
    int fd_;
    std::int64_t file_size_;
    std::vector<char> buf_;
    std::int64_t start_ = 0;
    std::size_t len_ = 0;
};

}  // namespace

Store::Store(StoreOptions options)
    : options_(std::move(options)), io_(options_.io ? options_.io : &posix_io()) {}

Store::~Store() {
    if (fd_ >= 0) io_->close(fd_);
    if (lock_fd_ >= 0) io_->close(lock_fd_);
}

std::string Store::path(std::string_view name) const {
    return (fs::path(options_.dir) / name).string();
}

Result<std::unique_ptr<Store>> Store::open(StoreOptions options) {
    if (options.dir.empty()) return error("no store directory given");
    std::unique_ptr<Store> store(new Store(std::move(options)));
    fs::path dir(store->options_.dir);

    // Create the directory (and missing parents); make each new entry durable in its parent. A directory we
    // create is the owner's alone (0700, whatever the umask); an existing one keeps the mode it was given.
    auto unusable = [&](const std::string& reason) {
        return error(fmt::format("cannot use store directory {}: {}", dir.string(), reason));
    };
    std::vector<fs::path> created;
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) return unusable("not a directory");
    for (fs::path p = fs::absolute(dir, ec); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
        created.push_back(p);
        if (p == p.parent_path()) break;
    }
    fs::create_directories(dir, ec);
    if (ec) return unusable(ec.message());
    if (!fs::is_directory(dir, ec)) return unusable("not a directory");
    if (!created.empty() && ::chmod(dir.c_str(), 0700) != 0) return unusable(std::strerror(errno));
    if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) return unusable(std::strerror(errno));
    for (const auto& p : created) {
        int dfd = store->io_->open(p.parent_path().string(), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            store->io_->fsync(dfd);
            store->io_->close(dfd);
        }
    }

    // One titanic per store.
    store->lock_fd_ = store->io_->open(store->path(lock_name), O_RDWR | O_CREAT);
    if (store->lock_fd_ < 0)
        return error(fmt::format("cannot open {}: {}", store->path(lock_name), errno_text(store->lock_fd_)));
    if (::flock(store->lock_fd_, LOCK_EX | LOCK_NB) < 0)
        return error(fmt::format("store {} is in use by another process", dir.string()));

    auto r = store->recover();
    if (!r) return r.error();
    return store;
}

Result<bool> Store::sync_dir() {
    int dfd = io_->open(options_.dir, O_RDONLY | O_DIRECTORY);
    if (dfd < 0) return error(fmt::format("cannot open directory {}: {}", options_.dir, errno_text(dfd)));
    int r = io_->fsync(dfd);
    io_->close(dfd);
    if (r < 0) return error(fmt::format("fsync of directory {}: {}", options_.dir, errno_text(r)));
    return true;
}

Result<bool> Store::create_log() {
    std::string tmp = path(log_name) + ".tmp";
    int fd = io_->open(tmp, O_RDWR | O_CREAT | O_TRUNC);
    if (fd < 0) return error(fmt::format("cannot create {}: {}", tmp, errno_text(fd)));
    long r = write_full(*io_, fd, magic.data(), magic.size(), 0);
    if (r == 0) r = io_->fsync(fd);
    if (r == 0) r = io_->rename(tmp, path(log_name));
    if (r < 0) {
        io_->close(fd);
        io_->unlink(tmp);
        return error(fmt::format("cannot create {}: {}", path(log_name), errno_text(r)));
    }
    auto d = sync_dir();
    if (!d) {
        io_->close(fd);
        return d.error();
    }
    fd_ = fd;
    end_ = file_header;
    return true;
}

Result<bool> Store::recover() {
    io_->unlink(path(log_name) + ".tmp");  // a compaction that did not finish: the old log is still whole
    int fd = io_->open(path(log_name), O_RDWR);
    if (fd == -ENOENT) return create_log();
    if (fd < 0) return error(fmt::format("cannot open {}: {}", path(log_name), errno_text(fd)));
    fd_ = fd;
    std::int64_t size = io_->size(fd);
    if (size < 0) return error(fmt::format("cannot stat {}: {}", path(log_name), errno_text(size)));

    Window window(*io_, fd, size);
    const char* head = window.at(0, file_header);
    if (!head || std::string_view(head, file_header) != magic)
        return error(
            fmt::format("{} is not a titanic log (bad header); refusing to touch it", path(log_name)));

    std::int64_t at = file_header;
    while (at < size) {
        const char* h = window.at(at, record_header);
        if (!h) break;
        std::uint32_t len = get32(h), crc = get32(h + 4);
        std::uint32_t len_crc = crc32c(h, 4);  // `h` is not valid after the next window.at()
        if (len < body_fixed || len > body_fixed + options_.max_record_bytes) break;
        const char* body = window.at(at + static_cast<std::int64_t>(record_header), len);
        if (!body) break;
        if (crc32c(body, len, len_crc) != crc) break;
        std::uint8_t type = static_cast<std::uint8_t>(body[0]);
        Uuid id;
        std::memcpy(id.bytes.data(), body + 1, 16);
        std::string service;
        if (type == t_request || type == t_reply) {
            if (!check_frames(body + body_fixed, len - body_fixed, type == t_request ? &service : nullptr))
                break;
        } else if (type != t_close || len != body_fixed) {
            break;
        }
        std::uint32_t rsize = static_cast<std::uint32_t>(record_header + len);
        apply(type, id, Span{at, rsize}, std::move(service));
        at += rsize;
    }
    if (window.error < 0)
        return error(fmt::format("reading {}: {}", path(log_name), errno_text(window.error)));
    if (at < size) {
        // A torn write: the last batch was cut short by a crash. It was never fsync'd, so never acknowledged.
        counters_.torn_bytes = static_cast<std::uint64_t>(size - at);
        log::warn("titanic store: dropping {} bytes of incomplete records at the end of {} (offset {})",
                  size - at, path(log_name), at);
        int r = io_->ftruncate(fd, at);
        if (r == 0) r = io_->fdatasync(fd);
        if (r < 0) return error(fmt::format("cannot truncate {}: {}", path(log_name), errno_text(r)));
    }
    end_ = at;
    log::debug("titanic store: recovered {} open requests ({} answered) from {} bytes", index_.size(),
               answered_, end_);
    auto c = compact();
    if (!c) log::warn("titanic store: compaction at start-up failed: {}", c.error().reason);
    return true;
}

bool Store::apply(std::uint8_t type, const Uuid& id, Span span, std::string service) {
    switch (type) {
        case t_request: {
            auto [it, inserted] = index_.try_emplace(id, Entry{std::move(service), span, {}});
            if (!inserted) break;
            live_ += span.size;
            return true;
        }
        case t_reply: {
            auto it = index_.find(id);
            if (it == index_.end() || it->second.reply.size != 0) break;
            it->second.reply = span;
            live_ += span.size;
            ++answered_;
            return true;
        }
        case t_close: {
            auto it = index_.find(id);
            if (it == index_.end()) break;
            std::uint64_t freed = it->second.request.size + it->second.reply.size;
            if (it->second.reply.size) --answered_;
            live_ -= freed;
            dead_ += freed + span.size;
            index_.erase(it);
            return true;
        }
        default:
            break;
    }
    dead_ += span.size;
    return false;
}

std::size_t Store::record_size(const Frames& frames) {
    std::size_t n = record_header + body_fixed + 4;
    for (const auto& f : frames) n += 4 + f.size();
    return n;
}

void Store::stage(std::uint8_t type, const Uuid& id, const Frames* frames, std::string service) {
    std::size_t start = batch_.size();
    std::size_t len = body_fixed;
    if (frames) {
        len += 4;
        for (const auto& f : *frames) len += 4 + f.size();
    }
    put32(batch_, static_cast<std::uint32_t>(len));
    put32(batch_, 0);  // crc, filled below
    batch_.push_back(static_cast<char>(type));
    batch_.append(reinterpret_cast<const char*>(id.bytes.data()), id.bytes.size());
    if (frames) {
        put32(batch_, static_cast<std::uint32_t>(frames->size()));
        for (const auto& f : *frames) {
            put32(batch_, static_cast<std::uint32_t>(f.size()));
            batch_.append(static_cast<const char*>(f.data()), f.size());
        }
    }
    std::uint32_t crc = crc32c(batch_.data() + start + record_header, len, crc32c(batch_.data() + start, 4));
    std::string crc_bytes;
    put32(crc_bytes, crc);
    batch_.replace(start + 4, 4, crc_bytes);
    staged_.push_back(
        Staged{type, id, start, static_cast<std::uint32_t>(record_header + len), std::move(service)});
}

Uuid Store::stage_request(const Frames& request) {
    Uuid id = uuids_.next();
    while (index_.count(id) || staged_ids_.count(id)) id = uuids_.next();
    staged_ids_.insert(id);
    stage(t_request, id, &request, request.empty() ? std::string() : request[0].to_string());
    return id;
}

void Store::stage_reply(const Uuid& id, const Frames& reply) {
    stage(t_reply, id, &reply, {});
}

void Store::stage_close(const Uuid& id) {
    stage(t_close, id, nullptr, {});
}

void Store::discard() {
    batch_.clear();
    staged_.clear();
    staged_ids_.clear();
}

Result<std::size_t> Store::commit() {
    if (staged_.empty()) return std::size_t{0};
    if (broken()) {
        discard();
        return error("store unusable until restart: " + broken_);
    }
    long r = write_full(*io_, fd_, batch_.data(), batch_.size(), end_);
    if (r < 0) {
        discard();
        // Cut the log back to the last commit, so the next batch does not follow a partial record.
        int t = io_->ftruncate(fd_, end_);
        if (t < 0) broken_ = fmt::format("cannot cut the log back after a failed write: {}", errno_text(t));
        return error(fmt::format("write to {}: {}", path(log_name), errno_text(r)));
    }
    r = io_->fdatasync(fd_);
    if (r < 0) {
        discard();
        broken_ = fmt::format("fsync failed: {}", errno_text(r));
        io_->ftruncate(fd_, end_);
        return error(fmt::format("fsync of {}: {}", path(log_name), errno_text(r)));
    }
    for (auto& s : staged_)
        apply(s.type, s.id, Span{end_ + static_cast<std::int64_t>(s.offset), s.size}, std::move(s.service));
    std::size_t n = staged_.size();
    end_ += static_cast<std::int64_t>(batch_.size());
    ++counters_.commits;
    counters_.records += n;
    discard();
    auto c = compact();
    if (!c) log::warn("titanic store: compaction failed (the log stays as it is): {}", c.error().reason);
    return n;
}

RequestState Store::state(const Uuid& id) const {
    auto it = index_.find(id);
    if (it == index_.end()) return RequestState::unknown;
    return it->second.reply.size ? RequestState::answered : RequestState::pending;
}

const std::string* Store::service(const Uuid& id) const {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &it->second.service;
}

Result<Frames> Store::read_frames(Span span, std::uint8_t type, const Uuid& id) {
    std::vector<char> buf(span.size);
    long n = read_full(*io_, fd_, buf.data(), span.size, span.offset);
    if (n < 0) return error(fmt::format("read {}: {}", path(log_name), errno_text(n)));
    if (static_cast<std::size_t>(n) != span.size) return error("record beyond the end of the log");
    std::uint32_t len = get32(buf.data()), crc = get32(buf.data() + 4);
    const char* body = buf.data() + record_header;
    if (len + record_header != span.size || crc32c(body, len, crc32c(buf.data(), 4)) != crc ||
        static_cast<std::uint8_t>(body[0]) != type || std::memcmp(body + 1, id.bytes.data(), 16) != 0 ||
        !check_frames(body + body_fixed, len - body_fixed, nullptr))
        return error(fmt::format("record at offset {} of {} is corrupt", span.offset, path(log_name)));
    return decode_frames(body + body_fixed);
}

Result<Frames> Store::read_request(const Uuid& id) {
    auto it = index_.find(id);
    if (it == index_.end()) return error("unknown request");
    return read_frames(it->second.request, t_request, id);
}

Result<Frames> Store::read_reply(const Uuid& id) {
    auto it = index_.find(id);
    if (it == index_.end() || it->second.reply.size == 0) return error("no reply stored");
    return read_frames(it->second.reply, t_reply, id);
}

std::vector<Uuid> Store::pending_in_order() const {
    std::vector<std::pair<std::int64_t, Uuid>> pending;
    for (const auto& [id, e] : index_)
        if (e.reply.size == 0) pending.emplace_back(e.request.offset, id);
    std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Uuid> out;
    out.reserve(pending.size());
    for (auto& p : pending) out.push_back(p.second);
    return out;
}

Result<bool> Store::compact(bool force) {
    if (broken()) return error("store unusable until restart: " + broken_);
    if (!staged_.empty()) return error("cannot compact with staged writes");
    if (!force && dead_ < std::max<std::uint64_t>(live_, options_.compact_min_bytes)) return false;

    std::string tmp = path(log_name) + ".tmp";
    int tfd = io_->open(tmp, O_RDWR | O_CREAT | O_TRUNC);
    if (tfd < 0) return error(fmt::format("cannot create {}: {}", tmp, errno_text(tfd)));
    auto fail = [&](std::string why) -> Result<bool> {
        io_->close(tfd);
        io_->unlink(tmp);
        return error(std::move(why));
    };

    // Live records in log order (so that pending requests keep their submission order).
    std::vector<std::pair<std::int64_t, Entry*>> live;
    live.reserve(index_.size());
    for (auto& [id, e] : index_) live.emplace_back(e.request.offset, &e);
    std::sort(live.begin(), live.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

    std::string out(magic);
    std::int64_t written = 0;
    std::vector<std::pair<Span, Span>> spans;
    spans.reserve(live.size());
    auto copy = [&](Span from) -> Result<Span> {
        if (from.size == 0) return Span{};
        Span to{written + static_cast<std::int64_t>(out.size()), from.size};
        std::size_t at = out.size();
        out.resize(at + from.size);
        long n = read_full(*io_, fd_, out.data() + at, from.size, from.offset);
        if (n < 0 || static_cast<std::size_t>(n) != from.size)
            return error("cannot read the log to compact it");
        if (out.size() >= copy_chunk) {
            long w = write_full(*io_, tfd, out.data(), out.size(), written);
            if (w < 0) return error(fmt::format("write {}: {}", tmp, errno_text(w)));
            written += static_cast<std::int64_t>(out.size());
            out.clear();
        }
        return to;
    };
    for (auto& [offset, e] : live) {
        auto req = copy(e->request);
        if (!req) return fail(req.error().reason);
        auto rep = copy(e->reply);
        if (!rep) return fail(rep.error().reason);
        spans.emplace_back(*req, *rep);
    }
    long w = write_full(*io_, tfd, out.data(), out.size(), written);
    if (w < 0) return fail(fmt::format("write {}: {}", tmp, errno_text(w)));
    written += static_cast<std::int64_t>(out.size());
    int r = io_->fsync(tfd);
    if (r < 0) return fail(fmt::format("fsync {}: {}", tmp, errno_text(r)));
    r = io_->rename(tmp, path(log_name));
    if (r < 0) return fail(fmt::format("rename {}: {}", tmp, errno_text(r)));
    // From here the new log is the log.
    io_->close(fd_);
    fd_ = tfd;
    end_ = written;
    for (std::size_t i = 0; i < live.size(); ++i) {
        live[i].second->request = spans[i].first;
        live[i].second->reply = spans[i].second;
    }
    std::uint64_t freed = dead_;
    dead_ = 0;
    ++counters_.compactions;
    auto d = sync_dir();
    if (!d) {
        broken_ = d.error().reason;
        return d.error();
    }
    log::debug("titanic store: compacted the log to {} bytes ({} freed, {} open requests)", end_, freed,
               index_.size());
    return true;
}

StoreStats Store::stats() const {
    StoreStats s = counters_;
    s.open = index_.size();
    s.answered = answered_;
    s.log_bytes = static_cast<std::uint64_t>(end_);
    s.live_bytes = live_;
    s.dead_bytes = dead_;
    return s;
}

}  // namespace pirates::titanic
