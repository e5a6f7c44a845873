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
#include <random>
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

// Random (version 4 layout) UUIDs, seeded from the OS.
class UuidGenerator {
  public:
    UuidGenerator();
    explicit UuidGenerator(std::uint64_t seed);
    Uuid next();

  private:
    std::mt19937_64 rng_;
};

}  // namespace pirates::titanic
