#pragma once
// The outcome of one request, the same type for every client API (Lazy Pirate, Majordomo sync and async,
// Binary Star, Freelance 1-3, Titanic): a reply, or why there is none, and how many attempts it took. An
// outage is a value, never an exception.
#include <string>
#include <utility>

namespace pirates {

enum class Status {
    reply,        // answered
    gave_up,      // every attempt allowed was used, none answered
    timed_out,    // an overall deadline passed (clients with a global timeout)
    interrupted,  // request_stop() (or a stop signal) while waiting
};

const char* name(Status status);

template <typename T>
struct [[nodiscard]] Outcome {
    Status status = Status::gave_up;
    T reply{};           // meaningful when status == reply
    int attempts = 0;    // sends of this request (1 = answered or failed at the first)
    std::string reason;  // why there is no reply (empty for a reply)

    static Outcome answered(T value, int attempts) {
        return Outcome{Status::reply, std::move(value), attempts, {}};
    }
    static Outcome failed(Status status, int attempts, std::string reason) {
        return Outcome{status, T{}, attempts, std::move(reason)};
    }

    bool ok() const { return status == Status::reply; }
    explicit operator bool() const { return ok(); }
    T* operator->() { return &reply; }
    const T* operator->() const { return &reply; }
    T& operator*() { return reply; }
    const T& operator*() const { return reply; }
};

inline const char* name(Status status) {
    switch (status) {
        case Status::reply:
            return "reply";
        case Status::gave_up:
            return "gave up";
        case Status::timed_out:
            return "timed out";
        case Status::interrupted:
            return "interrupted";
    }
    return "?";
}

}  // namespace pirates
