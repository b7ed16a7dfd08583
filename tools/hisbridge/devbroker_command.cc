// hisbridge devbroker: the development Kafka broker as its own process.
#include <iostream>

#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/kafka/dev_broker.h"
#include "tools/hisbridge/commands.h"
#include "tools/hisbridge/common_flags.h"

namespace hisbridge::cli {

int DevBrokerCommand(int argc, char** argv) {
  std::string bootstrap_file;
  int brokers = 1;
  KafkaFlags kafka;
  LogFlags logging;
  FlagSet flags("devbroker",
                "Run librdkafka's mock cluster as a development Kafka broker on loopback. It speaks the real Kafka "
                "protocol (kcat and any librdkafka client can use it) but keeps only about 5 MiB per partition and "
                "nothing across restarts. Stop it with Ctrl-C.");
  flags.String("bootstrap-file", &bootstrap_file, "write the bootstrap address (host:port) to this file");
  flags.Int("brokers", &brokers, "number of mock brokers");
  kafka.Register(&flags, /*with_partitions=*/true);
  logging.Register(&flags);
  int exit_code = 0;
  if (!ParseOrExit(&flags, argc, argv, &exit_code)) return exit_code;
  kafka::KafkaConfig config;
  kafka::TopicNames topics;
  absl::Status s = logging.Apply();
  if (s.ok()) s = kafka.Apply(&config, &topics);
  if (!s.ok()) {
    std::cerr << "hisbridge devbroker: " << s.message() << "\n";
    return 2;
  }
  BlockShutdownSignals();
  auto broker = kafka::DevBroker::Start({{topics.inbox, kafka.inbox_partitions},
                                         {topics.views, kafka.views_partitions},
                                         {topics.changes, 1},
                                         {topics.rejects, 1}},
                                        brokers);
  if (!broker.ok()) {
    log::Error("cannot start the development broker", {{"error", broker.status()}});
    return 1;
  }
  if (!bootstrap_file.empty()) {
    s = WriteFileAtomically(bootstrap_file, (*broker)->bootstrap() + "\n");
    if (!s.ok()) {
      log::Error("cannot write the bootstrap file", {{"error", s}});
      return 1;
    }
  }
  std::cout << (*broker)->bootstrap() << std::endl;
  log::Info("development broker running", {{"bootstrap", (*broker)->bootstrap()},
                                           {"inbox", topics.inbox},
                                           {"inbox_partitions", kafka.inbox_partitions}});
  WaitForShutdownSignal();
  return 0;
}

}  // namespace hisbridge::cli
