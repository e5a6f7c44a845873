#include <pirates/binary_star/subscriber_link.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace pirates::binary_star {

namespace {

constexpr unsigned char kMore = 0x01;
constexpr unsigned char kLong = 0x02;
constexpr unsigned char kCommand = 0x04;
constexpr unsigned char kReserved = 0xF8;

// A command's body starts with its name, as one length byte and the name.
std::string command_body(std::string_view name, std::string_view data) {
    std::string body;
    body.push_back(static_cast<char>(name.size()));
    body.append(name);
    body.append(data);
    return body;
}

std::string frame_bytes(unsigned char flags, std::string_view body) {
    std::string out;
    if (body.size() > 255) {
        out.push_back(static_cast<char>(flags | kLong));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(body.size()) >> shift) & 0xFF));
    } else {
        out.push_back(static_cast<char>(flags));
        out.push_back(static_cast<char>(body.size()));
    }
    out.append(body);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::uint8_t byte_at(std::string_view s, std::size_t i) {
    return static_cast<std::uint8_t>(s[i]);
}

// The Socket-Type property of a READY command's metadata, or an Error if the metadata is malformed.
Result<std::string> socket_type(std::string_view metadata) {
    std::string found;
    std::size_t i = 0;
    while (i < metadata.size()) {
        const std::size_t name_size = byte_at(metadata, i++);
        if (name_size == 0 || metadata.size() - i < name_size + 4) return error("malformed READY metadata");
        const std::string_view name = metadata.substr(i, name_size);
        i += name_size;
        std::uint32_t value_size = 0;
        for (int k = 0; k < 4; ++k) value_size = (value_size << 8) | byte_at(metadata, i++);
        if (metadata.size() - i < value_size) return error("malformed READY metadata");
        if (iequals(name, "Socket-Type")) found = std::string(metadata.substr(i, value_size));
        i += value_size;
    }
    if (found.empty()) return error("READY without a Socket-Type");
    return found;
}

}  // namespace

const std::string& SubscriberLink::hello() {
    static const std::string bytes = [] {
        std::string g(kGreetingBytes, '\0');
        g[0] = static_cast<char>(0xFF);
        g[8] = 1;  // padding: as libzmq writes it (an identity length + 1, for ZMTP 1.0 peers); any value is
                   // legal
        g[9] = 0x7F;
        g[10] = 3;  // version 3.1
        g[11] = 1;
        g.replace(12, 4,
                  "NULL");  // mechanism, zero padded to 20 bytes; as-server (byte 32) and filler stay 0
        std::string metadata;
        metadata.push_back(11);
        metadata.append("Socket-Type");
        metadata.append(std::string_view("\0\0\0\3", 4));
        metadata.append("PUB");
        return g + frame_bytes(kCommand, command_body("READY", metadata));
    }();
    return bytes;
}

std::string encode_message(std::string_view body) {
    return frame_bytes(0, body);
}

