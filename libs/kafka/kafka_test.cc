// Producer, consumer and development broker working together over the real
// Kafka protocol on loopback.
#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/dev_broker.h"
#include "libs/kafka/producer.h"
#include "libs/kafka/watermark_monitor.h"

namespace hisbridge::kafka {
namespace {

std::string UniqueGroup(absl::string_view base) {
  static std::atomic<int> counter{0};
  return absl::StrCat(base, "-", getpid(), "-", counter++);
}

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = DevBroker::Start({{"events", 3}, {"small", 1}});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    config_.bootstrap = broker_->bootstrap();
  }

  // Produces `count` messages and waits for all confirmations.
  std::vector<Delivery> ProduceAll(Producer* producer, const std::string& topic, int count,
                                   const std::string& key_prefix, size_t value_bytes = 10) {
    std::mutex mu;
    std::vector<Delivery> deliveries;
    absl::Notification all_done;
    std::atomic<int> remaining{count};
    for (int i = 0; i < count; ++i) {
      std::string value = absl::StrCat("v", i);
      value.resize(std::max(value.size(), value_bytes), '.');
      producer->Produce(topic, absl::StrCat(key_prefix, i % 5), value, [&](const Delivery& d) {
        {
          std::lock_guard<std::mutex> lock(mu);
          deliveries.push_back(d);
        }
        if (--remaining == 0) all_done.Notify();
      });
    }
    EXPECT_TRUE(all_done.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return deliveries;
  }

  std::unique_ptr<DevBroker> broker_;
  KafkaConfig config_;
};

TEST_F(KafkaTest, ProduceConfirmsThenManualConsumeReadsInOrder) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto deliveries = ProduceAll(producer->get(), "events", 300, "region-");
  ASSERT_EQ(deliveries.size(), 300u);
  std::map<int32_t, std::vector<int64_t>> offsets_by_partition;
  for (const Delivery& d : deliveries) {
    ASSERT_TRUE(d.status.ok()) << d.status;
    offsets_by_partition[d.partition].push_back(d.offset);
  }
  EXPECT_EQ((*producer)->PartitionCount("events", absl::Seconds(5)).value_or(-1), 3);

  auto consumer = Consumer::Create(config_, ConsumerOptions{});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE((*consumer)->Assign({{"events", 0, 0}, {"events", 1, 0}, {"events", 2, 0}}).ok());
  std::map<int32_t, std::vector<int64_t>> consumed;
  std::map<std::string, int32_t> partition_of_key;
  int total = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (total < 300 && absl::Now() < deadline) {
    PollResult result;
    ASSERT_TRUE((*consumer)->Poll(absl::Milliseconds(200), &result).ok());
    for (const Message& m : result.messages) {
      consumed[m.partition].push_back(m.offset);
      // The same key always lands in the same partition.
      auto [it, inserted] = partition_of_key.emplace(m.key, m.partition);
      EXPECT_EQ(it->second, m.partition) << m.key;
      ++total;
    }
  }
  EXPECT_EQ(total, 300);
  for (auto& [partition, offsets] : consumed) {
    for (size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(offsets[i], static_cast<int64_t>(i));
  }
}

class RecordingListener : public AssignmentListener {
 public:
  explicit RecordingListener(int64_t start) : start_(start) {}
  absl::Status OnAssigned(std::vector<TopicPartition>* partitions) override {
    for (TopicPartition& tp : *partitions) tp.offset = start_;
    assigned += static_cast<int>(partitions->size());
    return absl::OkStatus();
  }
  void OnRevoked(const std::vector<TopicPartition>& partitions) override {
    revoked += static_cast<int>(partitions.size());
  }
  int assigned = 0;
  int revoked = 0;

