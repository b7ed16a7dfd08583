// One hisbridge process: any subset of the ingest, linker and query roles,
// optionally with the embedded development broker, behind one gRPC server
// (plus gRPC health checking and server reflection).
//
// `hisbridge serve`, `hisbridge demo` and the integration tests all run a
// Node. Components start in dependency order (broker, linker, query,
// ingest, gRPC server) and stop in reverse.
//
// Thread safety: Start/Stop from one thread; accessors are safe after Start.
#ifndef HISBRIDGE_SERVICES_NODE_NODE_H_
#define HISBRIDGE_SERVICES_NODE_NODE_H_

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/kafka/kafka_config.h"
#include "libs/security/tls.h"

namespace hisbridge {
namespace kafka {
class DevBroker;
class Producer;
class WatermarkMonitor;
}  // namespace kafka
namespace metrics {
class MetricsServer;
class Registry;
}  // namespace metrics
namespace linker {
class StreamingLinker;
class LinkEngine;
}  // namespace linker
namespace match {
class Matcher;
}  // namespace match
namespace records {
class FacilityDirectory;
}  // namespace records
namespace view {
class ViewMaterializer;
}  // namespace view
namespace ingest {
class Ingestor;
}  // namespace ingest
namespace index {
class ValueCipher;
}  // namespace index
namespace security {
class AccessLog;
class Authorizer;
}  // namespace security

enum class Role { kIngest, kLinker, kQuery };

// Parses "ingest,linker,query" or "all".
absl::StatusOr<std::set<Role>> ParseRoles(const std::vector<std::string>& names);

struct NodeOptions {
  std::set<Role> roles = {Role::kIngest, Role::kLinker, Role::kQuery};
  // Parent of linker/ and query/ RocksDB directories.
  std::string data_dir;
  // gRPC listen address; port 0 picks a free port.
  std::string listen = "127.0.0.1:0";
  kafka::KafkaConfig kafka;
  // Start the development broker in-process (when kafka.bootstrap is empty).
  bool embedded_broker = false;
  kafka::TopicNames topics;
  // Partition counts used when this node creates the topics (embedded broker).
  int inbox_partitions = 4;
  int views_partitions = 4;
  int changes_partitions = 1;
  int rejects_partitions = 1;
  std::string facilities_file;
  std::string default_region = "000000";
  // "fs" (probabilistic) or "id-exact" (the deterministic baseline).
  std::string matcher = "fs";
  // Model file for "fs"; empty for the compiled-in default model.
  std::string model_path;
  // Survivorship trust per facility tier, higher wins: "county hospital,
  // TCM hospital, township health centre, village clinic, other", e.g.
  // "4,3,2,1,0" (the default).
  std::string source_trust = "4,3,2,1,0";
  // Linker consumer group and static member id.
  std::string linker_group = "hisbridge-linker";
  std::string linker_instance;
  absl::Duration linker_batch_delay = absl::Milliseconds(20);
  // How long the group waits for a linker that stopped heartbeating before
  // giving its partitions to others; with static membership a linker that
  // restarts within it keeps its partitions (no rebalance).
  absl::Duration linker_session_timeout = absl::Seconds(10);
  // Prometheus endpoint (/metrics, /healthz) host:port; empty for none,
  // port 0 picks a free one (see metrics_address()).
  std::string metrics_listen;
  // How often consumer lag is refreshed from the broker's watermarks.
  absl::Duration lag_refresh_interval = absl::Seconds(10);
  // RocksDB block cache of the query role's store (uncompressed blocks of
  // the views and summaries). Bigger serves GetPatient / LookupBySource
  // with fewer decompressions; it adds to the replica's resident memory
  // (docs/query.md, "Memory").
  size_t query_block_cache_bytes = 512 << 20;
  // Fill that cache from the store before serving (ViewStoreOptions::
  // warm_cache): start-up takes the time of reading up to the cache's size,
  // and the first minutes of traffic are as fast as the rest.
  bool query_warm_cache = true;
  // Threads that answer the query calls whose data is not in memory
  // (QueryServiceOptions::disk_read_threads); 0 reads the disk on gRPC's
  // callback threads.
  int query_disk_read_threads = 2;
  // Longest time a read's access-log entry waits to be written with
  // others in one batch; zero writes it before the read is answered
  // (docs/security.md, "Access log").
  absl::Duration access_log_max_delay = absl::Milliseconds(5);

  // Security (docs/security.md). With tls.cert set, the gRPC listener is
  // mutual TLS (client certificates from tls.ca required) and `policy_file`
  // (required then) decides who may do what; the metrics endpoint serves
  // HTTPS with the same certificate. Without, every listener is plaintext
  // and every caller may do everything: development only, and the node
  // says so loudly at start and every plaintext_warning_interval.
  security::TlsFiles tls;
  std::string policy_file;
  absl::Duration plaintext_warning_interval = absl::Minutes(10);
  // At-rest key file (libs/security/key_ring.h): encrypts the linker's and
  // the query role's RocksDB values and keys the blocking tokens. Empty:
  // nothing is encrypted (warned at start).
  std::string keys_file;
};

class Node {
 public:
  explicit Node(NodeOptions options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  absl::Status Start();
  void Stop();

  // "127.0.0.1:port" actually bound.
  const std::string& grpc_address() const { return grpc_address_; }
  const std::string& kafka_bootstrap() const { return options_.kafka.bootstrap; }
  const NodeOptions& options() const { return options_; }

  // Role components (null when the role is not run here).
  linker::StreamingLinker* linker() { return linker_.get(); }
  view::ViewMaterializer* views() { return views_.get(); }
  ingest::Ingestor* ingestor() { return ingestor_.get(); }
  kafka::DevBroker* dev_broker() { return broker_.get(); }
  // The node's metrics (always kept; served over HTTP when metrics_listen
  // is set).
  metrics::Registry* metrics() { return metrics_.get(); }
  // "host:port" of the metrics endpoint actually bound ("" when off).
  const std::string& metrics_address() const { return metrics_address_; }

  // First error of a background component (linker, materializer).
  absl::Status Health() const;

  // Who may do what (plaintext: everyone); and the query role's access log
  // (null without the query role).
  const security::Authorizer* authorizer() const { return authorizer_.get(); }
  security::AccessLog* access_log() { return access_log_.get(); }

 private:
  struct Grpc;
  absl::Status StartSecurity();
  void WarnPlaintext() const;
  NodeOptions options_;
  std::unique_ptr<kafka::DevBroker> broker_;
  std::unique_ptr<records::FacilityDirectory> facilities_;
  std::unique_ptr<match::Matcher> matcher_;
  std::unique_ptr<linker::LinkEngine> engine_;
  std::unique_ptr<linker::StreamingLinker> linker_;
  std::unique_ptr<view::ViewMaterializer> views_;
  // The query service's count of calls answered from disk, shared with the
  // metrics (which outlive the service within a start).
  std::shared_ptr<std::atomic<int64_t>> query_answered_from_disk_ = std::make_shared<std::atomic<int64_t>>(0);
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<ingest::Ingestor> ingestor_;
  std::shared_ptr<const index::ValueCipher> cipher_;
  std::unique_ptr<security::AccessLog> access_log_;
  std::unique_ptr<security::Authorizer> authorizer_;
  std::unique_ptr<Grpc> grpc_;
  std::string grpc_address_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<kafka::WatermarkMonitor> watermarks_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  std::string metrics_address_;
  bool started_ = false;
};

}  // namespace hisbridge

#endif  // HISBRIDGE_SERVICES_NODE_NODE_H_
