#pragma once
// The few system calls the store makes, behind an interface so that tests can inject failures (a full disk,
// an I/O error, a failing fsync) without a tiny filesystem. Every call returns a non-negative result or
// -errno. The default implementation is plain POSIX; a test overrides only the calls it wants to break.
#include <cstddef>
#include <cstdint>
#include <string>

namespace pirates::titanic {

class FileIo {
  public:
    virtual ~FileIo() = default;
    // open(2): a file descriptor or -errno. A file opened with O_CREAT gets exactly `mode` (fchmod: the umask
    // does not widen or narrow it); the store's files are the owner's alone (0600).
    virtual int open(const std::string& path, int flags, int mode = 0600);
    virtual long pwrite(int fd, const void* data, std::size_t size, std::int64_t offset);
    virtual long pread(int fd, void* data, std::size_t size, std::int64_t offset);
    virtual int fdatasync(int fd);
    virtual int fsync(int fd);
    virtual int ftruncate(int fd, std::int64_t size);
    virtual int close(int fd);
    virtual int rename(const std::string& from, const std::string& to);
    virtual int unlink(const std::string& path);
    // Size of an open file, or -errno.
    virtual std::int64_t size(int fd);
};

// The process-wide POSIX implementation.
FileIo& posix_io();

}  // namespace pirates::titanic
