#include <pirates/titanic/io.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <array>
#include <cerrno>

#include "detail/crc32c.hpp"

namespace pirates::titanic {

int FileIo::open(const std::string& path, int flags, int mode) {
    int fd;
    do fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return -errno;
    // EPERM: an existing file of another owner (we may still use it); anything else is an error.
    if ((flags & O_CREAT) && ::fchmod(fd, static_cast<mode_t>(mode)) < 0 && errno != EPERM) {
        const int e = errno;
        ::close(fd);
        return -e;
    }
    return fd;
}

long FileIo::pwrite(int fd, const void* data, std::size_t size, std::int64_t offset) {
    ssize_t n;
    do n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : static_cast<long>(n);
}

long FileIo::pread(int fd, void* data, std::size_t size, std::int64_t offset) {
    ssize_t n;
    do n = ::pread(fd, data, size, static_cast<off_t>(offset));
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : static_cast<long>(n);
}

int FileIo::fdatasync(int fd) {
    return ::fdatasync(fd) < 0 ? -errno : 0;
}
int FileIo::fsync(int fd) {
    return ::fsync(fd) < 0 ? -errno : 0;
}
int FileIo::ftruncate(int fd, std::int64_t size) {
    return ::ftruncate(fd, static_cast<off_t>(size)) < 0 ? -errno : 0;
}
int FileIo::close(int fd) {
    return ::close(fd) < 0 ? -errno : 0;
}
int FileIo::rename(const std::string& from, const std::string& to) {
    return ::rename(from.c_str(), to.c_str()) < 0 ? -errno : 0;
}
int FileIo::unlink(const std::string& path) {
    return ::unlink(path.c_str()) < 0 ? -errno : 0;
}
std::int64_t FileIo::size(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) < 0) return -errno;
    return st.st_size;
}

FileIo& posix_io() {
    static FileIo io;
    return io;
}

namespace {

constexpr std::array<std::uint32_t, 256> make_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr auto crc_table = make_table();

}  // namespace

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) {
    auto p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    for (std::size_t i = 0; i < size; ++i) crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

}  // namespace pirates::titanic
