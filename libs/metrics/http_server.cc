#include "libs/metrics/http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"

namespace hisbridge::metrics {

absl::Status SplitHostPort(const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\" is not host:port"));
  }
  std::string h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  int p = 0;
  if (!absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", address, "\" has no valid port (0-65535)"));
  }
  *host = std::move(h);
  *port = p;
  return absl::OkStatus();
}

struct MetricsServer::Impl {
  std::unique_ptr<httplib::Server> owned;
  httplib::Server* server = nullptr;
  std::thread thread;
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() { Stop(); }

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen,
                                                                    const Registry* registry,
                                                                    HealthFunction health) {
  return Start(listen, registry, std::move(health), MetricsTls{});
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen,
                                                                    const Registry* registry, HealthFunction health,
                                                                    const MetricsTls& tls) {
  std::string host;
  int port = 0;
  absl::Status s = SplitHostPort(listen, &host, &port);
  if (!s.ok()) return s;

  auto impl = std::make_unique<Impl>();
  if (!tls.cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(tls.cert.c_str(), tls.key.c_str(),
                                                    tls.client_ca.empty() ? nullptr : tls.client_ca.c_str());
    if (!ssl->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat("metrics endpoint: cannot use the TLS certificate ", tls.cert,
                                                     " and key ", tls.key));
    }
    impl->owned = std::move(ssl);
  } else {
    impl->owned = std::make_unique<httplib::Server>();
  }
  impl->server = impl->owned.get();
  httplib::Server& server = *impl->server;
  // Scrapes are rare and small: two threads are plenty, and a slow client
  // cannot hold one for long.
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_keep_alive_max_count(10);
  // httplib's default also sets SO_REUSEPORT, which lets a second process
  // bind the same port and silently take half the scrapes. SO_REUSEADDR
  // alone allows a quick restart without that.
  server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.Get("/metrics", [registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry->Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [health](const httplib::Request&, httplib::Response& response) {
    const absl::Status status = health ? health() : absl::OkStatus();
    if (status.ok()) {
      response.set_content("ok\n", "text/plain; charset=utf-8");
    } else {
      response.status = 503;
      response.set_content(absl::StrCat("unhealthy: ", status.ToString(), "\n"), "text/plain; charset=utf-8");
    }
  });
  server.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
    if (response.status == 404) {
      response.set_content(absl::StrCat("no such page: ", request.path, " (try /metrics or /healthz)\n"),
                           "text/plain; charset=utf-8");
    }
  });

  int bound = port;
  if (port == 0) {
    bound = server.bind_to_any_port(host);
  } else if (!server.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ", listen, " (address in use?)"));
  }
  impl->thread = std::thread([raw = impl.get()] {
    if (!raw->server->listen_after_bind()) log::Error("metrics server stopped unexpectedly");
  });
  // httplib's stop() is a no-op until the accept loop runs; wait for it so
  // that a Stop() right after Start() cannot leave the thread listening.
  for (int i = 0; i < 5000 && !impl->server->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::unique_ptr<MetricsServer> result(new MetricsServer(std::move(impl)));
  result->port_ = bound;
  result->address_ = absl::StrCat(host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host, ":", bound);
  return result;
}

void MetricsServer::Stop() {
  if (impl_ == nullptr) return;
  impl_->server->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace hisbridge::metrics
