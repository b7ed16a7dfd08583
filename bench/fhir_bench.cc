// Throughput and latency of the FHIR facade: transaction Bundles/s (each
// Organization + Patient + Encounter + Condition + Observation +
// MedicationRequest = 4 county records) and answer latency percentiles over
// 1 HTTP connection and over 8 concurrent connections.
//
// Two back ends, both in this process:
//   fake-ingest  the Forwarder talks to an ingest that accepts at once: the
//                cost of HTTP, JSON parsing, the strict structure check,
//                mapping, validation and the facade itself;
//   https-fake   the same over HTTPS with client certificates (mutual TLS,
//                development certificates; kept-alive connections);
//   node         a real Node (ingest + linker + query on the embedded
//                development broker) over gRPC: each answer sent only after
//                Kafka confirmed (acks=all).
//
//   fhir_bench [--bundles=N] [--backend=fake|https|node|all]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "connectors/fhir/fhir_facade.h"
#include "connectors/fhir/http_server.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/security/dev_certs.h"
#include "services/node/node.h"

namespace hisbridge {
namespace {

class InstantIngest : public forward::IngestClient {
 public:
  absl::StatusOr<hisbridge::v1::SubmitResponse> Submit(const hisbridge::v1::SubmitRequest& request,
                                                       absl::Duration) override {
    hisbridge::v1::SubmitResponse response;
    for (int i = 0; i < request.records_size(); ++i) {
      response.add_results()->set_outcome(hisbridge::v1::RECORD_OUTCOME_ACCEPTED);
    }
    return response;
  }
};

// Reads are not measured here (bench/query_bench does): a query that is never called.
class NoQuery : public connectors::fhir::PatientQuery {
 public:
  absl::StatusOr<hisbridge::v1::Patient> GetPatient(const std::string&,
                                                    const connectors::fhir::QueryContext&) override {
    return absl::UnimplementedError("not in this benchmark");
  }
  absl::StatusOr<hisbridge::v1::Patient> LookupBySource(const std::string&, const std::string&,
                                                        const connectors::fhir::QueryContext&) override {
    return absl::UnimplementedError("not in this benchmark");
  }
  absl::StatusOr<hisbridge::v1::MatchResponse> Match(const hisbridge::v1::MatchRequest&,
                                                     const connectors::fhir::QueryContext&) override {
    return absl::UnimplementedError("not in this benchmark");
  }
};

// The Chinese transaction of the test data with its ids made unique.
std::string Bundle(const std::string& base, int connection, int i) {
  const std::string n = absl::StrCat(connection, "-", i);
  const std::string id_number = absl::StrFormat("45032119850302%04d", (connection * 7919 + i) % 10000);
  return absl::StrReplaceAll(base, {{"MZ00017", absl::StrCat("B", n)},
                                    {"V20260301002", absl::StrCat("V", n)},
                                    {"OBS-20260301-0007", absl::StrCat("O", n)},
                                    {"RX-20260301-0003", absl::StrCat("R", n)},
                                    {"WS003-20260301-0002", absl::StrCat("M", n)},
                                    {"450321198503021232", id_number}});
}

// Client side of HTTPS: the clinic's certificate and the CA of the server's.
struct ClientTls {
  std::string cert;
  std::string key;
  std::string ca;
};

void Run(const std::string& label, const std::string& base, int port, int connections, int per_connection,
         const ClientTls& tls) {
  std::vector<std::vector<double>> latencies(static_cast<size_t>(connections));
  std::atomic<int> failures{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client(absl::StrCat(tls.ca.empty() ? "http" : "https", "://127.0.0.1:", port), tls.cert,
                             tls.key);
      if (!tls.ca.empty()) {
        client.set_ca_cert_path(tls.ca.c_str());
        client.enable_server_certificate_verification(true);
      }
      // A clinic system keeps its connection (httplib's client closes it
      // after every request unless told; over HTTPS that is a handshake
      // per Bundle).
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(60, 0);
      for (int i = 0; i < per_connection; ++i) {
        const std::string body = Bundle(base, c + connections * 1000, i);
        const absl::Time t0 = absl::Now();
        auto r = client.Post("/fhir", body, "application/fhir+json");
        latencies[static_cast<size_t>(c)].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (!r || r->status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf("%-12s %2d conn  %6zu bundles  %7.0f bundles/s  %7.0f records/s  latency ms p50 %6.2f  p95 %6.2f  "
              "p99 %6.2f  max %7.2f  failed %d\n",
              label.c_str(), connections, all.size(), static_cast<double>(all.size()) / seconds,
              4.0 * static_cast<double>(all.size()) / seconds, pct(0.50), pct(0.95), pct(0.99),
              all.empty() ? 0.0 : all.back(), failures.load());
  std::fflush(stdout);
}

void Bench(const std::string& label, const std::string& base, std::unique_ptr<forward::IngestClient> ingest,
           const std::string& dir, int bundles, const connectors::fhir::FhirTlsFiles& server_tls = {},
           const ClientTls& client_tls = {}) {
  forward::ForwarderOptions fo;
  fo.spool.dir = dir + "/spool-" + label;
  auto forwarder = forward::Forwarder::Start(fo, std::move(ingest));
  if (!forwarder.ok()) {
    std::fprintf(stderr, "%s\n", forwarder.status().ToString().c_str());
    return;
  }
  NoQuery query;
  connectors::fhir::FhirFacade facade(forwarder->get(), &query, connectors::fhir::FhirFacadeOptions());
  connectors::fhir::FhirServerOptions so;
  so.listen = "127.0.0.1:0";
  so.threads = 16;
  so.tls = server_tls;
  auto server = connectors::fhir::FhirHttpServer::Start(so, &facade);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return;
  }
  Run(label, base, (*server)->port(), 1, bundles, client_tls);
  Run(label, base, (*server)->port(), 8, bundles / 8, client_tls);
  (*server)->Stop();
  (*forwarder)->Stop();
  if (facade.stats().spooled > 0) {
    std::printf("  (%ld bundles went through the spool)\n", static_cast<long>(facade.stats().spooled));
  }
}

}  // namespace
}  // namespace hisbridge

int main(int argc, char** argv) {
  int bundles = 2000;
  std::string backend = "all";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--bundles=", 10) == 0) bundles = std::max(8, std::atoi(argv[i] + 10));
    if (std::strncmp(argv[i], "--backend=", 10) == 0) backend = argv[i] + 10;
  }
  hisbridge::log::SetLevel(hisbridge::log::Level::kError);
  auto base = hisbridge::ReadFileToString(std::string(HISBRIDGE_SOURCE_DIR) +
                                          "/connectors/fhir/testdata/bundle-transaction-zh-hypertension.json");
  if (!base.ok()) {
    std::fprintf(stderr, "%s\n", base.status().ToString().c_str());
    return 1;
  }
  const std::string dir = hisbridge::MakeTempDirectory("fhir_bench").value();
  std::printf("FHIR facade benchmark: transaction Bundle (4 county records) per request, answer after durable\n");
  if (backend == "all" || backend == "fake") {
    hisbridge::Bench("fake-ingest", *base, std::make_unique<hisbridge::InstantIngest>(), dir, bundles);
  }
  if (backend == "all" || backend == "https") {
    hisbridge::security::DevCertOptions certs;
    certs.out_dir = dir + "/certs";
    certs.facilities = {"450321-WS-003"};
    if (auto written = hisbridge::security::WriteDevCertificates(certs); !written.ok()) {
      std::fprintf(stderr, "%s\n", written.status().ToString().c_str());
      return 1;
    }
    const std::string c = certs.out_dir + "/";
    hisbridge::Bench("https-fake", *base, std::make_unique<hisbridge::InstantIngest>(), dir, bundles,
                     {c + "server.crt", c + "server.key", c + "ca.crt"},
                     {c + "clinic-450321-WS-003.crt", c + "clinic-450321-WS-003.key", c + "ca.crt"});
  }
  if (backend == "all" || backend == "node") {
    hisbridge::NodeOptions options;
    options.data_dir = dir + "/node";
    options.embedded_broker = true;
    options.linker_group = absl::StrCat("fhir-bench-", getpid());
    hisbridge::Node node(options);
    if (!node.Start().ok()) return 1;
    hisbridge::forward::GrpcIngestOptions g;
    g.target = node.grpc_address();
    g.channel = "fhir";
    // Fewer bundles: the development broker keeps ~5 MiB per partition.
    hisbridge::Bench("node", *base, hisbridge::forward::NewGrpcIngestClient(g), dir, std::min(bundles, 1000));
    node.Stop();
  }
  (void)hisbridge::RemoveRecursively(dir);
  return 0;
}
