#pragma once
// What every Freelance client returns: the reply body and the server that gave it, or an Error saying why
// there was none (all servers silent, global timeout...). No answer is an expected outcome, never an
// exception.
#include <pirates/common/frames.hpp>
#include <pirates/common/result.hpp>

#include <string>

namespace pirates::freelance {

struct Answer {
    Frames body;  // the reply without envelope and sequence: "OK" for models 2 and 3, the echo for model 1
    std::string
        server;  // endpoint that answered (empty for model 2: a DEALER does not say which peer answered)
};

using Reply = Result<Answer>;

}  // namespace pirates::freelance
