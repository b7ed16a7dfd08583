// hisbridge serve: runs roles as a long-lived service until SIGINT/SIGTERM.
#include <iostream>

#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "services/node/node.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {

int ServeCommand(int argc, char** argv) {
  std::vector<std::string> roles = {"all"};
  std::string data_dir = "/var/lib/hisbridge";
  std::string listen = "0.0.0.0:7070";
  std::string address_file;
  NodeOptions node;
  KafkaFlags kafka;
  LogFlags logging;
  FlagSet flags("serve", "Run roles as a service. With --roles=all and no --kafka-bootstrap, the development broker "
                         "runs embedded (single-machine default; data in memory).");
  flags.StringList("roles", &roles, "roles to run: ingest, linker, query, or all");
  flags.String("data-dir", &data_dir, "directory for the linker and query RocksDB data");
  flags.String("listen", &listen, "gRPC listen address host:port (port 0 picks a free one)");
  flags.String("address-file", &address_file, "write the bound gRPC address to this file once serving");
  flags.String("facilities", &node.facilities_file, "facility directory CSV (facility_id,name,region,tier)");
  flags.String("default-region", &node.default_region,
               "region (county code) of facilities neither listed nor named after their county");
  flags.String("matcher", &node.matcher, "record matcher: id-exact");
  flags.String("linker-group", &node.linker_group, "Kafka consumer group of the linkers");
  flags.String("linker-instance", &node.linker_instance,
               "static group member id (e.g. the StatefulSet pod name); empty for dynamic membership");
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
  node.roles = *parsed_roles;
  node.data_dir = data_dir;
  node.listen = listen;
  node.inbox_partitions = kafka.inbox_partitions;
  node.views_partitions = kafka.views_partitions;
  node.embedded_broker = node.kafka.bootstrap.empty() && node.roles.size() == 3;

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
