// The HTTP endpoint every hisbridge role serves for Prometheus and for
// humans with curl:
//
//   GET /metrics   the registry in the Prometheus text format 0.0.4
//   GET /healthz   200 "ok", or 503 with the reason the process is unhealthy
//
// Anything else is 404. The server has a small thread pool of its own and
// never touches the gRPC threads; a scrape runs the registry's collectors
// on one of its threads.
//
// Ownership: borrows the registry and the health function, which must
// outlive the server. Thread safety: Start/Stop from one thread; address()
// is safe after Start.
#ifndef HISBRIDGE_LIBS_METRICS_HTTP_SERVER_H_
#define HISBRIDGE_LIBS_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/metrics/registry.h"

namespace hisbridge::metrics {

// HTTPS for the endpoint (PEM file paths). With client_ca set, clients
// must present a certificate it signed; Kubernetes probes and most
// Prometheus setups present none, so the endpoint (which serves no
// patient data) normally leaves it empty.
struct MetricsTls {
  std::string cert;
  std::string key;
  std::string client_ca;
};

class MetricsServer {
 public:
  using HealthFunction = std::function<absl::Status()>;

  // Listens on `listen` ("host:port", "[v6]:port" or ":port" for every
  // address; port 0 picks a free one) and serves until Stop(). Errors name
  // the address (INVALID_ARGUMENT for a malformed one, UNAVAILABLE when it
  // cannot be bound).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen, const Registry* registry,
                                                              HealthFunction health);
  // The same over HTTPS when tls.cert is set.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen, const Registry* registry,
                                                              HealthFunction health, const MetricsTls& tls);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Stops accepting, finishes the request in progress, joins the threads.
  void Stop();

  // "host:port" actually bound (a wildcard host is reported as 127.0.0.1,
  // so tests can connect to it).
  const std::string& address() const { return address_; }
  int port() const { return port_; }

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string address_;
  int port_ = 0;
};

// Splits "host:port" / "[v6]:port" / ":port" (host "0.0.0.0").
absl::Status SplitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace hisbridge::metrics

#endif  // HISBRIDGE_LIBS_METRICS_HTTP_SERVER_H_
