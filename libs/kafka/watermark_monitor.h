// Keeps the broker's watermarks (first and next offset) of every partition
// of a few topics, refreshed in the background, so that consumer lag can be
// reported at any moment without waiting on the network: a scrape of the
// metrics endpoint reads the last refresh.
//
//   auto monitor = kafka::WatermarkMonitor::Start(config, {"hisbridge.inbox"}, absl::Seconds(10));
//   lag = monitor->Latest()["hisbridge.inbox"][p].high - committed[p];
//
// A refresh that fails (broker unreachable) keeps the previous figures and
// is retried at the next interval; last_refresh() says how old they are.
//
// Thread safety: all methods are thread-safe.
#ifndef HISBRIDGE_LIBS_KAFKA_WATERMARK_MONITOR_H_
#define HISBRIDGE_LIBS_KAFKA_WATERMARK_MONITOR_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/kafka/kafka_config.h"

namespace hisbridge::kafka {

class Consumer;

struct PartitionWatermarks {
  // Offset of the oldest message still on the broker.
  int64_t low = 0;
  // Offset the next message will get (one past the newest).
  int64_t high = 0;
};

// topic -> partition -> watermarks.
using WatermarkSnapshot = std::map<std::string, std::map<int32_t, PartitionWatermarks>>;

class WatermarkMonitor {
 public:
  // Refreshes once in the background right away, then every `interval`.
  static absl::StatusOr<std::unique_ptr<WatermarkMonitor>> Start(const KafkaConfig& config,
                                                                 std::vector<std::string> topics,
                                                                 absl::Duration interval);
  ~WatermarkMonitor();
  WatermarkMonitor(const WatermarkMonitor&) = delete;
  WatermarkMonitor& operator=(const WatermarkMonitor&) = delete;

  void Stop();

  // The figures of the last successful refresh of each topic (a topic that
  // was never read is absent).
  WatermarkSnapshot Latest() const;
  // When the last refresh finished (InfinitePast before the first).
  absl::Time last_refresh() const;
  // Refreshes now, on the caller's thread (tests; the background thread
  // does this on its own).
  absl::Status RefreshNow();

 private:
  WatermarkMonitor(std::unique_ptr<Consumer> consumer, std::vector<std::string> topics, absl::Duration interval);
  void Run();

  std::unique_ptr<Consumer> consumer_;
  const std::vector<std::string> topics_;
  const absl::Duration interval_;
  // One refresh at a time (the consumer handle is not shared).
  std::mutex refresh_mu_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  WatermarkSnapshot latest_;
  absl::Time last_refresh_ = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace hisbridge::kafka

#endif  // HISBRIDGE_LIBS_KAFKA_WATERMARK_MONITOR_H_
