#include <pirates/titanic/uuid.hpp>

#include <cstring>

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

UuidGenerator::UuidGenerator() {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    rng_.seed(seq);
}

UuidGenerator::UuidGenerator(std::uint64_t seed) : rng_(seed) {}

Uuid UuidGenerator::next() {
    Uuid u;
    std::uint64_t a = rng_(), b = rng_();
    std::memcpy(u.bytes.data(), &a, 8);
    std::memcpy(u.bytes.data() + 8, &b, 8);
    u.bytes[6] = static_cast<std::uint8_t>((u.bytes[6] & 0x0f) | 0x40);  // version 4
    u.bytes[8] = static_cast<std::uint8_t>((u.bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
    return u;
}

}  // namespace pirates::titanic
