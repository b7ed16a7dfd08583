#include "tools/hisbridge/common_flags.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "libs/base/file_util.h"
#include "libs/base/logging.h"

namespace hisbridge::cli {

void KafkaFlags::Register(FlagSet* flags, bool with_partitions) {
  flags->String("kafka-bootstrap", &bootstrap, "Kafka bootstrap servers host:port[,host:port]");
  flags->StringList("kafka-property", &properties,
                    "extra librdkafka property key=value, repeatable (e.g. security.protocol=SSL)");
  flags->String("topic-prefix", &topic_prefix, "prefix of the inbox, rejects, views and changes topics");
  if (with_partitions) {
    flags->Int("inbox-partitions", &inbox_partitions, "inbox partitions created on the development broker");
    flags->Int("views-partitions", &views_partitions, "views partitions created on the development broker");
  }
}

absl::Status KafkaFlags::Apply(kafka::KafkaConfig* config, kafka::TopicNames* topics) const {
  config->bootstrap = bootstrap;
  absl::Status s = config->AddProperties(properties);
  if (!s.ok()) return s;
  *topics = kafka::TopicNames::WithPrefix(topic_prefix);
  if (inbox_partitions < 1 || views_partitions < 1) {
    return absl::InvalidArgumentError("--inbox-partitions and --views-partitions must be at least 1");
  }
  return absl::OkStatus();
}

void ClientTlsFlags::Register(FlagSet* flags, const std::string& prefix) {
  files.ca_flag = "--" + prefix + "tls-ca";
  files.cert_flag = "--" + prefix + "tls-cert";
  files.key_flag = "--" + prefix + "tls-key";
  flags->String(prefix + "tls-ca", &files.ca, "CA bundle (PEM) that verifies the server; turns on TLS");
  flags->String(prefix + "tls-cert", &files.cert,
                "this client's certificate (PEM): its identity in the server's policy");
  flags->String(prefix + "tls-key", &files.key, "private key (PEM) of the client certificate");
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ClientTlsFlags::Credentials() const {
  if (!enabled()) return grpc::InsecureChannelCredentials();
  return security::GrpcClientCredentials(files);
}

void LogFlags::Register(FlagSet* flags) {
  flags->String("log-level", &level, "debug, info, warning or error");
  flags->String("log-format", &format, "text (for terminals) or json (for log collectors)");
}

absl::Status LogFlags::Apply() const {
  absl::Status s = log::SetLevelByName(level);
  if (!s.ok()) return s;
  return log::SetFormatByName(format);
}

bool ParseOrExit(FlagSet* flags, int argc, char** argv, int* exit_code) {
  absl::Status s = flags->Parse(argc, argv);
  if (!s.ok()) {
    std::cerr << "hisbridge: " << s.message() << "\n";
    *exit_code = 2;
    return false;
  }
  if (flags->help_requested()) {
    std::cout << flags->Usage();
    *exit_code = 0;
    return false;
  }
  return true;
}

namespace {
sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set = ShutdownSignals();
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

std::string SamplesDirectory() {
  if (const char* env = std::getenv("HISBRIDGE_SAMPLES")) return env;
  if (PathExists("samples/county-small.jsonl")) return "samples";
  return HISBRIDGE_SOURCE_DIR "/samples";
}

}  // namespace hisbridge::cli
