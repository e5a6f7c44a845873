// Binary Star's state channel under CURVE (bstarsrv --curve-peer): the pair settles and fails over as the
// plaintext one does, and a stranger subscribing to a state publisher hears nothing (it cannot complete the
// handshake), while a subscriber holding the peer's key hears the states.
//
// The pair is started without a proxy (nothing can sit inside an encrypted channel): a first backup learns
// its ports, the primary connects to its state-pub, then the backup is restarted on the same endpoints,
// connected to the primary's state-pub.
#include <doctest/doctest.h>
#include <pirates/common/security.hpp>
#include <pirates/common/socket.hpp>

#include "curve_support.hpp"
#include "support/process.hpp"

#include <csignal>
#include <memory>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::curve;

namespace {

// own: "server" or "peer" (the two halves' certificates); peer: the other's public certificate.
std::unique_ptr<Process> start(const char* role, const std::string& frontend, const std::string& pub,
                               const std::string& sub, const KeyFolder& keys, const std::string& own,
                               const std::string& peer) {
    return std::make_unique<Process>(
        "bstarsrv", with({role, "--frontend", frontend, "--state-pub", pub, "--state-sub", sub,
                          "--heartbeat-ms", "50", "--curve-peer", cert(peer + ".key")},
                         server_curve(keys, own + ".key_secret")));
}

Certificate loaded(const std::string& name) {
    auto c = load_certificate(cert(name));
    REQUIRE(c.ok());
    return std::move(c.value());
}

// Whether a SUB with `security` hears a state from `endpoint` within `wait`.
bool hears_state(const std::string& endpoint, const Security& security, Duration wait) {
    zmq::context_t ctx;
    SocketOptions o;
    o.security = security;
    auto sub = make_socket(ctx, zmq::socket_type::sub, o);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::rcvtimeo, static_cast<int>(wait.count()));
    sub.connect(endpoint);
    zmq::message_t m;
    return sub.recv(m).has_value() && m.size() == 1;
}

}  // namespace

TEST_CASE("bstarsrv --curve-peer: the encrypted pair settles and fails over, a stranger hears no state") {
    KeyFolder keys{"client.key"};
    // A first backup, to learn the endpoints it binds; its peer is nowhere yet.
    auto backup = start("--backup", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "tcp://127.0.0.1:1", keys,
                        "peer", "server");
    const std::string backup_front = backup->bound_endpoint("frontend");
    const std::string backup_pub = backup->bound_endpoint("state-pub");
    REQUIRE(!backup_front.empty());
    REQUIRE(!backup_pub.empty());
    auto primary =
        start("--primary", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", backup_pub, keys, "server", "peer");
    const std::string primary_front = primary->bound_endpoint("frontend");
    const std::string primary_pub = primary->bound_endpoint("state-pub");
    REQUIRE(!primary_pub.empty());
    // The primary hears the backup through the encrypted channel.
    REQUIRE(primary->wait_for("state PRIMARY -> ACTIVE on PEER_BACKUP"));
    // The backup again, on the same endpoints, now subscribed to the primary.
    backup->signal(SIGTERM);
    REQUIRE(backup->wait_exit() == 0);
    backup = start("--backup", backup_front, backup_pub, primary_pub, keys, "peer", "server");
    REQUIRE(backup->wait_for("state BACKUP -> PASSIVE on PEER_ACTIVE"));

    // Who may listen: the peer's key hears states; a stranger's key, and plaintext, hear nothing.
    const Certificate server_cert = loaded("server.key");
    CHECK(hears_state(primary_pub, Security::client(loaded("peer.key_secret"), server_cert.public_key),
                      Duration{5000}));
    CHECK_FALSE(hears_state(
        primary_pub, Security::client(loaded("stranger.key_secret"), server_cert.public_key), Duration{500}));
    CHECK_FALSE(hears_state(primary_pub, Security{}, Duration{500}));
    CHECK(primary->wait_for("ZAP: denied"));

    // Clients are served by the active primary, then by the backup once the primary is gone.
    const std::vector<std::string> client{"--servers",    primary_front + "," + backup_front,
                                          "--requests",   "2",
                                          "--timeout-ms", "500",
                                          "--settle-ms",  "100",
                                          "--retries",    "10"};
    CHECK(run("bstarcli", with(client, client_curve("client.key_secret"))) == 0);
    primary->kill9();
    CHECK(run("bstarcli", with(client, client_curve("client.key_secret", "peer.key"))) == 0);
    CHECK(backup->wait_for("state PASSIVE -> ACTIVE on CLIENT_REQUEST"));
}

TEST_CASE("bstarsrv --curve-peer needs --curve-secret and a readable certificate") {
    Process alone("bstarsrv",
                  {"--primary", "--frontend", "tcp://127.0.0.1:*", "--state-pub", "tcp://127.0.0.1:*",
                   "--state-sub", "tcp://127.0.0.1:1", "--curve-peer", cert("peer.key")});
    CHECK(alone.wait_exit() == 2);
    KeyFolder keys{"client.key"};
    Process missing("bstarsrv",
                    with({"--primary", "--frontend", "tcp://127.0.0.1:*", "--state-pub", "tcp://127.0.0.1:*",
                          "--state-sub", "tcp://127.0.0.1:1", "--curve-peer", cert("nobody.key")},
                         server_curve(keys)));
    CHECK(missing.wait_exit() == 2);
}
