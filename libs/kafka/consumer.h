// A Kafka consumer whose positions are owned by the application.
//
// hisbridge never lets Kafka decide where a consumer starts: the linker and
// the query replicas store their consumed offsets in RocksDB together with
// the state those messages produced (exactly-once effect without Kafka
// transactions). So:
//   - in group mode (Subscribe), every assignment asks the
//     AssignmentListener for the start offset of each partition;
//   - in manual mode (Assign), the caller gives the offsets directly.
// auto.offset.reset is "error": if a stored offset no longer exists (the
// broker deleted it by retention before it was consumed), Poll() returns
// DATA_LOSS instead of silently skipping data. Automatic offset commits
// are off; Commit() records progress in Kafka for lag monitoring only.
//
// Thread safety: a Consumer must be used from one thread (the one calling
// Poll); listener callbacks run on that thread, inside Poll.
#ifndef HISBRIDGE_LIBS_KAFKA_CONSUMER_H_
#define HISBRIDGE_LIBS_KAFKA_CONSUMER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/kafka/kafka_config.h"

namespace hisbridge::kafka {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  // Next offset to read; kBeginning / kEnd are librdkafka's logical offsets.
  int64_t offset = 0;

  static constexpr int64_t kBeginning = -2;
  static constexpr int64_t kEnd = -1;
};

struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  // Broker or producer time of the message.
  absl::Time timestamp;
  // A null value (a tombstone on a compacted topic).
  bool tombstone = false;
};

class AssignmentListener {
 public:
  virtual ~AssignmentListener() = default;
  // Partitions were assigned; set each one's `offset` to where consumption
  // must start. Returning an error stops the consumer (Poll returns it).
  virtual absl::Status OnAssigned(std::vector<TopicPartition>* partitions) = 0;
  // Partitions are being taken away; persist anything pending for them now.
  virtual void OnRevoked(const std::vector<TopicPartition>& partitions) = 0;
};

struct ConsumerOptions {
  // Empty for manual assignment only.
  std::string group_id;
  // Static group membership (group.instance.id): a restarted member gets
  // its partitions back without a rebalance. Empty for dynamic membership.
  std::string group_instance_id;
  absl::Duration session_timeout = absl::Seconds(10);
  // Report end-of-partition in PollResult::reached_end.
  bool report_end_of_partition = true;
  int max_poll_messages = 1000;
};

struct PollResult {
  std::vector<Message> messages;
  // Partitions whose end was reached during this poll.
  std::vector<TopicPartition> reached_end;
};

class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(const KafkaConfig& config,
                                                          const ConsumerOptions& options);
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Group mode. `listener` must outlive the consumer.
  absl::Status Subscribe(const std::vector<std::string>& topics, AssignmentListener* listener);
  // Manual mode: replaces the assignment.
  absl::Status Assign(const std::vector<TopicPartition>& partitions);

  // Waits up to `timeout` for messages, then returns what is there (at most
  // max_poll_messages). Errors: DATA_LOSS for vanished offsets, the
  // listener's error, or a fatal consumer error. Transient broker trouble
  // is retried internally and not returned.
  absl::Status Poll(absl::Duration timeout, PollResult* result);

  // Records consumed positions in Kafka (for lag dashboards only).
  void CommitAsync(const std::vector<TopicPartition>& next_offsets);

  // Current assignment.
  std::vector<TopicPartition> Assignment() const;

  // Low and high watermark offsets of a partition (from the broker).
  absl::Status QueryWatermarks(const std::string& topic, int32_t partition, absl::Duration timeout,
                               int64_t* low, int64_t* high);
  absl::StatusOr<int> PartitionCount(const std::string& topic, absl::Duration timeout);

  // Leaves the group cleanly (revoking partitions through the listener).
  void Close();

 private:
  struct Impl;
  explicit Consumer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hisbridge::kafka

#endif  // HISBRIDGE_LIBS_KAFKA_CONSUMER_H_
