#pragma once
// CURVE (ZMTP RFC 26) for every socket, configured in one value. A Security is empty (plaintext, as the Guide's
// programs speak), a server (its own secret certificate; clients are checked by a ZapHandler) or a client (its
// own certificate and the server's public key). make_socket() applies it (SocketOptions::security).
//
// Certificates are the text files czmq's zcert and pyzmq's zmq.auth write: a `curve` section holding
// `public-key = "<Z85>"` and, in the secret file, `secret-key = "<Z85>"`; lines starting with # are comments.
#include <pirates/common/result.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace pirates {

// A CURVE key pair as 40-character Z85 text. secret_key is empty for a public certificate.
struct Certificate {
    std::string public_key;
    std::string secret_key;
    bool has_secret() const { return !secret_key.empty(); }
};

// Parses certificate text (see above). Checks each key is valid Z85 of 32 bytes, and that a secret key matches
// the public key it comes with.
Result<Certificate> parse_certificate(std::string_view text);
// Reads and parses a certificate file; the error names the file.
Result<Certificate> load_certificate(const std::filesystem::path& file);
// Reads a certificate file that must hold a secret key.
Result<Certificate> load_secret_certificate(const std::filesystem::path& file);

// A fresh key pair (zmq_curve_keypair).
Certificate generate_certificate();
// The text of a certificate in pyzmq's layout: the public file when `with_secret` is false.
std::string format_certificate(const Certificate& cert, bool with_secret);
// Writes <dir>/<name>.key (0644) and <dir>/<name>.key_secret (0600). Refuses to overwrite either file.
Result<std::filesystem::path> write_certificate_pair(const Certificate& cert,
                                                     const std::filesystem::path& dir,
                                                     const std::string& name);

// The ZAP domain pirates server sockets announce.
inline constexpr const char* zap_domain = "pirates";
// The ZAP domain of Binary Star's state publisher under CURVE: only the peer's key is admitted there.
inline constexpr const char* zap_peer_domain = "pirates-peer";

struct Security {
    enum class Mode { plaintext, server, client };
    Mode mode = Mode::plaintext;
    Certificate own;                  // server and client: this side's pair
    std::string server_key;           // client: the server's public key (Z85)
    std::string domain = zap_domain;  // server: the ZAP domain its handshakes are judged in

    bool enabled() const { return mode != Mode::plaintext; }
    static Security server(Certificate own);
    static Security client(Certificate own, std::string server_public_key);
};

// Sets the CURVE options of `security` on a socket not yet bound or connected (make_socket calls it).
void apply_security(zmq::socket_t& socket, const Security& security);

// Who a ZapHandler admits.
struct ZapPolicy {
    std::filesystem::path clients_dir;  // public certificates of admitted clients and workers
    bool allow_any = false;             // admit every CURVE client (encryption without authentication)
    // Domains with keys of their own: a handshake in one of them is admitted only if its key is listed here
    // (whatever clients_dir and allow_any say), e.g. zap_peer_domain -> {the Binary Star peer's key}.
    std::map<std::string, std::set<std::string>> fixed_domains = {};
};

// The ZAP handler (RFC 27) of one context: a thread answering inproc://zeromq.zap.01. It admits a CURVE peer
// whose public key is in a certificate of `clients_dir` (or every peer with allow_any) and denies the rest,
// logging each denied key once with the peer's address. The folder is re-read when its modification time
// changes (a certificate added, removed or renamed into it) and on reload(). Construct it before binding the
// server sockets of the context; destroy it before the context.
class ZapHandler {
  public:
    ZapHandler(zmq::context_t& context, ZapPolicy policy);
    ~ZapHandler();
    ZapHandler(const ZapHandler&) = delete;
    ZapHandler& operator=(const ZapHandler&) = delete;

    // Re-read the folder before the next decision (e.g. on SIGHUP). Safe from any thread.
    void reload();
    // Handshakes refused so far.
    std::uint64_t auth_denied() const;
    // Handshakes admitted so far.
    std::uint64_t auth_allowed() const;
    // Keys currently admitted (after the last read of the folder).
    std::size_t known_keys() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pirates
