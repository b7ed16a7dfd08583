// Internal to libs/kafka: the one place librdkafka errors become
// absl::Status, and shared configuration plumbing. Not a public header.
#ifndef HISBRIDGE_LIBS_KAFKA_RDKAFKA_UTIL_H_
#define HISBRIDGE_LIBS_KAFKA_RDKAFKA_UTIL_H_

#include <librdkafka/rdkafka.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/strings/string_view.h"
#include "libs/kafka/kafka_config.h"

namespace hisbridge::kafka::internal {

// Maps a librdkafka error to the canonical code a caller can act on:
// UNAVAILABLE for transient broker/network trouble (retry), DATA_LOSS for
// offsets that no longer exist, INVALID_ARGUMENT for bad configuration,
// NOT_FOUND for unknown topics, INTERNAL otherwise.
absl::Status ToStatus(rd_kafka_resp_err_t err, absl::string_view context);

// Number of partitions of `topic` as the brokers report it.
absl::StatusOr<int> PartitionCount(rd_kafka_t* rk, const std::string& topic, absl::Duration timeout);

// Sends librdkafka's own log lines to hisbridge's structured log: syslog
// levels 0-3 as warnings (they are usually transient connection trouble
// that librdkafka retries), 4 as info, 5-7 as debug.
void RouteLogs(rd_kafka_conf_t* conf);

// Owns an rd_kafka_conf_t until handed to rd_kafka_new().
class ConfBuilder {
 public:
  ConfBuilder();
  ~ConfBuilder();
  ConfBuilder(const ConfBuilder&) = delete;
  ConfBuilder& operator=(const ConfBuilder&) = delete;

  absl::Status Set(const std::string& key, const std::string& value);
  // Applies bootstrap, client id and pass-through properties; then the
  // caller's own Set() calls win over pass-through ones.
  absl::Status ApplyCommon(const KafkaConfig& config);
  rd_kafka_conf_t* get() { return conf_; }
  // Gives up ownership (rd_kafka_new() took it).
  rd_kafka_conf_t* release() {
    rd_kafka_conf_t* c = conf_;
    conf_ = nullptr;
    return c;
  }

 private:
  rd_kafka_conf_t* conf_;
};

}  // namespace hisbridge::kafka::internal

#endif  // HISBRIDGE_LIBS_KAFKA_RDKAFKA_UTIL_H_
