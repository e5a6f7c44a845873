#include <pirates/common/json.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace pirates {

void append_json_string(std::string& out, std::string_view text) {
    out += '"';
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (u < 0x20)
                    out += fmt::format("\\u{:04x}", u);
                else
                    out += c;
        }
    }
    out += '"';
}

void JsonWriter::separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
}

JsonWriter& JsonWriter::begin_object() {
    separate();
    out_ += '{';
    first_.push_back(true);
    return *this;
}
JsonWriter& JsonWriter::end_object() {
    out_ += '}';
    if (!first_.empty()) first_.pop_back();
    return *this;
}
JsonWriter& JsonWriter::begin_array() {
    separate();
    out_ += '[';
    first_.push_back(true);
    return *this;
}
JsonWriter& JsonWriter::end_array() {
    out_ += ']';
    if (!first_.empty()) first_.pop_back();
    return *this;
}
JsonWriter& JsonWriter::key(std::string_view name) {
    separate();
    append_json_string(out_, name);
    out_ += ':';
    after_key_ = true;
    return *this;
}
JsonWriter& JsonWriter::value(std::string_view text) {
    separate();
    append_json_string(out_, text);
    return *this;
}
JsonWriter& JsonWriter::value(std::int64_t number) {
    separate();
    out_ += fmt::format("{}", number);
    return *this;
}
JsonWriter& JsonWriter::value(std::uint64_t number) {
    separate();
    out_ += fmt::format("{}", number);
    return *this;
}
JsonWriter& JsonWriter::value(double number) {
    separate();
    out_ += std::isfinite(number) ? fmt::format("{}", number) : std::string("null");
    return *this;
}
JsonWriter& JsonWriter::value(bool flag) {
    separate();
    out_ += flag ? "true" : "false";
    return *this;
}
JsonWriter& JsonWriter::null() {
    separate();
    out_ += "null";
    return *this;
}

const JsonValue* JsonValue::find(std::string_view name) const {
    if (const Object* o = object())
        for (const auto& [k, v] : *o)
            if (k == name) return &v;
    return nullptr;
}

namespace {

// A recursive-descent reader over `text`; every function returns false on invalid input.
class JsonReader {
  public:
    explicit JsonReader(std::string_view text) : s_(text) {}

    std::optional<JsonValue> document() {
        JsonValue v;
        if (!value(v, 0)) return std::nullopt;
        skip_space();
        if (i_ != s_.size()) return std::nullopt;
        return v;
    }

  private:
    static constexpr int max_depth = 64;

    void skip_space() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    bool eat(char c) {
        skip_space();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }

    bool value(JsonValue& out, int depth) {
        if (depth > max_depth) return false;
        skip_space();
        if (i_ >= s_.size()) return false;
        switch (s_[i_]) {
            case '{':
                return object(out, depth);
            case '[':
                return array(out, depth);
            case '"': {
                std::string text;
                if (!string(text)) return false;
                out.value = std::move(text);
                return true;
            }
            case 't':
                out.value = true;
                return literal("true");
            case 'f':
                out.value = false;
                return literal("false");
            case 'n':
                out.value = nullptr;
                return literal("null");
            default:
                return number(out);
        }
    }

    bool object(JsonValue& out, int depth) {
        ++i_;  // '{'
        JsonValue::Object members;
        if (!eat('}')) {
            do {
                skip_space();
                std::string key;
                if (!string(key) || !eat(':')) return false;
                JsonValue v;
                if (!value(v, depth + 1)) return false;
                members.emplace_back(std::move(key), std::move(v));
            } while (eat(','));
            if (!eat('}')) return false;
        }
        out.value = std::move(members);
        return true;
    }

    bool array(JsonValue& out, int depth) {
        ++i_;  // '['
        JsonValue::Array elements;
        if (!eat(']')) {
            do {
                JsonValue v;
                if (!value(v, depth + 1)) return false;
                elements.push_back(std::move(v));
            } while (eat(','));
            if (!eat(']')) return false;
        }
        out.value = std::move(elements);
        return true;
    }

    bool number(JsonValue& out) {
        // The RFC's grammar: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
        const std::size_t start = i_;
        auto digits = [&] {
            const std::size_t from = i_;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
            return i_ > from;
        };
        if (i_ < s_.size() && s_[i_] == '-') ++i_;
        if (i_ < s_.size() && s_[i_] == '0')
            ++i_;
        else if (!digits())
            return false;
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (!digits()) return false;
        }
        if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
            ++i_;
            if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (!digits()) return false;
        }
        const std::string text(s_.substr(start, i_ - start));
        out.value = std::strtod(text.c_str(), nullptr);
        return true;
    }

    static void append_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    bool hex4(std::uint32_t& cp) {
        if (s_.size() - i_ < 4) return false;
        unsigned v = 0;
        auto [end, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, v, 16);
        if (ec != std::errc{} || end != s_.data() + i_ + 4) return false;
        i_ += 4;
        cp = v;
        return true;
    }

    bool string(std::string& out) {
        if (i_ >= s_.size() || s_[i_] != '"') return false;
        ++i_;
        while (i_ < s_.size()) {
            const char c = s_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return false;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (i_ >= s_.size()) return false;
            switch (s_[i_++]) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    std::uint32_t cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00) {  // a high surrogate: its low half must follow
                        std::uint32_t low = 0;
                        if (!literal("\\u") || !hex4(low) || low < 0xDC00 || low >= 0xE000) return false;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xDC00 && cp < 0xE000) {
                        return false;
                    }
                    append_utf8(out, cp);
                    break;
                }
                default:
                    return false;
            }
        }
        return false;  // unterminated
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

std::optional<JsonValue> parse_json(std::string_view text) {
    return JsonReader(text).document();
}

}  // namespace pirates
