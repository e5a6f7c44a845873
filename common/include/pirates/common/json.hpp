#pragma once
// A small JSON writer for what pirates emits (MMI stats, JSON log lines, admin output): objects, arrays,
// strings, numbers, booleans. Output is compact (no spaces) and valid JSON: strings are escaped per RFC 8259
// (quote, backslash and control characters; bytes >= 0x80 pass through as they are, so UTF-8 stays UTF-8).
//     JsonWriter j;
//     j.begin_object().key("requests").value(12).key("name").value("echo").end_object();
//     j.str();  // {"requests":12,"name":"echo"}
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pirates {

// Appends `text` to `out` as a JSON string, quotes included.
void append_json_string(std::string& out, std::string_view text);

class JsonWriter {
  public:
    JsonWriter& begin_object();
    JsonWriter& end_object();
    JsonWriter& begin_array();
    JsonWriter& end_array();
    JsonWriter& key(std::string_view name);  // inside an object, before its value
    JsonWriter& value(std::string_view text);
    JsonWriter& value(const char* text) { return value(std::string_view(text)); }
    JsonWriter& value(std::int64_t number);
    JsonWriter& value(std::uint64_t number);
    JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
    JsonWriter& value(double number);  // finite numbers; NaN and infinities are written as null
    JsonWriter& value(bool flag);
    JsonWriter& null();

    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }

  private:
    void separate();  // the comma before a second and later member or element
    std::string out_;
    std::vector<bool> first_;  // per open container: no member written yet
    bool after_key_ = false;
};

// A parsed JSON value, as a simple tree (for admin tools and tests reading what JsonWriter wrote). Numbers
// are doubles (exact for integers up to 2^53); an object keeps its members in their order.
struct JsonMember;
struct JsonValue {
    using Array = std::vector<JsonValue>;
    // Members as (first: name, second: value). Not a std::pair: clang 14 with libstdc++ 12 cannot instantiate
    // pair<string, JsonValue> inside the variant while JsonValue is incomplete.
    using Object = std::vector<JsonMember>;
    std::variant<std::nullptr_t, bool, double, std::string, Array, Object> value;

    bool is_null() const { return std::holds_alternative<std::nullptr_t>(value); }
    const double* number() const { return std::get_if<double>(&value); }
    const std::string* string() const { return std::get_if<std::string>(&value); }
    const Array* array() const { return std::get_if<Array>(&value); }
    const Object* object() const { return std::get_if<Object>(&value); }
    // The member `name` of an object (the first of that name); nullptr if absent or not an object.
    const JsonValue* find(std::string_view name) const;
};
struct JsonMember {
    JsonMember(std::string name, JsonValue v) : first(std::move(name)), second(std::move(v)) {}
    std::string first;
    JsonValue second;
};

// Parses one JSON text (RFC 8259, surrounding whitespace allowed; nesting at most 64 deep). nullopt when it
// is not valid JSON.
std::optional<JsonValue> parse_json(std::string_view text);

}  // namespace pirates
