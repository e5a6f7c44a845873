// SubscriberLink, the publisher's half of ZMTP 3.x for one connection, against bytes written here from the
// specs (rfc.zeromq.org 23/ZMTP 3.0 and 37/ZMTP 3.1, NULL mechanism), not from the code.
#include <doctest/doctest.h>
#include <pirates/binary_star/subscriber_link.hpp>

#include <string>

using namespace pirates;
using namespace pirates::binary_star;

namespace {

std::string bytes(std::initializer_list<int> list) {
    std::string s;
    for (int b : list) s.push_back(static_cast<char>(b));
    return s;
}

// A subscriber's greeting: signature, version, mechanism (20 bytes), as-server, filler (31 bytes).
std::string greeting(int major = 3, int minor = 0, std::string mechanism = "NULL") {
    std::string g = bytes({0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, major, minor});
    mechanism.resize(20, '\0');
    g += mechanism;
    g += std::string(32, '\0');
    return g;
}

// A frame: flags, size (1 byte, or 8 bytes big-endian with the LONG flag 0x02), body.
std::string zframe(int flags, const std::string& body, bool force_long = false) {
    std::string f;
    if (force_long || body.size() > 255) {
        f.push_back(static_cast<char>(flags | 0x02));
        for (int shift = 56; shift >= 0; shift -= 8)
            f.push_back(static_cast<char>((body.size() >> shift) & 0xFF));
    } else {
        f.push_back(static_cast<char>(flags));
        f.push_back(static_cast<char>(body.size()));
    }
    return f + body;
}

std::string command(const std::string& name, const std::string& data = "") {
    return zframe(0x04, std::string(1, static_cast<char>(name.size())) + name + data);
}

std::string property(const std::string& name, const std::string& value) {
    return std::string(1, static_cast<char>(name.size())) + name +
           bytes({0, 0, 0, static_cast<int>(value.size())}) + value;
}

std::string ready(const std::string& type) {
    return command("READY", property("Socket-Type", type));
}

// ZMTP 3.0 subscription messages: one frame, 0x01 (subscribe) or 0x00 (cancel), then the prefix.
std::string subscribe30(const std::string& prefix) {
    return zframe(0, "\x01" + prefix);
}
std::string cancel30(const std::string& prefix) {
    return zframe(0, std::string(1, '\0') + prefix);
}

struct Peer {
    SubscriberLink link;
    SubscriberCounts counts;
    std::string reply;
    // Feed, expecting the connection to stay open.
    void feed(const std::string& b) {
        auto e = link.on_bytes(b, reply, counts);
        REQUIRE_MESSAGE(!e, (e ? e->reason : ""));
    }
    // Feed, expecting the connection to be refused; returns the reason.
    std::string refused(const std::string& b) {
        auto e = link.on_bytes(b, reply, counts);
        REQUIRE(e.has_value());
        return e->reason;
    }
};

}  // namespace

TEST_CASE("SubscriberLink: our greeting and READY, byte for byte") {
    const std::string expect = bytes({0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F,  // signature (libzmq's padding)
                                      3, 1}) +                             // version 3.1
                               std::string("NULL") +
                               std::string(16, '\0') +                         // mechanism
                               std::string(1, '\0') + std::string(31, '\0') +  // as-server 0, filler
                               bytes({0x04, 25, 5}) + "READY" + bytes({11}) + "Socket-Type" +
                               bytes({0, 0, 0, 3}) + "PUB";
    CHECK(SubscriberLink::hello() == expect);
    CHECK(encode_message("3") == bytes({0x00, 0x01}) + "3");
    const std::string big(300, 'x');
    CHECK(encode_message(big) == bytes({0x02, 0, 0, 0, 0, 0, 0, 0x01, 0x2C}) + big);
}

