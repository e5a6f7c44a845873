#include <pirates/common/curve_flags.hpp>

#include <pirates/common/log.hpp>

#include <fmt/format.h>

namespace pirates {

CommandLine& curve_server_flags(CommandLine& cli, CurveFlags& flags) {
    cli.text("curve-secret", flags.secret,
             "this server's secret certificate (NAME.key_secret): turns CURVE encryption on");
    cli.text("curve-clients", flags.clients,
             "folder of public certificates (*.key) of the clients and workers admitted; re-read when it "
             "changes (a file added, removed or renamed)");
    return cli.flag("curve-allow-any", flags.allow_any,
                    "with --curve-secret and no --curve-clients: encrypt but admit any client key");
}

CommandLine& curve_client_flags(CommandLine& cli, CurveFlags& flags) {
    cli.text("curve-secret", flags.secret,
             "own secret certificate (NAME.key_secret): turns CURVE encryption on, with --curve-server");
    return cli.text("curve-server", flags.server, "the server's public certificate (NAME.key)");
}

Result<Security> server_security(const CurveFlags& flags) {
    if (flags.secret.empty()) {
        if (!flags.clients.empty() || flags.allow_any)
            return error("--curve-clients and --curve-allow-any need --curve-secret");
        return Security{};
    }
    if (flags.clients.empty() && !flags.allow_any)
        return error("--curve-secret needs --curve-clients DIR (admitted client keys) or --curve-allow-any");
    if (!flags.clients.empty() && flags.allow_any)
        return error("--curve-clients and --curve-allow-any exclude each other");
    if (!flags.clients.empty()) {
        std::error_code ec;
        if (!std::filesystem::is_directory(flags.clients, ec))
            return error(fmt::format("--curve-clients {}: not a folder", flags.clients));
    }
    auto own = load_secret_certificate(flags.secret);
    if (!own) return own.error();
    return Security::server(std::move(own.value()));
}

Result<Security> client_security(const CurveFlags& flags) {
    if (flags.secret.empty() && flags.server.empty()) return Security{};
    if (flags.secret.empty() || flags.server.empty())
        return error("--curve-secret and --curve-server go together");
    auto own = load_secret_certificate(flags.secret);
    if (!own) return own.error();
    auto server = load_certificate(flags.server);
    if (!server) return server.error();
    return Security::client(std::move(own.value()), server->public_key);
}

std::optional<ZapPolicy> zap_policy(const CurveFlags& flags) {
    if (flags.secret.empty()) return std::nullopt;
    return ZapPolicy{flags.clients, flags.allow_any};
}

std::unique_ptr<ZapHandler> start_zap(zmq::context_t& context, const CurveFlags& flags,
                                      std::map<std::string, std::set<std::string>> fixed_domains) {
    auto policy = zap_policy(flags);
    if (!policy) return nullptr;
    policy->fixed_domains = std::move(fixed_domains);
    return std::make_unique<ZapHandler>(context, *policy);
}

ZapHooks::ZapHooks(ZapHandler* zap, metrics::Exporter* exporter, const std::string& program) {
    if (zap) {
        reload_ = std::make_unique<ReloadSignalHook>([zap] {
            zap->reload();
            log::info("SIGHUP: client keys re-read at the next handshake");
        });
        summary_ = std::make_unique<SummarySignalHook>([zap] {
            log::info("ZAP: auth-denied {} admitted {} keys {}", zap->auth_denied(), zap->auth_allowed(),
                      zap->known_keys());
        });
    }
    if (exporter) {
        exporter->add_source([zap, name = program + "_auth_denied_total"](metrics::MetricsText& m) {
            m.counter(name, "CURVE handshakes refused by the ZAP handler (unknown key, not CURVE)",
                      zap ? static_cast<double>(zap->auth_denied()) : 0.0);
        });
    }
}

Security server_security(const CommandLine& cli, const CurveFlags& flags) {
    auto s = server_security(flags);
    if (!s) cli.fail(s.error().reason);
    return std::move(s.value());
}

Security client_security(const CommandLine& cli, const CurveFlags& flags) {
    auto s = client_security(flags);
    if (!s) cli.fail(s.error().reason);
    return std::move(s.value());
}

}  // namespace pirates
