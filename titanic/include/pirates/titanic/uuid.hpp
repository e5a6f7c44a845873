#pragma once
// Request identifiers of 9/TSP: 32 hexadecimal digits on the wire, 16 bytes in memory and on disk.
//
// We generate uppercase digits (as the Guide's C reference does) and accept either case on input. Anything
// from the network that is not exactly 32 hex digits is not a UUID: parse() says so and the caller answers
// "400". A UUID is never used to build a path, so no input can reach a file outside the store.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pirates::titanic {

struct Uuid {
    std::array<std::uint8_t, 16> bytes{};

    // 32 uppercase hex digits.
    std::string str() const;
    // Exactly 32 hex digits (upper or lower case), nothing else; nullopt otherwise.
    static std::optional<Uuid> parse(std::string_view text);

    friend bool operator==(const Uuid&, const Uuid&) = default;
};

struct UuidHash {
    std::size_t operator()(const Uuid& u) const noexcept;
};

// Random (version 4 layout) UUIDs, 122 bits each from the operating system's random source (getrandom(2)),
// drawn afresh for every UUID: a UUID is the only key to a reply, so no client may predict another's (a
// seeded generator's state can be rebuilt from its outputs). Throws std::system_error if the kernel cannot
// give random bytes (getrandom missing: Linux < 3.17).
class UuidGenerator {
  public:
    UuidGenerator() = default;
    Uuid next();
};

}  // namespace pirates::titanic
