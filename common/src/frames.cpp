#include <pirates/common/frames.hpp>

#include <cctype>

namespace pirates {

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0xF];
    }
    return out;
}

Frames share(const Frames& m) {
    Frames out;
    for (const auto& f : m) {
        Frame c;
        c.copy(
            const_cast<Frame&>(f));  // zmq_msg_copy takes a non-const source but does not change its content
        out.add(std::move(c));
    }
    return out;
}

std::string printable(const Frame& f, std::size_t max) {
    std::string_view s = f.to_string_view();
    bool text = true;
    for (unsigned char c : s) {
        if (!std::isprint(c)) {
            text = false;
            break;
        }
    }
    std::string_view cut = s.substr(0, max);
    std::string out = text ? "\"" + std::string(cut) + "\"" : "0x" + hex(cut);
    if (s.size() > max) out += "...";
    return out;
}

std::string printable(const Frames& m, std::size_t max_per_frame) {
    std::string out = "[";
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (i) out += ' ';
        out += printable(m[i], max_per_frame);
    }
    out += ']';
    return out;
}

}  // namespace pirates