TEST_CASE("SubscriberLink: a ZMTP 3.0 SUB subscribing to everything is applied, nothing else is kept") {
    Peer p;
    p.feed(greeting(3, 0));
    CHECK_FALSE(p.link.ready());
    p.feed(ready("SUB"));
    CHECK(p.link.ready());
    CHECK_FALSE(p.link.wants_all());
    p.feed(subscribe30("abcdefghijklmnop"));  // a prefix: dropped and counted
    CHECK_FALSE(p.link.wants_all());
    CHECK(p.counts.subscriptions_dropped == 1);
    p.feed(subscribe30(""));
    CHECK(p.link.wants_all());
    CHECK(p.counts.subscribed_all == 1);
    p.feed(cancel30("abcdefghijklmnop"));  // cancelling a prefix: dropped and counted too
    CHECK(p.counts.subscriptions_dropped == 2);
    CHECK(p.link.wants_all());
    p.feed(cancel30(""));  // the subscription to everything is cancelled
    CHECK_FALSE(p.link.wants_all());
    CHECK(p.reply.empty());
    CHECK(p.link.buffered() == 0);
}

TEST_CASE("SubscriberLink: ZMTP 3.1 SUBSCRIBE and CANCEL commands, PING answered with PONG and its context") {
    Peer p;
    p.feed(greeting(3, 1) + ready("XSUB"));
    p.feed(command("SUBSCRIBE", "topic"));
    CHECK(p.counts.subscriptions_dropped == 1);
    CHECK_FALSE(p.link.wants_all());
    p.feed(command("SUBSCRIBE"));
    CHECK(p.link.wants_all());
    p.feed(command("CANCEL", "topic"));
    CHECK(p.counts.subscriptions_dropped == 2);
    p.feed(command("PING", bytes({0x00, 0x0A}) + "ctx"));  // TTL 1 s (tenths), context "ctx"
    CHECK(p.reply == command("PONG", "ctx"));
    CHECK(p.counts.pings == 1);
    p.reply.clear();
    p.feed(command("PING", bytes({0x00, 0x00})));  // no context
    CHECK(p.reply == command("PONG"));
    p.feed(command("CANCEL"));
    CHECK_FALSE(p.link.wants_all());
    // Many PINGs in one batch: one PONG, to the last (any answer tells the peer we are alive).
    std::string reply;
    REQUIRE_FALSE(p.link.on_bytes(command("PING", bytes({0, 1}) + "a") + command("PING", bytes({0, 1}) + "b"),
                                  reply, p.counts));
    CHECK(reply == command("PONG", "b"));
}

TEST_CASE("SubscriberLink: the same bytes fed one at a time give the same result") {
    const std::string all = greeting(3, 0) + ready("SUB") + subscribe30("x") + subscribe30("") +
                            command("PING", bytes({0, 1}) + "c") + subscribe30(std::string(200, 'y'));
    Peer p;
    for (char c : all) p.feed(std::string(1, c));
    CHECK(p.link.wants_all());
    CHECK(p.counts.subscriptions_dropped == 2);
    CHECK(p.counts.subscribed_all == 1);
    CHECK(p.reply == command("PONG", "c"));
    CHECK(p.link.buffered() == 0);
}

TEST_CASE("SubscriberLink: other messages are dropped and counted (multi-frame messages once)") {
    Peer p;
    p.feed(greeting() + ready("SUB"));
    p.feed(zframe(0, ""));                             // empty message
    p.feed(zframe(0, "\x02hello"));                    // not a subscription
    p.feed(zframe(0x01, "\x01") + zframe(0, "more"));  // a subscription cannot have two frames
    p.feed(command("HELLO"));                          // a command we do not know
    CHECK(p.counts.messages_dropped == 4);
    CHECK_FALSE(p.link.wants_all());
    p.feed(subscribe30(""));  // and the connection still works
    CHECK(p.link.wants_all());
}

TEST_CASE("SubscriberLink: a frame over 256 bytes closes the connection, before its body is read") {
    {
        Peer p;
        p.feed(greeting() + ready("SUB"));
        p.feed(subscribe30(std::string(255, 'a')));  // 256 bytes: the limit, accepted
        CHECK(p.counts.subscriptions_dropped == 1);
        CHECK(p.refused(subscribe30(std::string(256, 'a'))).find("257 bytes") != std::string::npos);
        CHECK(p.link.buffered() == 0);
        CHECK(p.link.on_bytes(subscribe30(""), p.reply, p.counts).has_value());  // dead: takes nothing more
    }
    {
        Peer p;
        p.feed(greeting() + ready("SUB"));
        // A header announcing 2^40 bytes: refused on the header alone (nothing is buffered for it).
        CHECK(p.refused(bytes({0x02, 0, 0, 0x01, 0, 0, 0, 0, 0})).find("bytes (limit 256)") !=
              std::string::npos);
    }
    {
        Peer p;  // a long frame under the limit is legal
        p.feed(greeting() + ready("SUB") + zframe(0, "\x01", true));
        CHECK(p.link.wants_all());
    }
    {
        Peer p;  // during the handshake too
        p.feed(greeting());
        p.refused(zframe(0x04, std::string(300, 'r')));
    }
}

