// The FHIR facade's HTTP listener: cpp-httplib behind a pimpl, every
// request handed to FhirFacade::Handle.
//
// Transport security lives here, not in the facade: with `tls` set the
// server speaks HTTPS only, TLS 1.2 or newer, and requires a client
// certificate signed by the clinics' CA (mutual TLS, as MLLP); the
// certificate's common name is put in front of the peer address
// ("clinic:450321-WS-003@10.0.0.7:51234") that the reject log records.
// Errors httplib produces itself (a body over the limit, a malformed
// request line, an exception) are answered with an OperationOutcome too.
//
// Ownership: borrows the facade, which must outlive the server. Thread
// safety: Start/Stop from one thread; requests run on the server's own
// thread pool (`threads`), each may block until its records are durable.
#ifndef HISBRIDGE_CONNECTORS_FHIR_HTTP_SERVER_H_
#define HISBRIDGE_CONNECTORS_FHIR_HTTP_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "connectors/fhir/fhir_facade.h"

namespace hisbridge::connectors::fhir {

// PEM files for HTTPS. All three or none.
struct FhirTlsFiles {
  std::string cert;       // the server's certificate chain
  std::string key;        // its private key
  std::string client_ca;  // CA bundle that verifies the clients' certificates
  bool empty() const { return cert.empty() && key.empty() && client_ca.empty(); }
};

struct FhirServerOptions {
  // host:port ("[v6]:port", ":port" for every address; port 0 picks one).
  std::string listen = "0.0.0.0:8080";
  // Concurrent requests; each may wait up to the ingest deadline.
  int threads = 16;
  absl::Duration read_timeout = absl::Seconds(30);
  absl::Duration write_timeout = absl::Seconds(30);
  absl::Duration keep_alive_timeout = absl::Seconds(30);
  // Larger bodies are refused with 413 before they are read to the end.
  size_t max_body_bytes = 16 << 20;
  // Pending connections the kernel queues before accept.
  int listen_backlog = 128;
  // HTTPS with mutual TLS when set; plaintext HTTP when empty.
  FhirTlsFiles tls;
};

class FhirHttpServer {
 public:
  // UNAVAILABLE naming the address when it cannot be bound,
  // INVALID_ARGUMENT for a malformed one or for TLS files that are
  // incomplete, unreadable, expired or do not fit together (naming the
  // --http-tls-* flag and file).
  static absl::StatusOr<std::unique_ptr<FhirHttpServer>> Start(const FhirServerOptions& options, FhirFacade* facade);
  ~FhirHttpServer();
  FhirHttpServer(const FhirHttpServer&) = delete;
  FhirHttpServer& operator=(const FhirHttpServer&) = delete;

  // Stops accepting; requests in progress finish (and get their answer).
  void Stop();
  int port() const { return port_; }
  // "host:port" bound (a wildcard host as 127.0.0.1, for tests).
  const std::string& address() const { return address_; }
  bool tls() const { return tls_; }

 private:
  struct Impl;
  explicit FhirHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::string address_;
  bool tls_ = false;
};

}  // namespace hisbridge::connectors::fhir

#endif  // HISBRIDGE_CONNECTORS_FHIR_HTTP_SERVER_H_
