#pragma once
// Envelope helpers on cppzmq's multipart_t. A message travels as a list of frames; ROUTER sockets prepend the
// sender's identity, REQ/REP add an empty delimiter frame. These helpers move frames, never copy payloads.
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace pirates {

using Frames = zmq::multipart_t;
using Frame = zmq::message_t;

inline Frame frame(std::string_view s) {
    return Frame(s.data(), s.size());
}
inline Frame byte_frame(unsigned char b) {
    return Frame(&b, 1);
}
inline Frame empty_frame() {
    return Frame();
}

inline std::string_view view(const Frame& f) {
    return f.to_string_view();
}
inline bool equals(const Frame& f, std::string_view s) {
    return f.to_string_view() == s;
}
inline bool is_byte(const Frame& f, unsigned char b) {
    return f.size() == 1 && *static_cast<const unsigned char*>(f.data()) == b;
}

// Remove and return the first frame; an empty Frame if there is none.
inline Frame pop_frame(Frames& m) {
    if (m.empty()) return Frame();
    return m.pop();
}

// An identity is the first frame of what a ROUTER receives, and what it sends first to address a peer.
inline void push_identity(Frames& m, Frame identity) {
    m.push(std::move(identity));
}
inline std::optional<Frame> pop_identity(Frames& m) {
    if (m.empty()) return std::nullopt;
    return m.pop();
}

// wrap: put `address` and an empty delimiter in front (REQ/REP envelope).
inline void wrap(Frames& m, Frame address) {
    m.push(Frame());
    m.push(std::move(address));
}

// unwrap: take the first frame off and the empty delimiter after it, if present. Returns nullopt on an empty
// message.
inline std::optional<Frame> unwrap(Frames& m) {
    if (m.empty()) return std::nullopt;
    Frame address = m.pop();
    if (!m.empty() && m.front().size() == 0) m.pop();
    return address;
}

// A second handle on the same frames, for resending a request: zmq_msg_copy shares each frame's buffer
// (reference-counted) instead of copying the payload, and leaves the source unchanged.
Frames share(const Frames& m);

// Printable form of a frame for logs: text when it is text, hex otherwise, cut at `max` bytes.
std::string printable(const Frame& f, std::size_t max = 32);
std::string printable(const Frames& m, std::size_t max_per_frame = 32);

// Hex of a frame's bytes (identities are binary: this is how logs and maps show them).
std::string hex(std::string_view bytes);

}  // namespace pirates
