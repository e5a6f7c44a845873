// CURVE: certificates (pyzmq's format), the Security value through make_socket, the ZAP handler, the flags.
#include <doctest/doctest.h>
#include <pirates/common/curve_flags.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/socket.hpp>

#include "support/http.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>

using namespace pirates;
using namespace pirates::test;
namespace fs = std::filesystem;

namespace {

fs::path certs() {
    return PIRATES_CERTS_DIR;
}

Certificate cert(const std::string& file) {
    auto c = load_certificate(certs() / file);
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().reason));
    return c.value();
}

// A fresh, empty folder under the build's temp area, removed at the end.
struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / fmt::format("pirates-sec-{}-{}", ::getpid(), counter()++);
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

// A CURVE ROUTER echo server on tcp://127.0.0.1:*, driven by the test: serve() answers what has arrived.
struct EchoServer {
    zmq::socket_t socket;
    std::string endpoint;
    EchoServer(zmq::context_t& ctx, const Security& security) {
        SocketOptions o;
        o.security = security;
        socket = make_socket(ctx, zmq::socket_type::router, o);
        endpoint = bind_loopback(socket);
    }
    // Answer every request waiting, for up to `window`.
    void serve(Duration window = Duration{30}) {
        Frames m;
        while (recv_within(socket, m, window)) (void)zmq::send_multipart(socket, m);
    }
};

// A DEALER asking `body` and waiting up to `timeout` for the echo, serving the server meanwhile.
bool round_trip(zmq::context_t& ctx, EchoServer& server, const Security& security, const std::string& body,
                Duration timeout = Duration{1500}) {
    SocketOptions o;
    o.security = security;
    auto client = make_socket(ctx, zmq::socket_type::dealer, o);
    client.connect(server.endpoint);
    (void)client.send(zmq::buffer(body), zmq::send_flags::dontwait);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        server.serve(Duration{10});
        Frames reply;
        if (recv_within(client, reply, Duration{10})) return strings(reply) == std::vector<std::string>{body};
    }
    return false;
}

}  // namespace

TEST_CASE("certificates written by pyzmq's zmq.auth.create_certificates load as they are") {
    auto pub = cert("client.key");
    auto sec = cert("client.key_secret");
    CHECK_FALSE(pub.has_secret());
    CHECK(sec.has_secret());
    CHECK(pub.public_key == sec.public_key);
    CHECK(pub.public_key.size() == 40);
    CHECK(load_secret_certificate(certs() / "client.key_secret").ok());
    auto no_secret = load_secret_certificate(certs() / "client.key");
    REQUIRE_FALSE(no_secret.ok());
    CHECK(no_secret.error().reason.find("no secret-key") != std::string::npos);
}

TEST_CASE("certificate parsing: czmq's layout, comments, and bad keys refused") {
    auto good = cert("server.key_secret");
    // czmq zcert: metadata entries, tabs, comments; a key containing '#' is not cut as a comment.
    std::string czmq =
        "#   ZeroMQ CURVE **Secret** Certificate\n\nmetadata\n    name = \"srv\"\ncurve\n\tpublic-key = \"" +
        good.public_key + "\"\n\tsecret-key = \"" + good.secret_key + "\"\n";
    auto parsed = parse_certificate(czmq);
    REQUIRE(parsed.ok());
    CHECK(parsed->public_key == good.public_key);
    CHECK(parsed->secret_key == good.secret_key);

    CHECK_FALSE(parse_certificate("curve\n").ok());
    CHECK_FALSE(parse_certificate("curve\n    public-key = \"tooshort\"\n").ok());
    // A key in another section is not a CURVE key.
    CHECK_FALSE(parse_certificate("metadata\n    public-key = \"" + good.public_key + "\"\n").ok());
    // A secret key that does not belong to the public key.
    auto other = cert("client.key_secret");
    auto mixed = parse_certificate("curve\n    public-key = \"" + good.public_key +
                                   "\"\n    secret-key = \"" + other.secret_key + "\"\n");
    REQUIRE_FALSE(mixed.ok());
    CHECK(mixed.error().reason.find("does not match") != std::string::npos);
    CHECK_FALSE(load_certificate(certs() / "missing.key").ok());
}