std::optional<Error> SubscriberLink::on_greeting(std::string_view g) {
    // Checked as soon as each part is in, so that a peer of an older ZMTP (which waits for our reply after
    // 10 or 11 bytes) is refused at once rather than at the handshake timeout.
    if (byte_at(g, 0) != 0xFF) return error("not a ZMTP greeting");
    if (g.size() >= 10 && !(byte_at(g, 9) & 0x01)) return error("ZMTP 1.0 peer (not supported)");
    if (g.size() >= 11 && byte_at(g, 10) < 3)
        return error(fmt::format("ZMTP version {} peer (3.0 or later needed)", byte_at(g, 10) + 1));
    if (g.size() >= 32 && g.substr(12, 20) != std::string_view("NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20))
        return error("security mechanism other than NULL");
    return std::nullopt;
}

std::optional<Error> SubscriberLink::on_bytes(std::string_view bytes, std::string& reply,
                                              SubscriberCounts& counts) {
    if (phase_ == Phase::dead) return error("connection already refused");
    auto fail = [this](Error e) -> std::optional<Error> {
        phase_ = Phase::dead;
        buffer_.clear();
        buffer_.shrink_to_fit();
        return e;
    };
    buffer_.append(bytes);
    std::size_t pos = 0;
    if (phase_ == Phase::greeting) {
        if (buffer_.empty()) return std::nullopt;
        const std::string_view g = std::string_view(buffer_).substr(0, kGreetingBytes);
        if (auto e = on_greeting(g)) return fail(*e);
        if (g.size() < kGreetingBytes) return std::nullopt;
        pos = kGreetingBytes;
        phase_ = Phase::handshake;
    }
    const std::string_view buf(buffer_);
    while (buf.size() - pos >= 2) {
        const unsigned char flags = byte_at(buf, pos);
        if (flags & kReserved) return fail(error(fmt::format("frame flags 0x{:02x}", flags)));
        const std::size_t header = (flags & kLong) ? 9 : 2;
        if (buf.size() - pos < header) break;
        std::uint64_t size = 0;
        if (flags & kLong) {
            for (std::size_t k = 1; k < 9; ++k) size = (size << 8) | byte_at(buf, pos + k);
        } else {
            size = byte_at(buf, pos + 1);
        }
        if (size > kMaxFrameBytes)
            return fail(error(fmt::format("frame of {} bytes (limit {})", size, kMaxFrameBytes)));
        if (buf.size() - pos - header < size) break;
        const std::string_view body = buf.substr(pos + header, size);
        pos += header + size;
        if (auto e = on_frame(flags, body, reply, counts)) return fail(*e);
    }
    buffer_.erase(0, pos);
    return std::nullopt;
}

std::optional<Error> SubscriberLink::on_frame(unsigned char flags, std::string_view body, std::string& reply,
                                              SubscriberCounts& counts) {
    if (flags & kCommand) {
        if (flags & kMore) return error("command frame with the MORE flag");
        return on_command(body, reply, counts);
    }
    if (phase_ != Phase::open) return error("message before READY");
    const bool starts = !multipart_;
    multipart_ = (flags & kMore) != 0;
    if (!starts) return std::nullopt;  // the rest of a multi-frame message, counted at its first frame
    if (multipart_ || body.empty() || byte_at(body, 0) > 1) {
        ++counts.messages_dropped;  // not a subscription: a publisher has no use for it
        return std::nullopt;
    }
    on_subscription(byte_at(body, 0) == 1, body.substr(1), counts);
    return std::nullopt;
}

std::optional<Error> SubscriberLink::on_command(std::string_view body, std::string& reply,
                                                SubscriberCounts& counts) {
    if (body.empty() || body.size() - 1 < byte_at(body, 0)) return error("malformed command");
    const std::string_view name = body.substr(1, byte_at(body, 0));
    const std::string_view data = body.substr(1 + name.size());
    if (name == "ERROR") return error("the peer sent ERROR");
    if (phase_ != Phase::open) {
        if (name != "READY") return error(fmt::format("{} before READY", name));
        auto type = socket_type(data);
        if (!type) return type.error();
        if (*type != "SUB" && *type != "XSUB")
            return error(fmt::format("a {} cannot subscribe to a PUB", *type));
        phase_ = Phase::open;
        return std::nullopt;
    }
    if (name == "SUBSCRIBE" || name == "CANCEL") {
        on_subscription(name == "SUBSCRIBE", data, counts);
    } else if (name == "PING") {
        // PING: a 2-byte TTL, then up to 16 bytes of context that PONG echoes.
        ++counts.pings;
        const std::string_view context = data.size() > 2 ? data.substr(2, 16) : std::string_view();
        reply = frame_bytes(kCommand, command_body("PONG", context));
    } else if (name == "READY") {
        return error("READY twice");
    } else if (name != "PONG") {
        ++counts.messages_dropped;  // a command this publisher does not know: ignored
    }
    return std::nullopt;
}

void SubscriberLink::on_subscription(bool subscribe, std::string_view prefix, SubscriberCounts& counts) {
    if (!prefix.empty()) {
        ++counts.subscriptions_dropped;
        return;
    }
    if (subscribe && !all_) ++counts.subscribed_all;
    all_ = subscribe;
}

}  // namespace pirates::binary_star
