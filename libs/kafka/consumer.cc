#include "libs/kafka/consumer.h"

#include <librdkafka/rdkafka.h>

#include <unistd.h>

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"
#include "libs/kafka/rdkafka_util.h"

namespace hisbridge::kafka {
namespace {

std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  out.reserve(list->cnt);
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  return out;
}

rd_kafka_topic_partition_list_t* ToList(const std::vector<TopicPartition>& partitions) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size()));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(list, tp.topic.c_str(), tp.partition)->offset = tp.offset;
  }
  return list;
}

}  // namespace

struct Consumer::Impl {
  rd_kafka_t* rk = nullptr;
  ConsumerOptions options;
  AssignmentListener* listener = nullptr;
  // First error raised inside a rebalance callback; returned by Poll.
  absl::Status pending_error;
  bool closed = false;

  ~Impl() {
    if (rk == nullptr) return;
    if (!closed) rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
                          void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      std::vector<TopicPartition> assigned = FromList(partitions);
      absl::Status s = self->listener != nullptr ? self->listener->OnAssigned(&assigned) : absl::OkStatus();
      if (!s.ok()) {
        if (self->pending_error.ok()) self->pending_error = s;
        rd_kafka_assign(rk, nullptr);
        return;
      }
      rd_kafka_topic_partition_list_t* with_offsets = ToList(assigned);
      rd_kafka_assign(rk, with_offsets);
      rd_kafka_topic_partition_list_destroy(with_offsets);
      log::Info("partitions assigned", {{"count", static_cast<int64_t>(assigned.size())}});
    } else {
      if (self->listener != nullptr) self->listener->OnRevoked(FromList(partitions));
      rd_kafka_assign(rk, nullptr);
      if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        log::Info("partitions revoked", {{"count", partitions != nullptr ? partitions->cnt : 0}});
      } else {
        log::Warning("rebalance error", {{"error", rd_kafka_err2str(err)}});
      }
    }
  }
};

Consumer::Consumer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Consumer::~Consumer() = default;

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(const KafkaConfig& config,
                                                           const ConsumerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  internal::ConfBuilder conf;
  absl::Status s = conf.ApplyCommon(config);
  std::vector<std::pair<std::string, std::string>> settings = {
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "error"},
      {"enable.partition.eof", options.report_end_of_partition ? "true" : "false"},
      {"session.timeout.ms", std::to_string(absl::ToInt64Milliseconds(options.session_timeout))},
      {"heartbeat.interval.ms", std::to_string(std::max<int64_t>(100, absl::ToInt64Milliseconds(options.session_timeout) / 4))},
      // The cooperative assignor is unreliable on the development broker;
      // the eager one is correct everywhere.
      {"partition.assignment.strategy", "range,roundrobin"},
      {"fetch.wait.max.ms", "100"},
      // A fetch loop that does not hog memory on a small pod.
      {"queued.max.messages.kbytes", "65536"},
  };
  // librdkafka needs a group handle even for manual assignment; a private
  // id that is never joined or committed to serves.
  settings.push_back({"group.id", !options.group_id.empty()
                                      ? options.group_id
                                      : absl::StrCat("hisbridge-manual-", getpid(), "-",
                                                     reinterpret_cast<uintptr_t>(impl.get()))});
  if (!options.group_instance_id.empty()) settings.push_back({"group.instance.id", options.group_instance_id});
  for (const auto& [key, value] : settings) {
    if (!s.ok()) break;
    s = conf.Set(key, value);
  }
  if (!s.ok()) return s;
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Impl::OnRebalance);
  internal::RouteLogs(conf.get());
  rd_kafka_conf_set_opaque(conf.get(), impl.get());
  char errstr[512];
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof(errstr));
  if (impl->rk == nullptr) return absl::InvalidArgumentError(absl::StrCat("cannot create Kafka consumer: ", errstr));
  conf.release();
  // Route the main queue (errors, rebalances) to the consumer queue so one
  // Poll() serves everything.
  rd_kafka_poll_set_consumer(impl->rk);
  return std::unique_ptr<Consumer>(new Consumer(std::move(impl)));
}

