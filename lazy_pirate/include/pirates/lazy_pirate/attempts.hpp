#pragma once
// The Lazy Pirate client's retry logic is the common retry machine (common/retry.hpp): these names keep
// earlier code compiling.
#include <pirates/common/frames.hpp>
#include <pirates/common/retry.hpp>

namespace pirates::lazy_pirate {

using Attempts = pirates::RetryCore;
using pirates::echo_check;
using pirates::ReplyCheck;
using pirates::same_frames;
using pirates::share;  // a copy of a message for resending, sharing large payloads (common/frames.hpp)

}  // namespace pirates::lazy_pirate
