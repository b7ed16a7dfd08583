// The development broker: librdkafka's mock cluster, a real Kafka protocol
// endpoint on loopback ports, for development machines and tests where no
// Kafka can be installed.
//
// Limits (librdkafka 2.0.2, see docs/architecture.md): each partition keeps
// only about 5 MiB (older batches vanish silently, so consumers must detect
// offset gaps); no admin API, so topics are created here; listener ports
// are random, so the bootstrap list can be written to a file; no
// transaction isolation; no log compaction.
//
// Thread safety: CreateTopic, SetBrokerDown/Up may be called from any
// thread. The broker runs on librdkafka's own threads until destroyed.
#ifndef HISBRIDGE_LIBS_KAFKA_DEV_BROKER_H_
#define HISBRIDGE_LIBS_KAFKA_DEV_BROKER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace hisbridge::kafka {

struct TopicSpec {
  std::string name;
  int partitions = 1;
};

class DevBroker {
 public:
  // Starts a cluster of `brokers` brokers and creates `topics`.
  static absl::StatusOr<std::unique_ptr<DevBroker>> Start(const std::vector<TopicSpec>& topics,
                                                          int brokers = 1);
  ~DevBroker();
  DevBroker(const DevBroker&) = delete;
  DevBroker& operator=(const DevBroker&) = delete;

  // "127.0.0.1:port,..." for --kafka-bootstrap.
  const std::string& bootstrap() const { return bootstrap_; }

  absl::Status CreateTopic(const TopicSpec& topic);

  // Simulates a broker outage (connections refused) and its return.
  absl::Status SetBrokersDown();
  absl::Status SetBrokersUp();

 private:
  struct Impl;
  explicit DevBroker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
};

}  // namespace hisbridge::kafka

#endif  // HISBRIDGE_LIBS_KAFKA_DEV_BROKER_H_
