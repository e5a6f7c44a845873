#pragma once
// The MDP codec, every version in this one place: 7/MDP 0.1, 18/MDP 0.2 and the majortomo dialect of 0.2
// (docs/protocols.md). The differences between them are one table (Framing, in protocol.cpp); every encoder
// and decoder below reads it. The 0.1 codec: typed decoding of what clients, workers and the broker send, and encoders for each
// command. Only header frames are looked at; bodies are moved from the input message to the output, never
// parsed or copied. Decoders take the message by rvalue and return a Result: malformed input is a value.
//
// Frames as the application sees them (ROUTER identities excluded, see the broker core):
//   client -> broker   "" "MDPC01" service body...
//   broker -> client   "" "MDPC01" service body...
//   worker -> broker   "" "MDPW01" 0x01 service                    READY
//                      "" "MDPW01" 0x03 client-id "" body...       REPLY
//                      "" "MDPW01" 0x04                            HEARTBEAT
//                      "" "MDPW01" 0x05                            DISCONNECT
//   broker -> worker   "" "MDPW01" 0x02 client-id "" body...       REQUEST
//                      "" "MDPW01" 0x04 / 0x05                     HEARTBEAT / DISCONNECT
#include <pirates/common/frames.hpp>
#include <pirates/common/result.hpp>

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>

