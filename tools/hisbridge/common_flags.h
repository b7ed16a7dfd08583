// Flags shared by several subcommands (Kafka connection, topic layout,
// logging) and small helpers for command implementations.
#ifndef HISBRIDGE_TOOLS_HISBRIDGE_COMMON_FLAGS_H_
#define HISBRIDGE_TOOLS_HISBRIDGE_COMMON_FLAGS_H_

#include <string>
#include <vector>

#include <grpcpp/security/credentials.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/base/flags.h"
#include "libs/security/tls.h"
#include "libs/kafka/kafka_config.h"

namespace hisbridge::cli {

struct KafkaFlags {
  std::string bootstrap;
  std::vector<std::string> properties;
  std::string topic_prefix = "hisbridge.";
  int inbox_partitions = 4;
  int views_partitions = 4;

  void Register(FlagSet* flags, bool with_partitions);
  absl::Status Apply(kafka::KafkaConfig* config, kafka::TopicNames* topics) const;
};

// Client side of TLS to a hisbridge server (load, connectors, demo):
// --tls-ca verifies the server; --tls-cert/--tls-key are this client's
// certificate (its identity in the server's policy). None given: plaintext.
struct ClientTlsFlags {
  security::TlsFiles files;
  // `prefix` goes before the flag names ("ingest-" gives --ingest-tls-ca).
  void Register(FlagSet* flags, const std::string& prefix = "");
  bool enabled() const { return !files.empty(); }
  // Plaintext credentials when no flag is given.
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials() const;
};

struct LogFlags {
  std::string level = "info";
  std::string format = "text";
  void Register(FlagSet* flags);
  absl::Status Apply() const;
};

// Parses flags; on --help prints usage and returns 0 via *exit_code; on a
// usage error prints it and returns 2. Returns true when the command
// should proceed.
bool ParseOrExit(FlagSet* flags, int argc, char** argv, int* exit_code);

// Blocks SIGINT and SIGTERM in this thread and all threads it starts
// afterwards; WaitForShutdownSignal() then returns on either.
void BlockShutdownSignals();
int WaitForShutdownSignal();

// Where the repository's samples live (for defaults like the demo county).
std::string SamplesDirectory();

}  // namespace hisbridge::cli

#endif  // HISBRIDGE_TOOLS_HISBRIDGE_COMMON_FLAGS_H_
