#include <pirates/majordomo/protocol.hpp>

#include <cstring>

namespace pirates::majordomo {
namespace {

Frame text_frame(std::string_view s) {
    return Frame(s.data(), s.size());
}
Frame command_frame(Command c) {
    return byte_frame(static_cast<unsigned char>(c));
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

Result<BrokerHeader> decode_broker_header(Frames& m) {
    if (m.size() < 3) return error("too short for MDP (fewer than 3 frames)");
    if (m.front().size() != 0) return error("first frame is not the empty delimiter");
    m.pop();
    Frame protocol = m.pop();
    if (equals(protocol, client_protocol)) {
        if (m.size() < 2) return error("client request without a body");
        Frame service = m.pop();
        if (service.size() == 0) return error("client request with an empty service name");
        return BrokerHeader{InboundKind::client_request, std::move(service)};
    }
    if (!equals(protocol, worker_protocol)) return error("unknown protocol frame " + printable(protocol));
    Frame command = m.pop();
    if (command.size() != 1) return error("worker command frame is not one byte");
    switch (first_byte(command)) {
        case 0x01: {
            if (m.size() != 1) return error("READY needs exactly one service frame");
            Frame service = m.pop();
            if (service.size() == 0) return error("READY with an empty service name");
            return BrokerHeader{InboundKind::ready, std::move(service)};
        }
        case 0x03: {
            if (m.size() < 3) return error("REPLY too short (client-id \"\" body... expected)");
            Frame client = m.pop();
            if (client.size() == 0) return error("REPLY with an empty client identity");
            if (m.front().size() != 0)
                return error("REPLY without the empty frame after the client identity");
            m.pop();
            return BrokerHeader{InboundKind::reply, std::move(client)};
        }
        case 0x04:
            if (!m.empty()) return error("HEARTBEAT with extra frames");
            return BrokerHeader{InboundKind::heartbeat, Frame()};
        case 0x05:
            if (!m.empty()) return error("DISCONNECT with extra frames");
            return BrokerHeader{InboundKind::disconnect, Frame()};
        default:
            return error("unknown worker command " + hex(command.to_string_view()));
    }
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
            return BrokerInbound{WorkerReply{std::move(name), std::move(m)}};
        case InboundKind::heartbeat:
            return BrokerInbound{WorkerHeartbeat{}};
        case InboundKind::disconnect:
            return BrokerInbound{WorkerDisconnect{}};
    }
    return error("unreachable");
}

Result<WorkerInbound> decode_worker_inbound(Frames&& m) {
    if (m.size() < 3) return error("too short for MDP (fewer than 3 frames)");
    if (m.front().size() != 0) return error("first frame is not the empty delimiter");
    m.pop();
    if (!equals(m.front(), worker_protocol)) return error("not an MDPW01 message");
    m.pop();
    Frame command = m.pop();
    if (command.size() != 1) return error("command frame is not one byte");
    switch (first_byte(command)) {
        case 0x02: {
            if (m.size() < 3) return error("REQUEST too short (client-id \"\" body... expected)");
            Frame client = m.pop();
            if (m.front().size() != 0)
                return error("REQUEST without the empty frame after the client identity");
            m.pop();
            return WorkerInbound{BrokerRequest{std::move(client), std::move(m)}};
        }
        case 0x04:
            return WorkerInbound{BrokerHeartbeat{}};
        case 0x05:
            return WorkerInbound{BrokerDisconnect{}};
        default:
            return error("unexpected command " + hex(command.to_string_view()) + " from the broker");
    }
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

Frames encode_client_request(std::string_view service, Frames body, bool with_delimiter) {
    body.push(text_frame(service));
    body.push(text_frame(client_protocol));
    if (with_delimiter) body.push(Frame());
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

Frames encode_ready(std::string_view service) {
    Frames m;
    m.add(text_frame(service));
    m.push(command_frame(Command::ready));
    push_header(m, worker_protocol);
    return m;
}

Frames encode_reply(Frame client, Frames body) {
    body.push(Frame());
    body.push(std::move(client));
    body.push(command_frame(Command::reply));
    push_header(body, worker_protocol);
    return body;
}

Frames encode_heartbeat() {
    Frames m;
    m.add(command_frame(Command::heartbeat));
    push_header(m, worker_protocol);
    return m;
}

Frames encode_disconnect() {
    Frames m;
    m.add(command_frame(Command::disconnect));
    push_header(m, worker_protocol);
    return m;
}

void push_request_header(Frames& body, Frame client) {
    body.push(Frame());
    body.push(std::move(client));
    body.push(command_frame(Command::request));
    push_header(body, worker_protocol);
}

Frame pop_request_header(Frames& request) {
    request.pop();  // ""
    request.pop();  // "MDPW01"
    request.pop();  // 0x02
    Frame client = request.pop();
    request.pop();  // ""
    return client;
}

bool is_ready_command(const Frames& routed) {
    return routed.size() >= 4 && routed[1].size() == 0 && equals(routed[2], worker_protocol) &&
           is_byte(routed[3], static_cast<unsigned char>(Command::ready));
}

void push_client_reply_header(Frames& body, std::string_view service) {
    body.push(text_frame(service));
    push_header(body, client_protocol);
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
