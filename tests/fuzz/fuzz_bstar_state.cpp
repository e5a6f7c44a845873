// Binary Star, the peer's published state: decode_state on one arbitrary message. What decodes is one of the
// four states and re-encodes to the very frame it came from.
#include "fuzz_input.hpp"

#include <pirates/binary_star/server_core.hpp>

using namespace pirates;
using namespace pirates::binary_star;

namespace {
const std::vector<std::string_view> tokens = {"1", "2", "3", "4", "0", "5", "01", " 1"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    Frames message = in.message(tokens, 4);
    auto r = decode_state(message);
    if (!r) return 0;
    const int n = static_cast<int>(*r);
    FUZZ_CHECK(n >= 1 && n <= 4);
    FUZZ_CHECK(message.size() == 1 && view(encode_state(*r)) == view(message[0]));
    FUZZ_CHECK(!name(*r).empty());
    return 0;
}
