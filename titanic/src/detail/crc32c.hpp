#pragma once
// CRC-32C (Castagnoli), the checksum of every record on disk (internal: the store's file format).
#include <cstddef>
#include <cstdint>

namespace pirates::titanic {

// `crc` chains calls over several pieces.
std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc = 0);

}  // namespace pirates::titanic
