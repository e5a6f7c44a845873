#pragma once
// The CURVE flags, declared once with one wording for every program (docs/security.md):
//   servers:           --curve-secret FILE, --curve-clients DIR, --curve-allow-any
//   clients, workers:  --curve-secret FILE, --curve-server FILE
// Declare them before CommandLine::parse(), then turn them into a Security (and, on a server, a ZapPolicy).
// With none given, the Security is plaintext: the program speaks as the Guide's programs do.
#include <pirates/common/cli.hpp>
#include <pirates/common/metrics.hpp>
#include <pirates/common/security.hpp>
#include <pirates/common/signals.hpp>

#include <memory>
#include <optional>
#include <string>

namespace pirates {

struct CurveFlags {
    std::string secret;   // own secret certificate
    std::string clients;  // server: folder of admitted public certificates
    bool allow_any = false;
    std::string server;  // client: the server's public certificate
};

// --curve-secret, --curve-clients, --curve-allow-any
CommandLine& curve_server_flags(CommandLine& cli, CurveFlags& flags);
// --curve-secret, --curve-server
CommandLine& curve_client_flags(CommandLine& cli, CurveFlags& flags);

// The server's Security from parsed flags, or the reason they are unusable (a certificate that does not load,
// --curve-secret without --curve-clients or --curve-allow-any, both of those, or either without a secret).
Result<Security> server_security(const CurveFlags& flags);
// The client's Security: --curve-secret and --curve-server go together.
Result<Security> client_security(const CurveFlags& flags);
// The ZAP policy a CURVE server runs (nullopt when plaintext).
std::optional<ZapPolicy> zap_policy(const CurveFlags& flags);

// A server program's ZAP handler on `context` when CURVE is on (nullptr when plaintext). Start it before the
// objects that bind; it must be destroyed before the context (declare it after the context).
// `fixed_domains` adds ZAP domains that admit only the keys listed (ZapPolicy::fixed_domains).
std::unique_ptr<ZapHandler> start_zap(zmq::context_t& context, const CurveFlags& flags,
                                      std::map<std::string, std::set<std::string>> fixed_domains = {});

// The rest of a server program's ZAP wiring, declared in main after its exporter (if any):
//   SIGHUP makes `zap` re-read its key folder ("SIGHUP: client keys re-read at the next handshake"); without
//     CURVE (zap null) SIGHUP stays logged and ignored;
//   SIGUSR1 also logs the handler's counters ("ZAP: auth-denied N admitted M keys K") beside the summary;
//   `exporter` (when not null) serves <program>_auth_denied_total, 0 without CURVE.
// `zap` and `exporter` must outlive it; the exporter reads the counter (an atomic) at each scrape.
class ZapHooks {
  public:
    ZapHooks(ZapHandler* zap, metrics::Exporter* exporter, const std::string& program);

  private:
    std::unique_ptr<ReloadSignalHook> reload_;
    std::unique_ptr<SummarySignalHook> summary_;
};

// The same, exiting with status 2 and the reason (cli.fail) when the flags are unusable.
Security server_security(const CommandLine& cli, const CurveFlags& flags);
Security client_security(const CommandLine& cli, const CurveFlags& flags);

}  // namespace pirates
