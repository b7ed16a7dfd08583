#include "libs/kafka/dev_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/kafka/rdkafka_util.h"

namespace hisbridge::kafka {

struct DevBroker::Impl {
  // The mock cluster lives inside an rd_kafka_t handle that does nothing
  // else; destroying the handle stops the cluster.
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  int brokers = 1;

  ~Impl() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (rk != nullptr) rd_kafka_destroy(rk);
  }
};

DevBroker::DevBroker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DevBroker::~DevBroker() = default;

absl::StatusOr<std::unique_ptr<DevBroker>> DevBroker::Start(const std::vector<TopicSpec>& topics, int brokers) {
  auto impl = std::make_unique<Impl>();
  impl->brokers = brokers;
  internal::ConfBuilder conf;
  // The host handle never connects anywhere; silence its logging.
  absl::Status s = conf.Set("log_level", "3");
  if (!s.ok()) return s;
  char errstr[512];
  impl->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
  if (impl->rk == nullptr) return absl::InternalError(absl::StrCat("cannot start development broker: ", errstr));
  conf.release();
  impl->cluster = rd_kafka_mock_cluster_new(impl->rk, brokers);
  if (impl->cluster == nullptr) return absl::InternalError("cannot start the librdkafka mock cluster");
  auto broker = std::unique_ptr<DevBroker>(new DevBroker(std::move(impl)));
  broker->bootstrap_ = rd_kafka_mock_cluster_bootstraps(broker->impl_->cluster);
  for (const TopicSpec& topic : topics) {
    s = broker->CreateTopic(topic);
    if (!s.ok()) return s;
  }
  return broker;
}

absl::Status DevBroker::CreateTopic(const TopicSpec& topic) {
  if (topic.partitions < 1) {
    return absl::InvalidArgumentError(absl::StrCat("topic ", topic.name, " needs at least one partition"));
  }
  return internal::ToStatus(
      rd_kafka_mock_topic_create(impl_->cluster, topic.name.c_str(), topic.partitions, /*replication_factor=*/1),
      absl::StrCat("create topic ", topic.name));
}

absl::Status DevBroker::SetBrokersDown() {
  for (int id = 1; id <= impl_->brokers; ++id) {
    absl::Status s = internal::ToStatus(rd_kafka_mock_broker_set_down(impl_->cluster, id), "broker down");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status DevBroker::SetBrokersUp() {
  for (int id = 1; id <= impl_->brokers; ++id) {
    absl::Status s = internal::ToStatus(rd_kafka_mock_broker_set_up(impl_->cluster, id), "broker up");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace hisbridge::kafka
