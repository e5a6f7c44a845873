// The logger: levels filter, one line per call with a timestamp, the level letter and the program's name, on
// stderr; a message below the level is not even formatted.
#include <doctest/doctest.h>
#include <pirates/common/log.hpp>

#include <unistd.h>

#include <cstdio>
#include <regex>
#include <string>

using namespace pirates;

namespace {

int formatted = 0;  // how many times a Counted was formatted
struct Counted {};

// Everything written to stderr while `fn` runs (fd 2 sent to a temporary file, then restored).
template <typename F>
std::string capture_stderr(F&& fn) {
    std::fflush(stderr);
    std::FILE* tmp = std::tmpfile();
    REQUIRE(tmp != nullptr);
    const int saved = dup(2);
    REQUIRE(saved >= 0);
    REQUIRE(dup2(fileno(tmp), 2) >= 0);
    fn();
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::string out;
    std::rewind(tmp);
    char buf[512];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, tmp)) > 0;) out.append(buf, n);
    std::fclose(tmp);
    return out;
}

// Restores the process-wide level and name after each test.
struct Restore {
    log::Level level = log::level();
    ~Restore() {
        log::set_level(level);
        log::set_name("");
    }
};

}  // namespace

template <>
struct fmt::formatter<Counted> : fmt::formatter<std::string_view> {
    auto format(const Counted&, fmt::format_context& ctx) const {
        ++formatted;
        return fmt::formatter<std::string_view>::format("counted", ctx);
    }
};

TEST_CASE("log: info and above by default, set_level moves the threshold") {
    Restore restore;
    log::set_level(log::Level::info);
    CHECK(log::enabled(log::Level::error));
    CHECK(log::enabled(log::Level::warn));
    CHECK(log::enabled(log::Level::info));
    CHECK_FALSE(log::enabled(log::Level::debug));
    log::set_level(log::Level::warn);
    CHECK_FALSE(log::enabled(log::Level::info));
    log::set_level(log::Level::debug);
    CHECK(log::enabled(log::Level::debug));
}

TEST_CASE("log: one line on stderr - time, level letter, program name, message") {
    Restore restore;
    log::set_level(log::Level::info);
    log::set_name("unit");
    const std::string out = capture_stderr([] {
        log::warn("answer {} of {}", 42, "everything");
        log::info("second");
    });
    CHECK(std::regex_match(
        out, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z W unit: answer 42 of everything
\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z I unit: second
)")));
}

TEST_CASE("log: --log-format json writes one JSON object a line with time, level, program and msg") {
    Restore restore;
    log::set_level(log::Level::info);
    log::set_name("unit");
    log::set_format(log::Format::json);
    const std::string out = capture_stderr([] { log::warn("bound broker \"{}\"", "tcp://127.0.0.1:5"); });
    const std::string with_fields = capture_stderr([] {
        log::info(log::Fields{{"service", "echo"}, {"endpoint", "tcp://h:1"}}, "up");
    });
    log::set_format(log::Format::text);
    const std::string text = capture_stderr([] { log::info(log::Fields{{"service", "echo"}}, "up"); });
    CHECK(with_fields.ends_with(R"("msg":"up","service":"echo","endpoint":"tcp://h:1"})"
                                "\n"));
    CHECK(text.ends_with(" I unit: up\n"));
    CHECK(std::regex_match(
        out,
        std::regex(R"(\{"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","level":"warn","program":"unit",)"
                   R"("msg":"bound broker \\"tcp://127.0.0.1:5\\""\}
)")));
}

TEST_CASE("log: below the level nothing is written and the arguments are not formatted") {
    Restore restore;
    log::set_level(log::Level::warn);
    formatted = 0;
    const std::string quiet = capture_stderr([] {
        log::info("{}", Counted{});
        log::debug("{}", Counted{});
    });
    CHECK(quiet.empty());
    CHECK(formatted == 0);
    const std::string loud = capture_stderr([] { log::error("{}", Counted{}); });
    CHECK(formatted == 1);
    CHECK(loud.find(" E counted\n") != std::string::npos);
}

TEST_CASE("an application's sink receives every line instead of stderr, and an empty sink restores stderr") {
    std::vector<std::pair<log::Level, std::string>> got;
    std::string err = capture_stderr([&] {
        log::set_sink([&](log::Level l, std::string_view message, std::string_view line) {
            got.emplace_back(l, std::string(message));
            CHECK(line.find(message) != std::string_view::npos);
            CHECK(line.back() == '\n');
        });
        log::warn("to the sink {}", 1);
        log::info("to the sink {}", 2);
        log::set_sink({});
        log::warn("to stderr again");
    });
    REQUIRE(got.size() == 2);
    CHECK(got[0].first == log::Level::warn);
    CHECK(got[0].second == "to the sink 1");
    CHECK(got[1].second == "to the sink 2");
    CHECK(err.find("to the sink") == std::string::npos);
    CHECK(err.find("to stderr again") != std::string::npos);
}
