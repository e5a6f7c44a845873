#include <pirates/majordomo/protocol.hpp>

#include <cstring>

namespace pirates::majordomo {
namespace {

Frame text_frame(std::string_view s) {
    return Frame(s.data(), s.size());
}
unsigned char first_byte(const Frame& f) {
    return *static_cast<const unsigned char*>(f.data());
}

// "" protocol: the two frames every MDP message starts with (for a DEALER peer).
void push_header(Frames& m, std::string_view protocol) {
    m.push(text_frame(protocol));
    m.push(Frame());
}

}  // namespace

std::string_view command_name(unsigned char command) {
    switch (command) {
        case 0x01:
            return "READY";
        case 0x02:
            return "REQUEST";
        case 0x03:
            return "REPLY";
        case 0x04:
            return "HEARTBEAT";
        case 0x05:
            return "DISCONNECT";
        default:
            return "UNKNOWN";
    }
}

// ---- The one table of what differs between the versions ----
namespace {

struct Framing {
    bool leading_empty;  // an empty frame before the header, in both directions
    std::string_view client_header, worker_header;
    // Client commands; 0: no command frame (0.1).
    unsigned char client_request, client_partial, client_final;
    bool reply_has_service;  // replies to clients carry the service frame
    // Worker commands; partial 0: none (0.1).
    unsigned char ready, request, partial, final, heartbeat, disconnect;
};

constexpr Framing framing_v01{true, "MDPC01", "MDPW01", 0, 0, 0, true, 0x01, 0x02, 0x00, 0x03, 0x04, 0x05};
constexpr Framing framing_v02{false, "MDPC02", "MDPW02", 0x01, 0x02, 0x03, true,
                              0x01,  0x02,     0x03,     0x04, 0x05, 0x06};
constexpr Framing framing_majortomo{true, "MDPC02", "MDPW02", 0x02, 0x03, 0x04, false,
                                    0x01, 0x02,     0x03,     0x04, 0x05, 0x06};

const Framing& framing(Version v) {
    switch (v) {
        case Version::v02:
            return framing_v02;
        case Version::majortomo:
            return framing_majortomo;
        case Version::v01:
            break;
    }
    return framing_v01;
}

// Header (and the empty frame before it, where the version has one) in front of `m`.
void push_versioned_header(Frames& m, std::string_view header, const Framing& f) {
    m.push(text_frame(header));
    if (f.leading_empty) m.push(Frame());
}

}  // namespace

std::string_view version_name(Version v) {
    switch (v) {
        case Version::v02:
            return "0.2";
        case Version::majortomo:
            return "majortomo";
        case Version::v01:
            break;
    }
    return "0.1";
}

std::optional<Version> parse_version(std::string_view text) {
    if (text == "0.1") return Version::v01;
    if (text == "0.2") return Version::v02;
    if (text == "majortomo") return Version::majortomo;
    return std::nullopt;
}

Result<BrokerHeader> decode_broker_header(Frames& m) {
    if (m.size() < 2) return error("too short for MDP (fewer than 2 frames)");
    const bool leading_empty = m.front().size() == 0;
    if (leading_empty) m.pop();
    Frame protocol = m.pop();
    const bool client = equals(protocol, client_protocol) || equals(protocol, client_protocol_v02);
    const bool worker = equals(protocol, worker_protocol) || equals(protocol, worker_protocol_v02);
    if (!client && !worker) {
        if (!leading_empty) return error("first frame is neither the empty delimiter nor an MDP/0.2 header");
        return error("unknown protocol frame " + printable(protocol));
    }
    Version version = Version::v01;
    if (equals(protocol, client_protocol_v02) || equals(protocol, worker_protocol_v02))
        version = leading_empty ? Version::majortomo : Version::v02;
    else if (!leading_empty)
        return error("MDP 0.1 header without the empty delimiter before it");
    const Framing& f = framing(version);
    if (client) {
        if (f.client_request != 0) {
            if (m.empty()) return error("client message without a command");
            Frame command = m.pop();
            if (command.size() != 1) return error("client command frame is not one byte");
            if (first_byte(command) != f.client_request)
                return error("client command " + hex(command.to_string_view()) + " is not a REQUEST");
        }
        if (m.size() < 2) return error("client request without a body");
        Frame service = m.pop();
        if (service.size() == 0) return error("client request with an empty service name");
        return BrokerHeader{InboundKind::client_request, std::move(service), version};
    }
    if (m.empty()) return error("worker message without a command");
    Frame command = m.pop();
    if (command.size() != 1) return error("worker command frame is not one byte");
    const unsigned char c = first_byte(command);
    if (c == f.ready) {
        if (m.size() != 1) return error("READY needs exactly one service frame");
        Frame service = m.pop();
        if (service.size() == 0) return error("READY with an empty service name");
        return BrokerHeader{InboundKind::ready, std::move(service), version};
    }
    if (c == f.final || (f.partial != 0 && c == f.partial)) {
        if (m.size() < 3) return error("reply too short (client-id \"\" body... expected)");
        Frame client_id = m.pop();
        if (client_id.size() == 0) return error("reply with an empty client identity");
        if (m.front().size() != 0) return error("reply without the empty frame after the client identity");
        m.pop();
        return BrokerHeader{c == f.final ? InboundKind::reply : InboundKind::partial, std::move(client_id),
                            version};
    }
    if (c == f.heartbeat) {
        if (!m.empty()) return error("HEARTBEAT with extra frames");
        return BrokerHeader{InboundKind::heartbeat, Frame(), version};
    }
    if (c == f.disconnect) {
        if (!m.empty()) return error("DISCONNECT with extra frames");
        return BrokerHeader{InboundKind::disconnect, Frame(), version};
    }
    return error("unknown worker command " + hex(command.to_string_view()));
}

Result<BrokerInbound> decode_broker_inbound(Frames&& m) {
    auto header = decode_broker_header(m);
    if (!header) return header.error();
    Frame name = std::move(header.value().name);
    switch (header.value().kind) {
        case InboundKind::client_request:
            return BrokerInbound{ClientRequest{std::move(name), std::move(m)}};
        case InboundKind::ready:
            return BrokerInbound{WorkerReady{std::move(name)}};
        case InboundKind::reply:
        case InboundKind::partial:
            return BrokerInbound{WorkerReply{std::move(name), std::move(m)}};
        case InboundKind::heartbeat:
            return BrokerInbound{WorkerHeartbeat{}};
        case InboundKind::disconnect:
            return BrokerInbound{WorkerDisconnect{}};
    }
    return error("unreachable");
}

Result<WorkerInbound> decode_worker_inbound(Frames&& m, Version version) {
    const Framing& f = framing(version);
    if (f.leading_empty) {
        if (m.size() < 3) return error("too short for MDP (fewer than 3 frames)");
        if (m.front().size() != 0) return error("first frame is not the empty delimiter");
        m.pop();
    } else if (m.size() < 2) {
        return error("too short for MDP (fewer than 2 frames)");
    }
    if (!equals(m.front(), f.worker_header))
        return error("not an " + std::string(f.worker_header) + " message");
    m.pop();
    Frame command = m.pop();
    if (command.size() != 1) return error("command frame is not one byte");
    const unsigned char c = first_byte(command);
    if (c == f.request) {
        if (m.size() < 3) return error("REQUEST too short (client-id \"\" body... expected)");
        Frame client = m.pop();
        if (m.front().size() != 0) return error("REQUEST without the empty frame after the client identity");
        m.pop();
        return WorkerInbound{BrokerRequest{std::move(client), std::move(m)}};
    }
    if (c == f.heartbeat) {
        if (!m.empty()) return error("HEARTBEAT with extra frames");
        return WorkerInbound{BrokerHeartbeat{}};
    }
    if (c == f.disconnect) {
        if (!m.empty()) return error("DISCONNECT with extra frames");
        return WorkerInbound{BrokerDisconnect{}};
    }
    return error("unexpected command " + hex(command.to_string_view()) + " from the broker");
}

Result<ClientReply> decode_client_reply(Frames&& m, bool delimited) {
    if (delimited) {
        if (m.empty() || m.front().size() != 0) return error("reply does not start with the empty delimiter");
        m.pop();
    }
    if (m.size() < 3) return error("reply too short (\"MDPC01\" service body... expected)");
    if (!equals(m.front(), client_protocol)) return error("reply is not MDPC01");
    m.pop();
    Frame service = m.pop();
    return ClientReply{std::move(service), std::move(m)};
}

Result<ClientAnswer> decode_client_answer(Frames&& m, Version version) {
    if (version == Version::v01) {
        auto r = decode_client_reply(std::move(m), true);
        if (!r) return r.error();
        return ClientAnswer{std::move(r.value().service), std::move(r.value().body), true};
    }
    const Framing& f = framing(version);
    if (f.leading_empty) {
        if (m.empty() || m.front().size() != 0) return error("reply does not start with the empty delimiter");
        m.pop();
    }
    if (m.size() < 3) return error("reply too short");
    if (!equals(m.front(), f.client_header)) return error("reply is not " + std::string(f.client_header));
    m.pop();
    Frame command = m.pop();
    if (command.size() != 1) return error("reply command frame is not one byte");
    const unsigned char c = first_byte(command);
    if (c != f.client_partial && c != f.client_final)
        return error("reply command " + hex(command.to_string_view()) + " is neither PARTIAL nor FINAL");
    Frame service;
    if (f.reply_has_service) {
        if (m.size() < 2) return error("reply without a body");
        service = m.pop();
    }
    if (m.empty()) return error("reply without a body");
    return ClientAnswer{std::move(service), std::move(m), c == f.client_final};
}

Frames encode_client_request(std::string_view service, Frames body, bool with_delimiter) {
    body.push(text_frame(service));
    body.push(text_frame(client_protocol));
    if (with_delimiter) body.push(Frame());
    return body;
}

Frames encode_client_request(Version v, std::string_view service, Frames body) {
    const Framing& f = framing(v);
    body.push(text_frame(service));
    if (f.client_request != 0) body.push(byte_frame(f.client_request));
    push_versioned_header(body, f.client_header, f);
    return body;
}

Frames encode_client_reply(const Frame& service, Frames body) {
    body.push(Frame(service.data(), service.size()));
    push_header(body, client_protocol);
    return body;
}

Frames encode_client_reply(std::string_view service, Frames body) {
    body.push(text_frame(service));
    push_header(body, client_protocol);
    return body;
}

void push_client_reply_header(Frames& body, std::string_view service) {
    push_client_reply_header(body, service, Version::v01, true);
}

void push_client_reply_header(Frames& body, std::string_view service, Version v, bool final) {
    const Framing& f = framing(v);
    if (f.reply_has_service) body.push(text_frame(service));
    if (f.client_final != 0) body.push(byte_frame(final ? f.client_final : f.client_partial));
    push_versioned_header(body, f.client_header, f);
}

Frames encode_ready(std::string_view service) {
    return encode_ready(service, Version::v01);
}

Frames encode_ready(std::string_view service, Version v) {
    const Framing& f = framing(v);
    Frames m;
    m.add(text_frame(service));
    m.push(byte_frame(f.ready));
    push_versioned_header(m, f.worker_header, f);
    return m;
}

Frames encode_reply(Frame client, Frames body) {
    return encode_reply(std::move(client), std::move(body), Version::v01, true);
}

Frames encode_reply(Frame client, Frames body, Version v, bool final) {
    const Framing& f = framing(v);
    body.push(Frame());
    body.push(std::move(client));
    body.push(byte_frame(final || f.partial == 0 ? f.final : f.partial));
    push_versioned_header(body, f.worker_header, f);
    return body;
}

Frames encode_heartbeat() {
    return encode_heartbeat(Version::v01);
}

Frames encode_heartbeat(Version v) {
    const Framing& f = framing(v);
    Frames m;
    m.add(byte_frame(f.heartbeat));
    push_versioned_header(m, f.worker_header, f);
    return m;
}

Frames encode_disconnect() {
    return encode_disconnect(Version::v01);
}

Frames encode_disconnect(Version v) {
    const Framing& f = framing(v);
    Frames m;
    m.add(byte_frame(f.disconnect));
    push_versioned_header(m, f.worker_header, f);
    return m;
}

void push_request_header(Frames& body, Frame client) {
    push_request_header(body, std::move(client), Version::v01);
}

void push_request_header(Frames& body, Frame client, Version v) {
    const Framing& f = framing(v);
    body.push(Frame());
    body.push(std::move(client));
    body.push(byte_frame(f.request));
    push_versioned_header(body, f.worker_header, f);
}

Frame pop_request_header(Frames& request) {
    return pop_request_header(request, Version::v01);
}

Frame pop_request_header(Frames& request, Version v) {
    if (framing(v).leading_empty) request.pop();  // ""
    request.pop();                                // header
    request.pop();                                // REQUEST
    Frame client = request.pop();
    request.pop();  // ""
    return client;
}

bool is_ready_command(const Frames& routed) {
    // [identity] "" MDPW01 0x01 ..., [identity] MDPW02 0x01 ..., [identity] "" MDPW02 0x01 ...
    if (routed.size() < 3) return false;
    std::size_t at = 1;
    if (routed[1].size() == 0) {
        at = 2;
        if (routed.size() < 4) return false;
        if (!equals(routed[at], worker_protocol) && !equals(routed[at], worker_protocol_v02)) return false;
    } else if (!equals(routed[at], worker_protocol_v02)) {
        return false;
    }
    return is_byte(routed[at + 1], 0x01);  // READY is 0x01 in every version
}

Frames encode_request(Frame client, Frames body) {
    push_request_header(body, std::move(client));
    return body;
}

}  // namespace pirates::majordomo

namespace pirates::majordomo {
namespace {
constexpr unsigned char correlation_marker[8] = {0xFF, 'P', 'I', 'R', 'C', 'I', 'D', 0x01};
}

Frame make_correlation_frame(std::uint64_t id) {
    unsigned char bytes[correlation_size];
    std::memcpy(bytes, correlation_marker, sizeof correlation_marker);
    for (int i = 0; i < 8; ++i) bytes[8 + i] = static_cast<unsigned char>(id >> (56 - 8 * i));
    return Frame(bytes, sizeof bytes);
}

bool is_correlation_frame(const Frame& f) {
    return f.size() == correlation_size &&
           std::memcmp(f.data(), correlation_marker, sizeof correlation_marker) == 0;
}

std::uint64_t correlation_id(const Frame& f) {
    const auto* p = static_cast<const unsigned char*>(f.data()) + 8;
    std::uint64_t id = 0;
    for (int i = 0; i < 8; ++i) id = (id << 8) | p[i];
    return id;
}

}  // namespace pirates::majordomo
