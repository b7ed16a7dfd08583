#include "libs/kafka/rdkafka_util.h"

#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"

namespace hisbridge::kafka::internal {

absl::Status ToStatus(rd_kafka_resp_err_t err, absl::string_view context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  const std::string message = absl::StrCat(context, ": ", rd_kafka_err2str(err), " (", rd_kafka_err2name(err), ")");
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR__RESOLVE:
      return absl::UnavailableError(message);
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      return absl::DataLossError(message);
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return absl::NotFoundError(message);
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__INVALID_TYPE:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
      return absl::InvalidArgumentError(message);
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<int> PartitionCount(rd_kafka_t* rk, const std::string& topic, absl::Duration timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk, 0, rkt, &metadata, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ToStatus(err, absl::StrCat("metadata of ", topic));
  int count = -1;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  if (metadata->topic_cnt == 1) {
    topic_err = metadata->topics[0].err;
    count = metadata->topics[0].partition_cnt;
  }
  rd_kafka_metadata_destroy(metadata);
  if (topic_err == RD_KAFKA_RESP_ERR_NO_ERROR && count <= 0) topic_err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR) return ToStatus(topic_err, absl::StrCat("topic ", topic));
  return count;
}

namespace {
void OnLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const log::Level ours = level <= 3 ? log::Level::kWarning : level == 4 ? log::Level::kInfo : log::Level::kDebug;
  if (!log::Enabled(ours)) return;
  log::Write(ours, "librdkafka", {{"client", rd_kafka_name(rk)}, {"facility", facility}, {"message", message}});
}
}  // namespace

void RouteLogs(rd_kafka_conf_t* conf) { rd_kafka_conf_set_log_cb(conf, &OnLog); }

ConfBuilder::ConfBuilder() : conf_(rd_kafka_conf_new()) {}

ConfBuilder::~ConfBuilder() {
  if (conf_ != nullptr) rd_kafka_conf_destroy(conf_);
}

absl::Status ConfBuilder::Set(const std::string& key, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf_, key.c_str(), value.c_str(), errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    return absl::InvalidArgumentError(absl::StrCat("Kafka property ", key, "=", value, ": ", errstr));
  }
  return absl::OkStatus();
}

absl::Status ConfBuilder::ApplyCommon(const KafkaConfig& config) {
  for (const auto& [key, value] : config.properties) {
    absl::Status s = Set(key, value);
    if (!s.ok()) return s;
  }
  if (config.bootstrap.empty()) {
    return absl::InvalidArgumentError("no Kafka bootstrap servers given (--kafka-bootstrap host:port)");
  }
  absl::Status s = Set("bootstrap.servers", config.bootstrap);
  if (!s.ok()) return s;
  return Set("client.id", config.client_id);
}

}  // namespace hisbridge::kafka::internal