TEST_CASE("generated pairs round-trip through the file format, the secret file is 0600, no overwrite") {
    TempDir dir;
    auto pair = generate_certificate();
    auto written = write_certificate_pair(pair, dir.path, "alice");
    REQUIRE(written.ok());
    auto pub = load_certificate(dir.path / "alice.key");
    auto sec = load_secret_certificate(dir.path / "alice.key_secret");
    REQUIRE(pub.ok());
    REQUIRE(sec.ok());
    CHECK(pub->public_key == pair.public_key);
    CHECK(sec->secret_key == pair.secret_key);
    struct stat st {};
    REQUIRE(::stat((dir.path / "alice.key_secret").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK_FALSE(write_certificate_pair(generate_certificate(), dir.path, "alice").ok());
    CHECK(load_secret_certificate(dir.path / "alice.key_secret")->secret_key == pair.secret_key);
}

TEST_CASE("pirates-keygen writes a pair the library (and pyzmq's layout) reads") {
    TempDir dir;
    Process keygen("pirates-keygen", {"bob", "--dir", dir.path.string()});
    CHECK(keygen.wait_exit() == 0);
    auto sec = load_secret_certificate(dir.path / "bob.key_secret");
    REQUIRE(sec.ok());
    CHECK(load_certificate(dir.path / "bob.key")->public_key == sec->public_key);
    Process again("pirates-keygen", {"bob", "--dir", dir.path.string()});
    CHECK(again.wait_exit() == 1);  // never overwrites a key
    Process unnamed("pirates-keygen", {"--dir", dir.path.string()});
    CHECK(unnamed.wait_exit() == 2);
}

TEST_CASE("ZAP: an admitted key is served, unknown key, plaintext and wrong server key get nothing") {
    zmq::context_t ctx;
    TempDir clients;
    fs::copy_file(certs() / "client.key", clients.path / "client.key");
    ZapHandler zap(ctx, ZapPolicy{clients.path, false});
    CHECK(zap.known_keys() == 1);
    auto server_cert = cert("server.key_secret");
    EchoServer server(ctx, Security::server(server_cert));

    auto admitted = Security::client(cert("client.key_secret"), server_cert.public_key);
    CHECK(round_trip(ctx, server, admitted, "hello"));
    CHECK(zap.auth_denied() == 0);

    auto stranger = Security::client(cert("stranger.key_secret"), server_cert.public_key);
    CHECK_FALSE(round_trip(ctx, server, stranger, "let me in", Duration{300}));
    CHECK(eventually([&] { return zap.auth_denied() >= 1; }));

    CHECK_FALSE(round_trip(ctx, server, Security{}, "plaintext", Duration{300}));

    auto wrong_server = Security::client(cert("client.key_secret"), cert("stranger.key").public_key);
    CHECK_FALSE(round_trip(ctx, server, wrong_server, "wrong server", Duration{300}));

    // ... and the server still serves the admitted client.
    CHECK(round_trip(ctx, server, admitted, "still here"));
}

TEST_CASE("ZAP: a key removed from the folder is refused from then on, an added one is admitted") {
    zmq::context_t ctx;
    TempDir clients;
    fs::copy_file(certs() / "client.key", clients.path / "client.key");
    ZapHandler zap(ctx, ZapPolicy{clients.path, false});
    auto server_cert = cert("server.key_secret");
    EchoServer server(ctx, Security::server(server_cert));
    auto client = Security::client(cert("client.key_secret"), server_cert.public_key);
    auto worker = Security::client(cert("worker.key_secret"), server_cert.public_key);

    CHECK(round_trip(ctx, server, client, "one"));
    CHECK_FALSE(round_trip(ctx, server, worker, "two", Duration{300}));

    fs::remove(clients.path / "client.key");
    fs::copy_file(certs() / "worker.key", clients.path / "worker.key");
    zap.reload();  // the folder's mtime may not have moved within its clock's resolution
    CHECK_FALSE(round_trip(ctx, server, client, "three", Duration{300}));
    CHECK(round_trip(ctx, server, worker, "four"));
    CHECK(zap.known_keys() == 1);
}

TEST_CASE("ZAP: --curve-allow-any admits any key, still encrypted") {
    zmq::context_t ctx;
    ZapHandler zap(ctx, ZapPolicy{{}, true});
    auto server_cert = cert("server.key_secret");
    EchoServer server(ctx, Security::server(server_cert));
    CHECK(
        round_trip(ctx, server, Security::client(cert("stranger.key_secret"), server_cert.public_key), "x"));
    CHECK_FALSE(round_trip(ctx, server, Security{}, "plaintext", Duration{300}));
    CHECK(zap.auth_denied() == 0);
}

TEST_CASE("ZAP: a domain with fixed keys admits only those, whatever the folder or allow-any say") {
    zmq::context_t ctx;
    ZapPolicy policy{{}, true};
    policy.fixed_domains[zap_peer_domain] = {cert("peer.key").public_key};
    ZapHandler zap(ctx, policy);
    auto server_cert = cert("server.key_secret");
    auto peer_only = Security::server(server_cert);
    peer_only.domain = zap_peer_domain;
    EchoServer server(ctx, peer_only);
    CHECK(round_trip(ctx, server, Security::client(cert("peer.key_secret"), server_cert.public_key), "peer"));
    CHECK_FALSE(round_trip(ctx, server, Security::client(cert("stranger.key_secret"), server_cert.public_key),
                           "stranger", Duration{300}));
    CHECK(eventually([&] { return zap.auth_denied() == 1; }));
    // The ordinary domain still follows the policy (allow-any here).
    EchoServer open(ctx, Security::server(server_cert));
    CHECK(round_trip(ctx, open, Security::client(cert("stranger.key_secret"), server_cert.public_key), "x"));
}

TEST_CASE("ZapHooks: the exporter serves <program>_auth_denied_total, 0 without CURVE") {
    zmq::context_t ctx;
    TempDir clients;
    fs::copy_file(certs() / "client.key", clients.path / "client.key");
    ZapHandler zap(ctx, ZapPolicy{clients.path, false});
    auto server_cert = cert("server.key_secret");
    EchoServer server(ctx, Security::server(server_cert));
    metrics::Exporter exporter("127.0.0.1:0");
    exporter.publish("driver_up 1\n");
    ZapHooks hooks(&zap, &exporter, "demo");
    CHECK(has_line(http_get(exporter.port()), "demo_auth_denied_total 0"));
    CHECK_FALSE(round_trip(ctx, server, Security::client(cert("stranger.key_secret"), server_cert.public_key),
                           "x", Duration{300}));
    CHECK(eventually([&] { return zap.auth_denied() >= 1; }));
    const std::string text = http_get(exporter.port());
    CHECK(has_line(text, "driver_up 1"));
    CHECK(has_line(text, fmt::format("demo_auth_denied_total {}", zap.auth_denied())));
    CHECK(has_line(text, "# TYPE demo_auth_denied_total counter"));

    metrics::Exporter plain("127.0.0.1:0");
    ZapHooks no_zap(nullptr, &plain, "plain");
    CHECK(has_line(http_get(plain.port()), "plain_auth_denied_total 0"));
}

TEST_CASE("curve flags: plaintext by default, usage errors, certificates loaded") {
    CurveFlags none;
    CHECK(server_security(none).ok());
    CHECK_FALSE(server_security(none)->enabled());
    CHECK_FALSE(client_security(none)->enabled());
    CHECK_FALSE(zap_policy(none).has_value());

    CurveFlags secret_only;
    secret_only.secret = (certs() / "server.key_secret").string();
    auto e = server_security(secret_only);
    REQUIRE_FALSE(e.ok());
    CHECK(e.error().reason.find("--curve-clients") != std::string::npos);

    CurveFlags server = secret_only;
    server.clients = certs().string();
    REQUIRE(server_security(server).ok());
    CHECK(server_security(server)->mode == Security::Mode::server);
    CHECK(zap_policy(server)->clients_dir == certs());

    CurveFlags both = server;
    both.allow_any = true;
    CHECK_FALSE(server_security(both).ok());

    CurveFlags public_only = server;
    public_only.secret = (certs() / "server.key").string();
    CHECK_FALSE(server_security(public_only).ok());

    CurveFlags client;
    client.secret = (certs() / "client.key_secret").string();
    CHECK_FALSE(client_security(client).ok());  // --curve-server missing
    client.server = (certs() / "server.key").string();
    REQUIRE(client_security(client).ok());
    CHECK(client_security(client)->server_key == cert("server.key").public_key);

    CommandLine cli("prog", "test");
    CurveFlags parsed;
    curve_server_flags(cli, parsed);
    const char* argv[] = {"prog", "--curve-secret", "s.key_secret", "--curve-allow-any"};
    CHECK_FALSE(cli.try_parse(4, argv).has_value());
    CHECK(parsed.secret == "s.key_secret");
    CHECK(parsed.allow_any);
}