 private:
  int64_t start_;
};

TEST_F(KafkaTest, GroupConsumerStartsWhereTheListenerSays) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok());
  ProduceAll(producer->get(), "small", 20, "k");
  ConsumerOptions options;
  options.group_id = UniqueGroup("group-start");
  options.session_timeout = absl::Seconds(6);
  auto consumer = Consumer::Create(config_, options);
  ASSERT_TRUE(consumer.ok());
  RecordingListener listener(/*start=*/15);
  ASSERT_TRUE((*consumer)->Subscribe({"small"}, &listener).ok());
  std::vector<int64_t> offsets;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (offsets.size() < 5 && absl::Now() < deadline) {
    PollResult result;
    ASSERT_TRUE((*consumer)->Poll(absl::Milliseconds(200), &result).ok());
    for (const Message& m : result.messages) offsets.push_back(m.offset);
  }
  EXPECT_THAT(offsets, ::testing::ElementsAre(15, 16, 17, 18, 19));
  EXPECT_EQ(listener.assigned, 1);
  (*consumer)->Close();
  EXPECT_EQ(listener.revoked, 1);
}

// The development broker keeps about 5 MiB per partition. A consumer whose
// stored position was deleted must get DATA_LOSS, never a silent skip.
TEST_F(KafkaTest, VanishedOffsetIsDataLossNotASkip) {
  ProducerOptions options;
  options.compression = "none";
  auto producer = Producer::Create(config_, options);
  ASSERT_TRUE(producer.ok());
  auto deliveries = ProduceAll(producer->get(), "small", 800, "k", /*value_bytes=*/10000);  // ~8 MB
  for (const Delivery& d : deliveries) ASSERT_TRUE(d.status.ok()) << d.status;
  auto consumer = Consumer::Create(config_, ConsumerOptions{});
  ASSERT_TRUE(consumer.ok());
  int64_t low = -1, high = -1;
  ASSERT_TRUE((*consumer)->QueryWatermarks("small", 0, absl::Seconds(5), &low, &high).ok());
  ASSERT_GT(low, 0) << "the broker should have dropped the oldest batches";
  EXPECT_EQ(high, 800);
  auto assigned = (*consumer)->Assign({{"small", 0, 0}});
  ASSERT_TRUE(assigned.ok()) << assigned;
  absl::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (status.ok() && absl::Now() < deadline) {
    PollResult result;
    status = (*consumer)->Poll(absl::Milliseconds(200), &result);
    ASSERT_TRUE(result.messages.empty()) << "consumed from offset " << result.messages[0].offset;
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
}

TEST_F(KafkaTest, ProducerRidesOutABrokerOutage) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok());
  ASSERT_TRUE(broker_->SetBrokersDown().ok());
  absl::Notification delivered;
  Delivery result;
  (*producer)->Produce("small", "k", "during outage", [&](const Delivery& d) {
    result = d;
    delivered.Notify();
  });
  EXPECT_FALSE(delivered.WaitForNotificationWithTimeout(absl::Seconds(1)));
  ASSERT_TRUE(broker_->SetBrokersUp().ok());
  ASSERT_TRUE(delivered.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.offset, 0);
}

TEST_F(KafkaTest, WatermarkMonitorReportsEveryPartition) {
  auto producer = Producer::Create(config_);
  ASSERT_TRUE(producer.ok()) << producer.status();
  auto deliveries = ProduceAll(producer->get(), "events", 40, "county-");
  std::map<int32_t, int64_t> expected_high;
  for (const Delivery& d : deliveries) expected_high[d.partition] = std::max(expected_high[d.partition], d.offset + 1);

  // A long interval: the test drives the refreshes itself.
  auto monitor = WatermarkMonitor::Start(config_, {"events", "small"}, absl::Hours(1));
  ASSERT_TRUE(monitor.ok()) << monitor.status();
  ASSERT_TRUE((*monitor)->RefreshNow().ok());
  const WatermarkSnapshot latest = (*monitor)->Latest();
  ASSERT_EQ(latest.count("events"), 1u);
  ASSERT_EQ(latest.at("events").size(), 3u);
  for (const auto& [p, marks] : latest.at("events")) {
    EXPECT_EQ(marks.low, 0);
    EXPECT_EQ(marks.high, expected_high[p]) << "partition " << p;
  }
  ASSERT_EQ(latest.count("small"), 1u);
  EXPECT_EQ(latest.at("small").at(0).high, 0);
  EXPECT_NE((*monitor)->last_refresh(), absl::InfinitePast());
  (*monitor)->Stop();
}

}  // namespace
}  // namespace hisbridge::kafka
