// Keeps a query replica's ViewStore up to date with the views topic, and
// answers "does this replica reflect inbox position (p, o) yet?".
//
// Every replica reads every views partition itself (manual assignment, no
// consumer group), starting from the offsets stored with its data, or from
// the beginning when it starts empty (catch-up). The linker writes a
// watermark (inbox partition p, next offset n) to every views partition
// after the views it covers; so once this replica has seen a watermark
// with n > o for partition p on *all* views partitions, every view caused
// by inputs up to (p, o) has been applied.
//
// WaitFor registers a callback for that moment, bounded by a deadline; it
// never blocks the caller, so gRPC reactors can use it.
//
// Thread safety: all public methods are thread-safe. Callbacks run on the
// materializer or timer thread and must not block.
#ifndef HISBRIDGE_LIBS_VIEW_VIEW_MATERIALIZER_H_
#define HISBRIDGE_LIBS_VIEW_VIEW_MATERIALIZER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/kafka/kafka_config.h"
#include "libs/view/view_store.h"

namespace hisbridge::view {

struct ViewMaterializerOptions {
  kafka::KafkaConfig kafka;
  kafka::TopicNames topics;
  std::string data_dir;
};

class ViewMaterializer {
 public:
  explicit ViewMaterializer(ViewMaterializerOptions options);
  ~ViewMaterializer();

  absl::Status Start();
  void Stop();

  const ViewStore& store() const { return *store_; }

  // True when every view caused by the given inbox positions is applied.
  // Positions of other topics are ignored.
  bool Reflects(const std::vector<hisbridge::v1::LogPosition>& positions) const;

  // Calls `done(true)` once Reflects(positions), or `done(false)` at
  // `deadline`. Runs `done` at once (on this thread) if already reflected.
  void WaitFor(std::vector<hisbridge::v1::LogPosition> positions, absl::Time deadline,
               std::function<void(bool reached)> done);

  // Views applied since start (for tests and metrics).
  int64_t applied_views() const { return applied_views_.load(); }
  // The smallest next-offset covered for each inbox partition.
  std::map<int32_t, int64_t> CoveredInboxOffsets() const;
  // Next views offset to apply per views partition (consumer position, for
  // lag metrics); partitions never read yet are absent.
  std::map<int32_t, int64_t> AppliedOffsets() const;
  absl::Status status() const;

 private:
  struct Waiter {
    std::vector<hisbridge::v1::LogPosition> positions;
    absl::Time deadline;
    std::function<void(bool)> done;
  };
  bool ReflectsLocked(const std::vector<hisbridge::v1::LogPosition>& positions) const;
  void Run();
  void RunTimer();
  void WakeWaiters();

  ViewMaterializerOptions options_;
  std::unique_ptr<ViewStore> store_;
  int views_partitions_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> applied_views_{0};
  std::thread thread_;
  std::thread timer_;

  mutable std::mutex mu_;
  std::condition_variable timer_cv_;
  WatermarkMap watermarks_;
  std::map<int32_t, int64_t> applied_offsets_;
  std::list<Waiter> waiters_;
  absl::Status status_;
};

}  // namespace hisbridge::view

#endif  // HISBRIDGE_LIBS_VIEW_VIEW_MATERIALIZER_H_
