#include "connectors/fhir/http_server.h"

#include <httplib.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"
#include "libs/fhir/outcome.h"
#include "libs/metrics/http_server.h"
#include "libs/security/tls.h"

namespace hisbridge::connectors::fhir {
namespace {

// The verified client certificate's common name; "" on plaintext.
std::string ClientIdentity(const httplib::Request& req) {
  if (req.ssl == nullptr) return "";
  X509* cert = SSL_get1_peer_certificate(req.ssl);
  if (cert == nullptr) return "";
  char name[256] = {0};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  X509_free(cert);
  return n > 0 ? std::string(name, static_cast<size_t>(n)) : "";
}

// HTTPS as MLLP does it: TLS 1.2+, and a client certificate of the
// clinics' CA or no connection at all (the handshake fails before a
// request is read).
bool ConfigureTls(SSL_CTX& ctx, const FhirTlsFiles& files) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate_chain_file(&ctx, files.cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(&ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(&ctx) != 1 ||
      SSL_CTX_load_verify_locations(&ctx, files.client_ca.c_str(), nullptr) != 1) {
    return false;
  }
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
  if (names == nullptr) return false;
  SSL_CTX_set_client_CA_list(&ctx, names);
  SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return true;
}

HttpRequest Convert(const httplib::Request& req) {
  HttpRequest r;
  r.method = req.method;
  // The raw target, so that an id with an encoded '/' or '|' is split
  // and decoded by the facade, segment by segment.
  r.path = req.target.substr(0, req.target.find('?'));
  r.params.insert(req.params.begin(), req.params.end());
  for (const auto& [name, value] : req.headers) r.headers.emplace(absl::AsciiStrToLower(name), value);
  r.body = req.body;
  r.peer = absl::StrCat(req.remote_addr, ":", req.remote_port);
  r.tls = req.ssl != nullptr;
  r.identity = ClientIdentity(req);
  if (!r.identity.empty()) r.peer = absl::StrCat(r.identity, "@", r.peer);
  return r;
}

void Write(const HttpResponse& out, httplib::Response* res) {
  res->status = out.status;
  for (const auto& [name, value] : out.headers) res->set_header(name, value);
  if (!out.body.empty()) res->set_content(out.body, out.content_type);
}

}  // namespace

struct FhirHttpServer::Impl {
  std::unique_ptr<httplib::Server> owned;
  std::thread thread;
};

FhirHttpServer::FhirHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FhirHttpServer::~FhirHttpServer() { Stop(); }

absl::StatusOr<std::unique_ptr<FhirHttpServer>> FhirHttpServer::Start(const FhirServerOptions& options,
                                                                      FhirFacade* facade) {
  std::string host;
  int port = 0;
  if (absl::Status s = metrics::SplitHostPort(options.listen, &host, &port); !s.ok()) return s;

  auto impl = std::make_unique<Impl>();
  if (!options.tls.empty()) {
    security::TlsFiles files;
    files.cert = options.tls.cert;
    files.key = options.tls.key;
    files.ca = options.tls.client_ca;
    files.cert_flag = "--http-tls-cert";
    files.key_flag = "--http-tls-key";
    files.ca_flag = "--http-tls-ca";
    if (files.cert.empty() || files.key.empty() || files.ca.empty()) {
      return absl::InvalidArgumentError(
          "HTTPS needs --http-tls-cert, --http-tls-key and --http-tls-ca (the CA of the clients' certificates: "
          "the facade always asks for one)");
    }
    // Clear errors (which flag, which file, expired, key does not match)
    // before OpenSSL's own.
    if (auto material = security::LoadTlsMaterial(files, /*need_own_cert=*/true); !material.ok()) {
      return material.status();
    }
    const FhirTlsFiles tls = options.tls;
    auto ssl = std::make_unique<httplib::SSLServer>([tls](SSL_CTX& ctx) { return ConfigureTls(ctx, tls); });
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("fhir: OpenSSL refused the certificate ", tls.cert, ", key ",
                                                     tls.key, " or client CA ", tls.client_ca));
    }
    impl->owned = std::move(ssl);
  } else {
    impl->owned = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *impl->owned;
  const int threads = std::max(1, options.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  auto seconds = [](absl::Duration d) { return static_cast<time_t>(std::max<int64_t>(1, absl::ToInt64Seconds(d))); };
  server.set_read_timeout(seconds(options.read_timeout), 0);
  server.set_write_timeout(seconds(options.write_timeout), 0);
  server.set_keep_alive_timeout(seconds(options.keep_alive_timeout));
  // httplib closes a connection after 5 requests by default; clients then
  // reconnect in bursts that overflow its small listen backlog (a SYN
  // retried after 1 s). A clinic system keeps its connection.
  server.set_keep_alive_max_count(1000);
  server.set_payload_max_length(options.max_body_bytes);
  // Answers are small and written in pieces: without TCP_NODELAY, Nagle and
  // the client's delayed ACK add ~40 ms to every request.
  server.set_tcp_nodelay(true);
  // Without SO_REUSEPORT (httplib's default sets it): a second process must
  // not silently share the port.
  auto listen_fd = std::make_shared<int>(-1);
  server.set_socket_options([listen_fd](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *listen_fd = sock;
  });
  auto handler = [facade](const httplib::Request& req, httplib::Response& res) {
    Write(facade->Handle(Convert(req)), &res);
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Delete(".*", handler);
  server.Patch(".*", handler);
  server.Options(".*", handler);
  // What httplib answers itself (413 over the limit, 400 for a broken
  // request, ...) is an OperationOutcome as well.
  const size_t max_body = options.max_body_bytes;
  server.set_error_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    using hisbridge::fhir::IssueType;
    IssueType type = IssueType::kInvalid;
    std::string text = absl::StrCat("HTTP ", res.status);
    const bool routed_method = req.method == "GET" || req.method == "HEAD" || req.method == "POST" ||
                               req.method == "PUT" || req.method == "DELETE" || req.method == "PATCH" ||
                               req.method == "OPTIONS";
    if (res.status == 400 && !req.method.empty() && !routed_method) {
      // httplib parses TRACE and CONNECT but routes neither.
      res.status = 405;
      type = IssueType::kNotSupported;
      text = absl::StrCat("HTTP method ", req.method, " is not supported by this FHIR server");
      res.set_header("Allow", "GET, POST, PUT, DELETE");
    } else if (res.status == 413) {
      type = IssueType::kTooCostly;
      text = absl::StrCat("the body is larger than ", max_body, " bytes");
    } else if (res.status == 400) {
      text = "the request is not valid HTTP";
    } else if (res.status == 404) {
      type = IssueType::kNotFound;
      text = "no such endpoint";
    }
    Write(OutcomeResponse(res.status, {hisbridge::fhir::MakeError(type, "", text)}), &res);
  });
  server.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    log::Error("fhir: request failed with an exception", {{"method", req.method}, {"path", req.path}});
    Write(OutcomeResponse(500, {hisbridge::fhir::MakeError(hisbridge::fhir::IssueType::kException, "",
                                                           "the request failed unexpectedly; nothing was stored")}),
          &res);
  });

  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for FHIR on ", options.listen, " (address in use?)"));
  }
  // httplib listens with a backlog of 5: when many clinics reconnect at
  // once (after a network outage) the rest wait a SYN retry (1 s, 3 s, ...).
  // Listening again on the bound socket only raises the backlog.
  if (*listen_fd >= 0) ::listen(*listen_fd, options.listen_backlog);
  impl->thread = std::thread([raw = impl.get()] {
    if (!raw->owned->listen_after_bind()) log::Error("fhir: HTTP server stopped unexpectedly");
  });
  // stop() is a no-op until the accept loop runs.
  for (int i = 0; i < 5000 && !impl->owned->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::unique_ptr<FhirHttpServer> result(new FhirHttpServer(std::move(impl)));
  result->port_ = bound;
  result->address_ = absl::StrCat(host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host, ":", bound);
  result->tls_ = !options.tls.empty();
  return result;
}

void FhirHttpServer::Stop() {
  if (impl_ == nullptr) return;
  impl_->owned->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace hisbridge::connectors::fhir
