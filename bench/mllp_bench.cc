// MLLP throughput and latency of the HL7 v2 connector: messages/s and ACK
// latency percentiles over 1 connection and over 8 concurrent connections.
//
// Two back ends, both in this process:
//   fake-ingest  the Forwarder talks to an ingest that accepts at once: the
//                cost of MLLP framing, parsing, mapping, validation and the
//                connector itself;
//   tls-fake     the same over mutual TLS (development certificates; one
//                handshake per connection);
//   node         a real Node (ingest + linker + query on the embedded
//                development broker) over gRPC: what a clinic sees, each ACK
//                sent only after Kafka confirmed (acks=all).
//
//   mllp_bench [--messages=N] [--backend=fake|tls|node|all]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "connectors/hl7v2/hl7v2_connector.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/security/dev_certs.h"
#include "libs/security/tls.h"
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

std::string Message(int connection, int i) {
  return absl::StrCat(
      "MSH|^~\\&|YXHIS|450321-WS-003|HISBRIDGE|450321-YGT|20260301083000+0800||ADT^A04^ADT_A01|B", connection, "-", i,
      "|P|2.5|||||CHN|UNICODE UTF-8\rEVN|A04|20260301083000\rPID|1||B", connection, "-", i,
      "^^^450321-WS-003^MR||王^小明||19850302|M|||遇龙村5组^^桂林市^广西壮族自治区^^^^^阳朔县||13812345678\r"
      "PV1|1|O|全科||||||||||||||||V", connection, "-", i, "\r");
}

void Run(const std::string& label, int port, int connections, int per_connection,
         const std::shared_ptr<const security::TlsContext>& tls) {
  std::vector<std::vector<double>> latencies(static_cast<size_t>(connections));
  std::atomic<int> failures{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto client = connectors::hl7v2::MllpClient::Connect(absl::StrCat("127.0.0.1:", port), absl::Seconds(10), tls);
      if (!client.ok()) {
        failures += per_connection;
        return;
      }
      for (int i = 0; i < per_connection; ++i) {
        const std::string msg = Message(c + connections * 1000, i);
        const absl::Time t0 = absl::Now();
        auto ack = (*client)->Exchange(msg);
        latencies[static_cast<size_t>(c)].push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
        if (!ack.ok() || ack->find("MSA|AA|") == std::string::npos) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))]; };
  std::printf("%-12s %2d conn  %6zu msgs  %9.0f msgs/s  ack latency ms p50 %6.2f  p95 %6.2f  p99 %6.2f  max %7.2f  "
              "failed %d\n",
              label.c_str(), connections, all.size(), static_cast<double>(all.size()) / seconds, pct(0.50), pct(0.95),
              pct(0.99), all.empty() ? 0.0 : all.back(), failures.load());
  std::fflush(stdout);
}

void Bench(const std::string& label, std::unique_ptr<forward::IngestClient> ingest, const std::string& dir,
           int messages, std::shared_ptr<const security::TlsContext> server_tls = nullptr,
           std::shared_ptr<const security::TlsContext> client_tls = nullptr) {
  forward::ForwarderOptions fo;
  fo.spool.dir = dir + "/spool-" + label;
  auto forwarder = forward::Forwarder::Start(fo, std::move(ingest));
  if (!forwarder.ok()) {
    std::fprintf(stderr, "%s\n", forwarder.status().ToString().c_str());
    return;
  }
  connectors::hl7v2::Hl7v2ConnectorOptions o;
  o.mllp.listen = "127.0.0.1:0";
  o.mllp.tls = std::move(server_tls);
  connectors::hl7v2::Hl7v2Connector connector(forwarder->get(), o);
  if (!connector.Start().ok()) return;
  Run(label, connector.port(), 1, messages, client_tls);
  Run(label, connector.port(), 8, messages / 8, client_tls);
  connector.Stop();
  (*forwarder)->Stop();
  if (connector.stats().spooled > 0) std::printf("  (%ld messages went through the spool)\n", static_cast<long>(connector.stats().spooled));
}

}  // namespace
}  // namespace hisbridge

int main(int argc, char** argv) {
  int messages = 2000;
  std::string backend = "all";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--messages=", 11) == 0) messages = std::max(8, std::atoi(argv[i] + 11));
    if (std::strncmp(argv[i], "--backend=", 10) == 0) backend = argv[i] + 10;
  }
  hisbridge::log::SetLevel(hisbridge::log::Level::kError);
  const std::string dir = hisbridge::MakeTempDirectory("mllp_bench").value();
  std::printf("MLLP connector benchmark: ADT^A04 (patient + encounter) per message, ACK after durable\n");
  if (backend == "all" || backend == "fake") {
    hisbridge::Bench("fake-ingest", std::make_unique<hisbridge::InstantIngest>(), dir, messages);
  }
  if (backend == "all" || backend == "tls") {
    hisbridge::security::DevCertOptions certs;
    certs.out_dir = dir + "/certs";
    certs.facilities = {"450321-WS-003"};
    if (auto written = hisbridge::security::WriteDevCertificates(certs); !written.ok()) {
      std::fprintf(stderr, "%s\n", written.status().ToString().c_str());
      return 1;
    }
    const std::string c = certs.out_dir + "/";
    hisbridge::security::TlsFiles server_files, client_files;
    server_files.cert = c + "server.crt";
    server_files.key = c + "server.key";
    server_files.ca = c + "ca.crt";
    client_files.cert = c + "clinic-450321-WS-003.crt";
    client_files.key = c + "clinic-450321-WS-003.key";
    client_files.ca = c + "ca.crt";
    auto server_tls = hisbridge::security::TlsContext::Server(server_files, /*require_client_cert=*/true);
    auto client_tls = hisbridge::security::TlsContext::Client(client_files);
    if (!server_tls.ok() || !client_tls.ok()) {
      std::fprintf(stderr, "TLS: %s %s\n", server_tls.status().ToString().c_str(),
                   client_tls.status().ToString().c_str());
      return 1;
    }
    hisbridge::Bench("tls-fake", std::make_unique<hisbridge::InstantIngest>(), dir, messages, *server_tls,
                     *client_tls);
  }
  if (backend == "all" || backend == "node") {
    hisbridge::NodeOptions options;
    options.data_dir = dir + "/node";
    options.embedded_broker = true;
    options.linker_group = absl::StrCat("mllp-bench-", getpid());
    hisbridge::Node node(options);
    if (!node.Start().ok()) return 1;
    hisbridge::forward::GrpcIngestOptions g;
    g.target = node.grpc_address();
    g.channel = "hl7v2";
    // Fewer messages: the development broker keeps ~5 MiB per partition.
    hisbridge::Bench("node", hisbridge::forward::NewGrpcIngestClient(g), dir, std::min(messages, 1000));
    node.Stop();
  }
  (void)hisbridge::RemoveRecursively(dir);
  return 0;
}