namespace pirates::majordomo {

inline constexpr std::string_view client_protocol = "MDPC01";
inline constexpr std::string_view worker_protocol = "MDPW01";
inline constexpr std::string_view client_protocol_v02 = "MDPC02";
inline constexpr std::string_view worker_protocol_v02 = "MDPW02";

// The framings a peer may speak. The broker tells them apart per message by the header (and an empty frame
// before it); clients and workers speak the one they are given.
//   v01        7/MDP 0.1:   "" MDPC01 service body... / "" MDPW01 cmd ...
//   v02        18/MDP 0.2:  MDPC02 cmd service body... / MDPW02 cmd ... (no empty frame)
//   majortomo  0.2 as shoppimon/majortomo speaks it: "" before the header; client REQUEST 0x02, replies to
//              clients PARTIAL 0x03 / FINAL 0x04 without a service frame.
enum class Version : unsigned char { v01, v02, majortomo };
std::string_view version_name(Version v);  // "0.1", "0.2", "majortomo"
// "0.1", "0.2" or "majortomo"; nullopt for anything else.
std::optional<Version> parse_version(std::string_view text);
// Whether the version has PARTIAL replies (0.1 has one REPLY per request).
inline bool has_partials(Version v) {
    return v != Version::v01;
}

enum class Command : unsigned char {
    ready = 0x01,
    request = 0x02,
    reply = 0x03,
    heartbeat = 0x04,
    disconnect = 0x05
};

// True when `service` names a Majordomo Management Interface service (answered by the broker): a real prefix
// test on the service name, "mmi." included, "mmi" or "mmix" not.
inline bool is_mmi(std::string_view service) {
    return service.substr(0, 4) == "mmi.";
}

// ---- What the broker receives (after its ROUTER identity frame) ----
struct ClientRequest {
    Frame service;
    Frames body;  // one or more frames
};
struct WorkerReady {
    Frame service;
};
struct WorkerReply {
    Frame client;  // identity of the client to answer
    Frames body;   // one or more frames
};
struct WorkerHeartbeat {};
struct WorkerDisconnect {};
using BrokerInbound =
    std::variant<ClientRequest, WorkerReady, WorkerReply, WorkerHeartbeat, WorkerDisconnect>;

// Decode a message received by the broker, identity already removed. The message is consumed.
Result<BrokerInbound> decode_broker_inbound(Frames&& message);

// The broker's hot path: decode only the header, popping its frames off `message` and leaving the body
// (client request, worker reply) in place, so the same message object can be re-headed and sent on without
// moving it.
// `reply` is 0.1's REPLY or 0.2's FINAL; `partial` is 0.2's PARTIAL.
enum class InboundKind { client_request, ready, reply, partial, heartbeat, disconnect };
struct BrokerHeader {
    InboundKind kind;
    Frame name;  // the service (client_request, ready) or the client identity (reply, partial); else empty
    Version version = Version::v01;  // the framing the peer spoke
};
Result<BrokerHeader> decode_broker_header(Frames& message);
// True when a message as the broker's ROUTER received it ([identity] "" "MDPW01" 0x01 ..., or a 0.2 READY in
// either framing) is a READY: the driver looks, without decoding, so that it can report closed connections
// before a worker registers.
bool is_ready_command(const Frames& routed);

// ---- What a worker receives from the broker (DEALER: no identity) ----
struct BrokerRequest {
    Frame client;
    Frames body;
};
// `version`: the framing the worker speaks; a message in another one is malformed.
struct BrokerHeartbeat {};
struct BrokerDisconnect {};
using WorkerInbound = std::variant<BrokerRequest, BrokerHeartbeat, BrokerDisconnect>;
Result<WorkerInbound> decode_worker_inbound(Frames&& message, Version version = Version::v01);

// ---- What a client receives from the broker ----
struct ClientReply {
    Frame service;
    Frames body;
};
// `delimited`: the message still starts with the empty frame (DEALER client); false for a REQ client, whose
// socket removed it.
Result<ClientReply> decode_client_reply(Frames&& message, bool delimited = true);
// Any version, on a DEALER. `final` is false for a 0.2 PARTIAL (0.1's one reply is final). A majortomo reply
// has no service frame: `service` is then empty.
struct ClientAnswer {
    Frame service;
    Frames body;
    bool final = true;
};
Result<ClientAnswer> decode_client_answer(Frames&& message, Version version);

// ---- Encoders. Each returns the frames to send (a ROUTER sender pushes the peer identity in front). ----
// Client: "" "MDPC01" service body... (with_delimiter = false for a REQ socket, which adds the "" itself).
Frames encode_client_request(std::string_view service, Frames body, bool with_delimiter = true);
// Broker -> client: "" "MDPC01" service body...
Frames encode_client_reply(const Frame& service, Frames body);
Frames encode_client_reply(std::string_view service, Frames body);
// Worker -> broker.
Frames encode_ready(std::string_view service);
Frames encode_reply(Frame client, Frames body);
Frames encode_heartbeat();
Frames encode_disconnect();
// Broker -> worker.
Frames encode_request(Frame client, Frames body);
// In place, for a body already in a message: put the header in front.
void push_request_header(Frames& body, Frame client);  // "" "MDPW01" 0x02 client ""
// The reverse, for a REQUEST that could not be sent: takes those five frames off and returns the client.
Frame pop_request_header(Frames& request);
void push_client_reply_header(Frames& body, std::string_view service);  // "" "MDPC01" service

// ---- Encoders for any version (the 0.1 ones above are these with Version::v01). ----
// Client request on a DEALER.
Frames encode_client_request(Version v, std::string_view service, Frames body);
// Broker -> client, in place: the reply header of `v` (PARTIAL when !final; 0.1 has only the final one).
void push_client_reply_header(Frames& body, std::string_view service, Version v, bool final);
Frames encode_ready(std::string_view service, Version v);
// Worker -> broker: 0.1 REPLY or 0.2 FINAL (final), 0.2 PARTIAL (!final; never for 0.1).
Frames encode_reply(Frame client, Frames body, Version v, bool final = true);
Frames encode_heartbeat(Version v);
Frames encode_disconnect(Version v);
void push_request_header(Frames& body, Frame client, Version v);
Frame pop_request_header(Frames& request, Version v);

// Human-readable name of a command byte, for logs.
std::string_view command_name(unsigned char command);

}  // namespace pirates::majordomo

namespace pirates::majordomo {

// ---- Correlation frames (our extension for the asynchronous client; see docs/majordomo.md, "Matching async replies")
// ---- MDP 0.1 carries no request id. The async client puts one correlation frame in front of the body: 16
// bytes, the 8-byte marker "\xFF" "PIRCID" "\x01" then the request id, 8 bytes big-endian. A worker must
// return it as the first frame of its reply: echo workers do so by nature, and pirates::majordomo::Worker
// strips it before the handler sees the request and puts it back in front of the reply, so handlers never see
// it.
inline constexpr std::size_t correlation_size = 16;
Frame make_correlation_frame(std::uint64_t id);
bool is_correlation_frame(const Frame& f);
// The id in a correlation frame (call only when is_correlation_frame()).
std::uint64_t correlation_id(const Frame& f);

using pirates::share;  // keep a request for resending without copying its payload (common/frames.hpp)

}  // namespace pirates::majordomo
