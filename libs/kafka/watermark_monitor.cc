#include "libs/kafka/watermark_monitor.h"

#include <utility>

#include "absl/time/clock.h"
#include "libs/base/logging.h"
#include "libs/kafka/consumer.h"

namespace hisbridge::kafka {
namespace {
constexpr absl::Duration kBrokerTimeout = absl::Seconds(5);
}  // namespace

absl::StatusOr<std::unique_ptr<WatermarkMonitor>> WatermarkMonitor::Start(const KafkaConfig& config,
                                                                           std::vector<std::string> topics,
                                                                           absl::Duration interval) {
  ConsumerOptions options;  // manual mode: never joins a group
  options.report_end_of_partition = false;
  absl::StatusOr<std::unique_ptr<Consumer>> consumer = Consumer::Create(config, options);
  if (!consumer.ok()) return consumer.status();
  std::unique_ptr<WatermarkMonitor> monitor(
      new WatermarkMonitor(std::move(*consumer), std::move(topics), interval));
  monitor->thread_ = std::thread([raw = monitor.get()] { raw->Run(); });
  return monitor;
}

WatermarkMonitor::WatermarkMonitor(std::unique_ptr<Consumer> consumer, std::vector<std::string> topics,
                                   absl::Duration interval)
    : consumer_(std::move(consumer)), topics_(std::move(topics)), interval_(interval) {}

WatermarkMonitor::~WatermarkMonitor() { Stop(); }

void WatermarkMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

WatermarkSnapshot WatermarkMonitor::Latest() const {
  std::lock_guard<std::mutex> lock(mu_);
  return latest_;
}

absl::Time WatermarkMonitor::last_refresh() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_refresh_;
}

absl::Status WatermarkMonitor::RefreshNow() {
  std::lock_guard<std::mutex> refresh_lock(refresh_mu_);
  absl::Status first_error;
  for (const std::string& topic : topics_) {
    absl::StatusOr<int> partitions = consumer_->PartitionCount(topic, kBrokerTimeout);
    if (!partitions.ok()) {
      if (first_error.ok()) first_error = partitions.status();
      continue;
    }
    std::map<int32_t, PartitionWatermarks> marks;
    absl::Status topic_error;
    for (int32_t p = 0; p < *partitions && topic_error.ok(); ++p) {
      PartitionWatermarks w;
      topic_error = consumer_->QueryWatermarks(topic, p, kBrokerTimeout, &w.low, &w.high);
      marks[p] = w;
    }
    if (!topic_error.ok()) {
      if (first_error.ok()) first_error = topic_error;
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    latest_[topic] = std::move(marks);
  }
  std::lock_guard<std::mutex> lock(mu_);
  last_refresh_ = absl::Now();
  return first_error;
}

void WatermarkMonitor::Run() {
  bool failing = false;
  while (true) {
    absl::Status s = RefreshNow();
    // Log changes of state only: a broker outage is one warning, not one
    // per interval.
    if (!s.ok() && !failing) log::Warning("cannot read Kafka watermarks for lag metrics", {{"error", s}});
    if (s.ok() && failing) log::Info("reading Kafka watermarks for lag metrics again");
    failing = !s.ok();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, absl::ToChronoMilliseconds(interval_), [this] { return stop_; })) return;
  }
}

}  // namespace hisbridge::kafka