absl::Status Consumer::Subscribe(const std::vector<std::string>& topics, AssignmentListener* listener) {
  if (impl_->options.group_id.empty()) {
    return absl::FailedPreconditionError("Subscribe needs a consumer group id");
  }
  impl_->listener = listener;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
  for (const std::string& t : topics) rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
  const rd_kafka_resp_err_t err = rd_kafka_subscribe(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  return internal::ToStatus(err, "subscribe");
}

absl::Status Consumer::Assign(const std::vector<TopicPartition>& partitions) {
  rd_kafka_topic_partition_list_t* list = ToList(partitions);
  const rd_kafka_resp_err_t err = rd_kafka_assign(impl_->rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  return internal::ToStatus(err, "assign");
}

absl::Status Consumer::Poll(absl::Duration timeout, PollResult* result) {
  result->messages.clear();
  result->reached_end.clear();
  int wait_ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  while (static_cast<int>(result->messages.size()) < impl_->options.max_poll_messages) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(impl_->rk, wait_ms);
    if (!impl_->pending_error.ok()) {
      if (msg != nullptr) rd_kafka_message_destroy(msg);
      absl::Status s = impl_->pending_error;
      impl_->pending_error = absl::OkStatus();
      return s;
    }
    if (msg == nullptr) break;
    wait_ms = 0;  // drain what is already buffered, then return
    if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      result->reached_end.push_back({msg->rkt ? rd_kafka_topic_name(msg->rkt) : "", msg->partition, msg->offset});
      rd_kafka_message_destroy(msg);
      continue;
    }
    if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const std::string where = msg->rkt ? absl::StrCat(rd_kafka_topic_name(msg->rkt), "[", msg->partition, "]") : "consumer";
      const rd_kafka_resp_err_t err = msg->err;
      std::string detail = msg->payload ? std::string(static_cast<const char*>(msg->payload), msg->len) : "";
      rd_kafka_message_destroy(msg);
      if (err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE) {
        return absl::DataLossError(absl::StrCat(
            where, ": the next offset to consume no longer exists on the broker (deleted by retention before it "
                   "was consumed?): ",
            detail));
      }
      if (err == RD_KAFKA_RESP_ERR__FATAL) {
        return internal::ToStatus(err, absl::StrCat(where, ": ", detail));
      }
      log::Debug("transient consumer error", {{"where", where}, {"error", rd_kafka_err2str(err)}});
      continue;
    }
    Message m;
    m.topic = rd_kafka_topic_name(msg->rkt);
    m.partition = msg->partition;
    m.offset = msg->offset;
    if (msg->key != nullptr) m.key.assign(static_cast<const char*>(msg->key), msg->key_len);
    m.tombstone = msg->payload == nullptr;
    if (msg->payload != nullptr) m.value.assign(static_cast<const char*>(msg->payload), msg->len);
    rd_kafka_timestamp_type_t ts_type;
    const int64_t ts = rd_kafka_message_timestamp(msg, &ts_type);
    m.timestamp = ts >= 0 ? absl::FromUnixMillis(ts) : absl::UnixEpoch();
    rd_kafka_message_destroy(msg);
    result->messages.push_back(std::move(m));
  }
  return absl::OkStatus();
}

void Consumer::CommitAsync(const std::vector<TopicPartition>& next_offsets) {
  if (impl_->options.group_id.empty() || next_offsets.empty()) return;
  rd_kafka_topic_partition_list_t* list = ToList(next_offsets);
  rd_kafka_commit(impl_->rk, list, /*async=*/1);
  rd_kafka_topic_partition_list_destroy(list);
}

std::vector<TopicPartition> Consumer::Assignment() const {
  rd_kafka_topic_partition_list_t* list = nullptr;
  if (rd_kafka_assignment(impl_->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR) return {};
  std::vector<TopicPartition> out = FromList(list);
  rd_kafka_topic_partition_list_destroy(list);
  return out;
}

absl::Status Consumer::QueryWatermarks(const std::string& topic, int32_t partition, absl::Duration timeout,
                                       int64_t* low, int64_t* high) {
  return internal::ToStatus(
      rd_kafka_query_watermark_offsets(impl_->rk, topic.c_str(), partition, low, high,
                                       static_cast<int>(absl::ToInt64Milliseconds(timeout))),
      absl::StrCat("watermarks of ", topic, "[", partition, "]"));
}

absl::StatusOr<int> Consumer::PartitionCount(const std::string& topic, absl::Duration timeout) {
  return internal::PartitionCount(impl_->rk, topic, timeout);
}

void Consumer::Close() {
  if (impl_->closed) return;
  impl_->closed = true;
  rd_kafka_consumer_close(impl_->rk);
}

}  // namespace hisbridge::kafka
