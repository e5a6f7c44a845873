#pragma once
// What every Freelance client returns: common's Outcome of an Answer (the reply body and the server that gave
// it), or the Status and reason why there was none (all servers silent, global timeout, request_stop()...).
// No answer is an expected outcome, never an exception.
#include <pirates/common/frames.hpp>
#include <pirates/common/outcome.hpp>

#include <string>

namespace pirates::freelance {

struct Answer {
    Frames body;  // the reply without envelope and sequence: "OK" for models 2 and 3, the echo for model 1
    std::string
        server;  // endpoint that answered (empty for model 2: a DEALER does not say which peer answered)
};

using Reply = Outcome<Answer>;

}  // namespace pirates::freelance
