// An idempotent Kafka producer that tells the caller when a message is
// durable.
//
// Every producer is idempotent with acks=all: the broker de-duplicates
// retries, and a delivery callback with an OK status means the message is
// on every in-sync replica at the reported offset. Messages with the same
// key go to the same partition (murmur2, as the Java client does), and
// messages to one partition keep their order.
//
// Delivery callbacks run on the producer's own delivery thread: keep them
// short and never block in them. Produce() may be called from any thread.
// Destruction flushes pending messages for up to the flush timeout, then
// fails the rest with UNAVAILABLE, so every callback runs exactly once.
#ifndef HISBRIDGE_LIBS_KAFKA_PRODUCER_H_
#define HISBRIDGE_LIBS_KAFKA_PRODUCER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/kafka/kafka_config.h"

namespace hisbridge::kafka {

struct Delivery {
  absl::Status status;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

using DeliveryCallback = std::function<void(const Delivery&)>;

struct ProducerOptions {
  // How long librdkafka keeps retrying a message before failing it.
  absl::Duration delivery_timeout = absl::Seconds(30);
  // Batching delay: a little latency for much higher throughput.
  absl::Duration linger = absl::Milliseconds(2);
  // "lz4", "zstd", "snappy", "gzip" or "none".
  std::string compression = "lz4";
  // When the local queue is full, Produce() waits for room instead of
  // failing with RESOURCE_EXHAUSTED. Never set this for producers used on
  // gRPC reactor threads.
  bool block_when_full = false;
  // Upper bound on messages buffered locally.
  int queue_max_messages = 500000;
};

class Producer {
 public:
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const KafkaConfig& config,
                                                          const ProducerOptions& options = {});
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Use the key's partition (murmur2 of the key).
  static constexpr int32_t kAnyPartition = -1;

  // Queues one message. `done` runs exactly once: after the broker confirmed
  // or definitively failed it, or at once (on the caller's thread) when the
  // message could not even be queued. `timestamp` of InfinitePast means now.
  void Produce(const std::string& topic, absl::string_view key, absl::string_view value,
               DeliveryCallback done, int32_t partition = kAnyPartition,
               absl::Time timestamp = absl::InfinitePast());

  // Waits until every queued message has been delivered or failed.
  absl::Status Flush(absl::Duration timeout);

  // Messages queued and not yet confirmed.
  int InFlight() const;

  // Number of partitions of `topic` (from broker metadata).
  absl::StatusOr<int> PartitionCount(const std::string& topic, absl::Duration timeout);

  // Non-OK once the producer hit a fatal error (e.g. an idempotence
  // violation); it then fails every message and must be recreated.
  absl::Status Health() const;

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hisbridge::kafka

#endif  // HISBRIDGE_LIBS_KAFKA_PRODUCER_H_
