#pragma once
// Glue between RapidCheck and doctest: each property is one doctest check. When it fails RapidCheck prints the
// shrunk counterexample and an RC_PARAMS="reproduce=..." line that replays exactly that case. The cores' logs
// are quiet meanwhile (a property runs thousands of steps).
#include <doctest/doctest.h>
#include <rapidcheck.h>
#include <pirates/common/log.hpp>

#include <string>

namespace pirates::test {

template <typename Property>
void check_property(const std::string& description, Property&& property) {
    const log::Level before = log::level();
    log::set_level(log::Level::error);
    const bool held = rc::check(description, std::forward<Property>(property));
    log::set_level(before);
    CHECK_MESSAGE(held, "property failed: ", description, " (RapidCheck's counterexample is printed above)");
}

}  // namespace pirates::test

#define PIRATES_PROPERTY(description, ...) ::pirates::test::check_property(description, __VA_ARGS__)
