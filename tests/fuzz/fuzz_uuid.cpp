// Titanic's UUIDs: Uuid::parse on arbitrary text. Accepted exactly when 32 hex digits; what parses prints
// back as the same digits in upper case, and parses again to the same bytes.
#include "fuzz_input.hpp"

#include <pirates/titanic/uuid.hpp>

#include <cctype>

using namespace pirates;
using namespace pirates::titanic;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto u = Uuid::parse(text);
    bool hex32 = text.size() == 32;
    for (char c : text) hex32 = hex32 && std::isxdigit(static_cast<unsigned char>(c));
    FUZZ_CHECK(u.has_value() == hex32);
    if (!u) return 0;
    const std::string s = u->str();
    FUZZ_CHECK(s.size() == 32);
    for (std::size_t i = 0; i < 32; ++i)
        FUZZ_CHECK(s[i] == std::toupper(static_cast<unsigned char>(text[i])));
    auto again = Uuid::parse(s);
    FUZZ_CHECK(again && *again == *u && UuidHash{}(*again) == UuidHash{}(*u));
    return 0;
}