TEST_CASE("SubscriberLink: bounded memory while a subscriber streams subscriptions in odd pieces") {
    Peer p;
    p.feed(greeting() + ready("SUB"));
    std::string stream;
    for (int i = 0; i < 2000; ++i) stream += subscribe30("prefix-" + std::to_string(i));
    std::size_t most = 0;
    for (std::size_t at = 0; at < stream.size(); at += 97) {
        p.feed(stream.substr(at, 97));
        most = std::max(most, p.link.buffered());
    }
    CHECK(p.counts.subscriptions_dropped == 2000);
    CHECK(most <= SubscriberLink::kMaxFrameBytes + 9);
    CHECK(p.link.buffered() == 0);
}

TEST_CASE("SubscriberLink: bad greetings and handshakes are refused") {
    CHECK(Peer{}.refused("GET / HTTP/1.1\r\n").find("not a ZMTP greeting") != std::string::npos);
    {
        // ZMTP 1.0: the signature's last byte without bit 0 (an identity length, then its flags).
        Peer p;
        CHECK(p.refused(bytes({0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x00})).find("ZMTP 1.0") != std::string::npos);
    }
    {
        // ZMTP 2.0 (revision 1): refused as soon as the version byte is in, without waiting for 64 bytes.
        Peer p;
        p.feed(bytes({0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F}));
        CHECK(p.refused(bytes({0x01})).find("3.0 or later") != std::string::npos);
    }
    CHECK(Peer{}.refused(greeting(3, 0, "PLAIN")).find("NULL") != std::string::npos);
    CHECK(Peer{}.refused(greeting(3, 0, "CURVE")).find("NULL") != std::string::npos);
    {
        Peer p;
        p.feed(greeting());
        CHECK(p.refused(ready("DEALER")).find("DEALER cannot subscribe") != std::string::npos);
    }
    {
        Peer p;
        p.feed(greeting());
        CHECK(p.refused(command("READY", property("Identity", "x"))).find("Socket-Type") !=
              std::string::npos);
    }
    {
        Peer p;  // property names are case-insensitive
        p.feed(greeting() + command("READY", property("socket-type", "SUB")));
        CHECK(p.link.ready());
    }
    {
        Peer p;  // a value longer than the command
        p.feed(greeting());
        CHECK(p.refused(command("READY", std::string("\x0bSocket-Type\x00\x00\x00\x09SUB", 19)))
                  .find("malformed") != std::string::npos);
    }
    {
        Peer p;
        p.feed(greeting());
        CHECK(p.refused(subscribe30("")).find("before READY") != std::string::npos);
    }
    {
        Peer p;
        p.feed(greeting());
        CHECK(p.refused(command("SUBSCRIBE")).find("before READY") != std::string::npos);
    }
    {
        Peer p;
        p.feed(greeting() + ready("SUB"));
        CHECK(p.refused(ready("SUB")).find("READY twice") != std::string::npos);
    }
    {
        Peer p;
        p.feed(greeting() + ready("SUB"));
        CHECK(p.refused(command("ERROR",
                                "\x03"
                                "bye"))
                  .find("ERROR") != std::string::npos);
    }
    {
        Peer p;  // reserved flag bits
        p.feed(greeting() + ready("SUB"));
        CHECK(p.refused(bytes({0x08, 0x01, 0x01})).find("flags") != std::string::npos);
    }
    {
        Peer p;  // a command cannot have MORE
        p.feed(greeting() + ready("SUB"));
        CHECK(p.refused(zframe(0x05, "\x04PING\x00\x00")).find("MORE") != std::string::npos);
    }
}
