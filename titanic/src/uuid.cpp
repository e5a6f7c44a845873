#include <pirates/titanic/uuid.hpp>

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace pirates::titanic {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

std::string Uuid::str() const {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out(32, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    return out;
}

std::optional<Uuid> Uuid::parse(std::string_view text) {
    if (text.size() != 32) return std::nullopt;
    Uuid u;
    for (std::size_t i = 0; i < 16; ++i) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        u.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return u;
}

std::size_t UuidHash::operator()(const Uuid& u) const noexcept {
    // The bytes are random: any 8 of them make a good hash.
    std::uint64_t h = 0;
    std::memcpy(&h, u.bytes.data(), sizeof h);
    return static_cast<std::size_t>(h);
}

Uuid UuidGenerator::next() {
    Uuid u;
    std::size_t got = 0;
    while (got < u.bytes.size()) {  // 16 bytes come whole unless a signal interrupts the call
        const ssize_t n = ::getrandom(u.bytes.data() + got, u.bytes.size() - got, 0);
        if (n > 0)
            got += static_cast<std::size_t>(n);
        else if (n < 0 && errno != EINTR)
            throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0f) | 0x40);  // version 4
    u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return u;
}

}  // namespace pirates::titanic
