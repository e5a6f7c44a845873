// Not a protocol: the check that the corpus replay fails when a target finds a bug. Aborts on an input that
// starts with "CRASH" (as FUZZ_CHECK does); tests/fuzz/crash/selftest holds such an input and CTest expects
// the replay of it to fail.
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    FUZZ_CHECK(text.substr(0, 5) != "CRASH");
    return 0;
}
