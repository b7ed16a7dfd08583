// hisbridge serve: runs roles as a long-lived service until SIGINT/SIGTERM.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/metrics/http_server.h"
#include "services/node/node.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"
#include "tools/hisbridge/data_dir.h"

namespace hisbridge::cli {
namespace {

// Plaintext is the default only in the single-machine development setup
// (all roles on the embedded broker); anything shaped like a deployment
// must choose TLS or say --insecure-plaintext.
absl::Status CheckTransportSecurity(const NodeOptions& node, bool insecure_plaintext) {
  const bool tls = !node.tls.cert.empty() || !node.tls.key.empty() || !node.tls.ca.empty();
  if (tls && insecure_plaintext) {
    return absl::InvalidArgumentError("--insecure-plaintext contradicts --tls-cert/--tls-key/--tls-ca; choose one");
  }
  if (tls && (node.tls.cert.empty() || node.tls.key.empty() || node.tls.ca.empty())) {
    return absl::InvalidArgumentError("TLS needs all of --tls-cert, --tls-key and --tls-ca");
  }
  if (tls && node.policy_file.empty()) {
    return absl::InvalidArgumentError("--policy is required with TLS: it says which certificate may do what");
  }
  if (!tls && !node.policy_file.empty()) {
    return absl::InvalidArgumentError("--policy needs TLS (--tls-cert, --tls-key, --tls-ca)");
  }
  if (!tls && !insecure_plaintext && !node.embedded_broker) {
    return absl::InvalidArgumentError(
        "refusing to serve plaintext with an external Kafka: give --tls-cert, --tls-key, --tls-ca and --policy "
        "(docs/security.md), or --insecure-plaintext for development");
  }
  return absl::OkStatus();
}

}  // namespace

int ServeCommand(int argc, char** argv) {
  std::vector<std::string> roles = {"all"};
  std::string data_dir = "/var/lib/hisbridge";
  std::string listen = "0.0.0.0:7070";
  std::string address_file;
  bool dry_run = false;
  NodeOptions node;
  KafkaFlags kafka;
  LogFlags logging;
  FlagSet flags("serve", "Run roles as a service. With --roles=all and no --kafka-bootstrap, the development broker "
                         "runs embedded (single-machine default; data in memory).");
  flags.ConfigFile("config",
                   "read options from this file first (`name = value` lines, the flag names without --; "
                   "flags on the command line override it; see deploy/hisbridge.conf)");
  flags.StringList("roles", &roles, "roles to run: ingest, linker, query, or all");
  flags.String("data-dir", &data_dir, "directory for the linker and query RocksDB data");
  flags.String("listen", &listen, "gRPC listen address host:port (port 0 picks a free one)");
  flags.String("address-file", &address_file, "write the bound gRPC address to this file once serving");
  flags.String("facilities", &node.facilities_file, "facility directory CSV (facility_id,name,region,tier)");
  flags.String("default-region", &node.default_region,
               "region (county code) of facilities neither listed nor named after their county");
  flags.String("matcher", &node.matcher,
               "record matcher: fs (probabilistic Fellegi-Sunter) or id-exact (same resident id only)");
  flags.String("model", &node.model_path, "matcher model file (hisbridge train); empty for the built-in model");
  flags.String("source-trust", &node.source_trust,
               "survivorship trust per facility tier, higher wins: county hospital, TCM hospital, township health "
               "centre, village clinic, other");
  flags.String("linker-group", &node.linker_group, "Kafka consumer group of the linkers");
  flags.String("linker-instance", &node.linker_instance,
               "static group member id (e.g. the StatefulSet pod name); empty for dynamic membership");
  flags.Duration("linker-session-timeout", &node.linker_session_timeout,
                 "how long the group waits for a silent linker before moving its partitions; a linker with "
                 "--linker-instance that restarts within it keeps them");
  flags.String("metrics-listen", &node.metrics_listen,
               "Prometheus endpoint host:port serving /metrics and /healthz; empty for none (port 0 picks one)");
  int64_t query_block_cache_mib = static_cast<int64_t>(node.query_block_cache_bytes >> 20);
  flags.Int("query-block-cache", &query_block_cache_mib,
            "MiB of RocksDB block cache for the query role's views; adds to its resident memory (docs/query.md)");
  flags.Bool("query-warm-cache", &node.query_warm_cache,
             "before serving, read the query role's patient and source views into that cache (up to 90 % of it), "
             "so a replica that starts is fast from its first request; false starts sooner");
  flags.Int("query-disk-read-threads", &node.query_disk_read_threads,
            "threads that answer query calls whose data is not in the block cache, so that a disk read never "
            "holds up gRPC's callback threads; 0 reads on those threads");
  flags.Duration("access-log-delay", &node.access_log_max_delay,
                 "longest time a read's access-log entry waits to be written in a batch; 0s writes it before the "
                 "read is answered (docs/security.md)");
  bool insecure_plaintext = false;
  flags.String("tls-cert", &node.tls.cert,
               "server certificate (PEM) for gRPC and the metrics endpoint; turns on mutual TLS (docs/security.md)");
  flags.String("tls-key", &node.tls.key, "private key (PEM) of --tls-cert");
  flags.String("tls-ca", &node.tls.ca, "CA bundle (PEM) that signs the client certificates");
  flags.String("policy", &node.policy_file,
               "policy file: certificate identity -> role (clinic, reader, steward, admin) and a clinic's facilities");
  flags.String("keys", &node.keys_file,
               "at-rest key file (hisbridge rekey --create, or certs): encrypts RocksDB values, keys blocking tokens; "
               "empty: unencrypted (development)");
  flags.Bool("insecure-plaintext", &insecure_plaintext,
             "serve without TLS or access control although Kafka is external: development only, warned loudly");
  flags.Bool("dry-run", &dry_run,
             "check the options, print them as a configuration file, and exit without starting");
  flags.CommandLineOnly("dry-run");
  std::string restore_from;
  flags.String("restore-from", &restore_from,
               "before starting, copy this backup (hisbridge backup --to) into --data-dir, which must hold no store "
               "yet; the linker then resumes from the inbox offsets stored in the backup");
  flags.CommandLineOnly("restore-from");
  kafka.Register(&flags, /*with_partitions=*/true);
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  absl::Status s = logging.Apply();
  auto parsed_roles = ParseRoles(roles);
  if (s.ok()) s = parsed_roles.status();
  if (s.ok()) s = kafka.Apply(&node.kafka, &node.topics);
  if (!s.ok()) {
    std::cerr << "hisbridge serve: " << s.message() << "\n";
    return 2;
  }
  if (query_block_cache_mib < 8 || query_block_cache_mib > (1 << 20)) {
    std::cerr << "hisbridge serve: --query-block-cache: must be between 8 and 1048576 MiB, got "
              << query_block_cache_mib << "\n";
    return 2;
  }
  if (node.query_disk_read_threads < 0 || node.query_disk_read_threads > 64) {
    std::cerr << "hisbridge serve: --query-disk-read-threads: must be between 0 and 64, got "
              << node.query_disk_read_threads << "\n";
    return 2;
  }
  if (node.access_log_max_delay < absl::ZeroDuration() || node.access_log_max_delay > absl::Seconds(1)) {
    std::cerr << "hisbridge serve: --access-log-delay: must be between 0s and 1s, got "
              << absl::FormatDuration(node.access_log_max_delay) << "\n";
    return 2;
  }
  node.query_block_cache_bytes = static_cast<size_t>(query_block_cache_mib) << 20;
  node.roles = *parsed_roles;
  node.data_dir = data_dir;
  node.listen = listen;
  node.inbox_partitions = kafka.inbox_partitions;
  node.views_partitions = kafka.views_partitions;
  node.embedded_broker = node.kafka.bootstrap.empty() && node.roles.size() == 3;
  if (s.ok()) s = CheckTransportSecurity(node, insecure_plaintext);
  if (!s.ok()) {
    std::cerr << "hisbridge serve: " << s.message() << "\n";
    return 2;
  }

  if (dry_run) {
    if (node.kafka.bootstrap.empty() && !node.embedded_broker) {
      s = absl::InvalidArgumentError("--roles without all three roles needs --kafka-bootstrap");
    }
    std::string host;
    int port = 0;
    if (s.ok() && !node.metrics_listen.empty()) {
      s = metrics::SplitHostPort(node.metrics_listen, &host, &port);
      if (!s.ok()) s = absl::InvalidArgumentError(absl::StrCat("--metrics-listen: ", s.message()));
    }
    if (s.ok()) {
      s = metrics::SplitHostPort(listen, &host, &port);
      if (!s.ok()) s = absl::InvalidArgumentError(absl::StrCat("--listen: ", s.message()));
    }
    if (!s.ok()) {
      std::cerr << "hisbridge serve: " << s.message() << "\n";
      return 2;
    }
    std::cout << "# hisbridge serve: the options are valid; they resolve to\n" << flags.EffectiveConfig();
    return 0;
  }

  if (!restore_from.empty()) {
    auto restored = RestoreBackup(restore_from, data_dir);
    if (!restored.ok()) {
      log::Error("cannot restore the backup", {{"error", restored.status()}});
      return 1;
    }
    log::Info("restored from backup", {{"backup", restore_from}, {"stores", absl::StrJoin(*restored, ",")}});
  }

  BlockShutdownSignals();
  Node server(node);
  s = server.Start();
  if (!s.ok()) {
    log::Error("cannot start", {{"error", s}});
    return 1;
  }
  log::Info("hisbridge serving", {{"grpc", server.grpc_address()}, {"kafka", server.kafka_bootstrap()}});
  if (!address_file.empty()) {
    s = WriteFileAtomically(address_file, server.grpc_address() + "\n");
    if (!s.ok()) log::Error("cannot write the address file", {{"error", s}});
  }
  const int signal = WaitForShutdownSignal();
  log::Info("shutting down", {{"signal", signal}});
  server.Stop();
  return 0;
}

}  // namespace hisbridge::cli
