#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/security.hpp>

#include <fmt/format.h>
#include <zmq.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace pirates {

namespace {

constexpr std::size_t z85_key_chars = 40;

bool valid_z85_key(const std::string& key) {
    if (key.size() != z85_key_chars) return false;
    std::array<std::uint8_t, 32> raw{};
    return zmq_z85_decode(raw.data(), key.c_str()) != nullptr;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::string z85_of(const std::uint8_t* raw) {
    std::array<char, z85_key_chars + 1> text{};
    zmq_z85_encode(text.data(), raw, 32);
    return std::string(text.data(), z85_key_chars);
}

}  // namespace

Result<Certificate> parse_certificate(std::string_view text) {
    Certificate cert;
    std::string section;
    std::istringstream in{std::string(text)};
    std::string raw_line;
    while (std::getline(in, raw_line)) {
        std::string_view line = raw_line;
        bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;  // Z85 uses '#', so only whole-line comments
        auto eq = line.find('=');
        if (!indented) {  // a section name (ZPL: top level, no value)
            section = std::string(trim(line.substr(0, eq)));
            continue;
        }
        if (section != "curve" || eq == std::string_view::npos) continue;
        auto name = trim(line.substr(0, eq));
        auto value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
            value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        if (name == "public-key")
            cert.public_key = std::string(value);
        else if (name == "secret-key")
            cert.secret_key = std::string(value);
    }
    if (cert.public_key.empty()) return error("no public-key in a curve section");
    if (!valid_z85_key(cert.public_key)) return error("public-key is not a Z85 CURVE key (40 characters)");
    if (cert.has_secret()) {
        if (!valid_z85_key(cert.secret_key))
            return error("secret-key is not a Z85 CURVE key (40 characters)");
        std::array<char, z85_key_chars + 1> derived{};
        if (zmq_curve_public(derived.data(), cert.secret_key.c_str()) != 0 ||
            std::string(derived.data()) != cert.public_key)
            return error("secret-key does not match public-key");
    }
    return cert;
}

Result<Certificate> load_certificate(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return error(fmt::format("cannot read certificate {}: {}", file.string(), std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    auto cert = parse_certificate(text.str());
    if (!cert) return error(fmt::format("certificate {}: {}", file.string(), cert.error().reason));
    return cert;
}

Result<Certificate> load_secret_certificate(const std::filesystem::path& file) {
    auto cert = load_certificate(file);
    if (cert && !cert->has_secret())
        return error(
            fmt::format("certificate {} holds no secret-key (give the .key_secret file)", file.string()));
    return cert;
}

Certificate generate_certificate() {
    std::array<char, z85_key_chars + 1> pub{}, sec{};
    if (zmq_curve_keypair(pub.data(), sec.data()) != 0)
        throw std::runtime_error("zmq_curve_keypair failed: libzmq built without CURVE");
    return Certificate{pub.data(), sec.data()};
}

std::string format_certificate(const Certificate& cert, bool with_secret) {
    std::time_t now = std::time(nullptr);
    std::array<char, 32> stamp{};
    std::strftime(stamp.data(), stamp.size(), "%Y-%m-%d %H:%M:%S", std::gmtime(&now));
    std::string t = fmt::format("#   ****  Generated on {} by pirates-keygen  ****\n", stamp.data());
    if (with_secret)
        t += "#   ZeroMQ CURVE **Secret** Certificate\n"
             "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\n";
    else
        t += "#   ZeroMQ CURVE Public Certificate\n"
             "#   Exchange securely, or use a secure mechanism to verify the contents\n"
             "#   of this file after exchange. Store public certificates in your home\n"
             "#   directory, in the .curve subdirectory.\n\n";
    t += "metadata\ncurve\n";
    t += fmt::format("    public-key = \"{}\"\n", cert.public_key);
    if (with_secret) t += fmt::format("    secret-key = \"{}\"\n", cert.secret_key);
    return t;
}

Result<std::filesystem::path> write_certificate_pair(const Certificate& cert,
                                                     const std::filesystem::path& dir,
                                                     const std::string& name) {
    auto write = [](const std::filesystem::path& file, const std::string& text, mode_t mode) -> std::string {
        int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0) return fmt::format("cannot create {}: {}", file.string(), std::strerror(errno));
        ::fchmod(fd, mode);  // exactly `mode`, whatever the umask
        std::size_t done = 0;
        while (done < text.size()) {
            ssize_t n = ::write(fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                std::string why = std::strerror(errno);
                ::close(fd);
                return fmt::format("cannot write {}: {}", file.string(), why);
            }
            done += static_cast<std::size_t>(n);
        }
        if (::close(fd) != 0) return fmt::format("cannot write {}: {}", file.string(), std::strerror(errno));
        return {};
    };
    auto pub = dir / (name + ".key");
    auto sec = dir / (name + ".key_secret");
    if (std::filesystem::exists(pub) || std::filesystem::exists(sec))
        return error(fmt::format("{} or {} exists already; not overwritten", pub.string(), sec.string()));
    if (auto e = write(sec, format_certificate(cert, true), 0600); !e.empty()) return error(e);
    if (auto e = write(pub, format_certificate(cert, false), 0644); !e.empty()) return error(e);
    return sec;
}

Security Security::server(Certificate own) {
    Security s;
    s.mode = Mode::server;
    s.own = std::move(own);
    return s;
}

Security Security::client(Certificate own, std::string server_public_key) {
    Security s;
    s.mode = Mode::client;
    s.own = std::move(own);
    s.server_key = std::move(server_public_key);
    return s;
}

void apply_security(zmq::socket_t& socket, const Security& security) {
    switch (security.mode) {
        case Security::Mode::plaintext:
            return;
        case Security::Mode::server:
            socket.set(zmq::sockopt::curve_server, 1);
            socket.set(zmq::sockopt::curve_secretkey, security.own.secret_key);
            socket.set(zmq::sockopt::zap_domain, security.domain);
            return;
        case Security::Mode::client:
            socket.set(zmq::sockopt::curve_serverkey, security.server_key);
            socket.set(zmq::sockopt::curve_publickey, security.own.public_key);
            socket.set(zmq::sockopt::curve_secretkey, security.own.secret_key);
            return;
    }
}

// ---- ZapHandler

struct ZapHandler::Impl {
    ZapPolicy policy;
    zmq::socket_t socket;
    std::thread thread;
    Reactor reactor;  // the ZAP thread's loop; the destructor stops it (request_stop is thread-safe)
    std::atomic<bool> reload_asked{true};
    std::atomic<std::uint64_t> denied{0};
    std::atomic<std::uint64_t> allowed{0};
    std::atomic<std::size_t> key_count{0};
    // Thread-owned:
    std::set<std::string> keys;    // admitted public keys (Z85)
    std::set<std::string> logged;  // denied keys already logged
    struct timespec dir_mtime {};
    bool dir_seen = false;

    Impl(zmq::context_t& context, ZapPolicy p)
        : policy(std::move(p)), socket(context, zmq::socket_type::rep) {
        socket.set(zmq::sockopt::linger, 0);
        socket.bind("inproc://zeromq.zap.01");
    }

    void read_folder() {
        keys.clear();
        std::error_code ec;
        std::filesystem::directory_iterator it(policy.clients_dir, ec);
        if (ec) {
            log::error("ZAP: cannot read client key folder {}: {}", policy.clients_dir.string(),
                       ec.message());
            return;
        }
        for (const auto& entry : it) {
            if (!entry.is_regular_file(ec)) continue;
            auto cert = load_certificate(entry.path());
            if (!cert) {
                log::warn("ZAP: skipped {}", cert.error().reason);
                continue;
            }
            keys.insert(cert->public_key);
        }
        key_count = keys.size();
        log::info("ZAP: {} client key(s) admitted from {}", keys.size(), policy.clients_dir.string());
    }

    void refresh() {
        if (policy.allow_any) return;
        struct stat st {};
        bool seen = ::stat(policy.clients_dir.c_str(), &st) == 0;
        bool changed =
            seen != dir_seen ||
            (seen && (st.st_mtim.tv_sec != dir_mtime.tv_sec || st.st_mtim.tv_nsec != dir_mtime.tv_nsec));
        if (changed || reload_asked.exchange(false)) {
            dir_seen = seen;
            if (seen) dir_mtime = st.st_mtim;
            read_folder();
        }
    }

    // One request (RFC 27): version, request id, domain, address, identity, mechanism, credentials...
    void answer(std::vector<zmq::message_t>& request) {
        auto text = [&](std::size_t i) {
            return i < request.size() ? request[i].to_string() : std::string();
        };
        std::string status = "400", reason = "malformed ZAP request";
        std::string key_text;
        if (request.size() >= 6 && text(0) == "1.0") {
            std::string mechanism = text(5);
            if (mechanism == "CURVE" && request.size() >= 7 && request[6].size() == 32) {
                key_text = z85_of(request[6].data<std::uint8_t>());
                const auto fixed = policy.fixed_domains.find(text(2));
                bool admitted = false;
                if (fixed != policy.fixed_domains.end()) {
                    admitted = fixed->second.count(key_text) != 0;
                } else {
                    refresh();
                    admitted = policy.allow_any || keys.count(key_text) != 0;
                }
                if (admitted) {
                    status = "200";
                    reason = "OK";
                } else {
                    reason = "client key not admitted";
                }
            } else {
                reason = "CURVE required";
            }
        }
        if (status == "200") {
            ++allowed;
        } else {
            ++denied;
            std::string who = key_text.empty() ? "(" + text(5) + ")" : key_text;
            if (logged.size() >= 4096) logged.clear();  // bounded: many distinct keys are logged again
            if (logged.insert(who).second)
                log::warn("ZAP: denied {} from {}: {}", who, text(3).empty() ? "?" : text(3), reason);
        }
        std::array<std::string, 6> reply{"1.0", text(1), status, reason, status == "200" ? key_text : "", ""};
        for (std::size_t i = 0; i < reply.size(); ++i) {
            auto flags = i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            (void)socket.send(zmq::buffer(reply[i]), flags);
        }
    }

    void run() {
        reactor.add(socket, [this] {
            std::vector<zmq::message_t> request;
            do {
                zmq::message_t part;
                if (!socket.recv(part, zmq::recv_flags::dontwait)) break;
                request.push_back(std::move(part));
            } while (socket.get(zmq::sockopt::rcvmore));
            if (request.empty()) return false;
            answer(request);
            return true;
        });
        while (!reactor.stopped()) {
            try {
                reactor.run();
            } catch (const zmq::error_t& e) {
                if (e.num() == ETERM) return;
                log::warn("ZAP: {}", e.what());  // the handler goes on: every handshake waits for it
            }
        }
    }
};

ZapHandler::ZapHandler(zmq::context_t& context, ZapPolicy policy)
    : impl_(std::make_unique<Impl>(context, std::move(policy))) {
    if (impl_->policy.allow_any)
        log::warn(
            "CURVE without client authentication (--curve-allow-any): any peer with any key is admitted");
    else
        impl_->refresh();  // read the folder now: a bad folder shows at start
    impl_->thread = std::thread([this] { impl_->run(); });
}

ZapHandler::~ZapHandler() {
    impl_->reactor.request_stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

void ZapHandler::reload() {
    impl_->reload_asked = true;
}
std::uint64_t ZapHandler::auth_denied() const {
    return impl_->denied.load();
}
std::uint64_t ZapHandler::auth_allowed() const {
    return impl_->allowed.load();
}
std::size_t ZapHandler::known_keys() const {
    return impl_->key_count.load();
}

}  // namespace pirates
