// Keeps a query replica's ViewStore up to date with the views and changes
// topics, and answers "does this replica reflect inbox position (p, o)
// yet?" and "has steward command X been applied yet?".
//
// Every replica reads every views and changes partition itself (manual
// assignment, no consumer group), starting from the offsets stored with
// its data, or from the beginning when it starts empty (catch-up). Several
// replicas can therefore run at once, each with its own store. The linker
// writes a watermark (inbox partition p, next offset n) to every views
// partition after the views it covers; so once this replica has seen a
// watermark with n > o for partition p on *all* views partitions, every
// view caused by inputs up to (p, o) has been applied.
//
// WaitFor and WaitForCommand register a callback for that moment, bounded
// by a deadline; they never block the caller, so gRPC reactors can use
// them.
//
// Thread safety: all public methods are thread-safe. Callbacks run on the
// materializer or timer thread (or at once on the caller's) and must not
// block.
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
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "hisbridge/v1/records.pb.h"
#include "hisbridge/v1/views.pb.h"
#include "libs/kafka/kafka_config.h"
#include "libs/view/view_store.h"

namespace hisbridge::view {

struct ViewMaterializerOptions {
  kafka::KafkaConfig kafka;
  kafka::TopicNames topics;
  std::string data_dir;
  // The matcher, RocksDB settings and changes retention of the store.
  ViewStoreOptions store;
};

class ViewMaterializer {
 public:
  explicit ViewMaterializer(ViewMaterializerOptions options);
  ~ViewMaterializer();

  // Opens the store (rebuilding its in-memory indexes) and starts
  // following the topics.
  absl::Status Start();
  void Stop();

  const ViewStore& store() const { return *store_; }
  const kafka::TopicNames& topics() const { return options_.topics; }

  // True when every view caused by the given inbox positions is applied.
  // Positions of other topics are ignored.
  bool Reflects(const std::vector<hisbridge::v1::LogPosition>& positions) const;

  // Calls `done(true)` once Reflects(positions), or `done(false)` at
  // `deadline`. Runs `done` at once (on this thread) if already reflected.
  void WaitFor(std::vector<hisbridge::v1::LogPosition> positions, absl::Time deadline,
               std::function<void(bool reached)> done);

  // Calls `done(result)` once the linker's CommandResult for `command_id`
  // is in the store, or `done(nullopt)` at `deadline` (or when stopping).
  void WaitForCommand(std::string command_id, absl::Time deadline,
                      std::function<void(std::optional<hisbridge::v1::CommandResult>)> done);

  // Views applied since start (for tests and metrics).
  int64_t applied_views() const { return applied_views_.load(); }
  // Increases whenever a batch with change events was committed (watchers
  // compare it with the value they last saw).
  int64_t changes_generation() const { return changes_generation_.load(); }
  // The smallest next-offset covered for each inbox partition.
  std::map<int32_t, int64_t> CoveredInboxOffsets() const;
  // Next views offset to apply per views partition (consumer position, for
  // lag metrics); partitions never read yet are absent.
  std::map<int32_t, int64_t> AppliedOffsets() const;
  // Partitions of the changes topic (0 until known).
  int changes_partitions() const { return changes_partitions_.load(); }
  absl::Status status() const;

 private:
  struct Waiter {
    std::vector<hisbridge::v1::LogPosition> positions;
    absl::Time deadline;
    std::function<void(bool)> done;
  };
  struct CommandWaiter {
    std::string command_id;
    absl::Time deadline;
    std::function<void(std::optional<hisbridge::v1::CommandResult>)> done;
  };
  bool ReflectsLocked(const std::vector<hisbridge::v1::LogPosition>& positions) const;
  void Run();
  void RunTimer();
  void WakeWaiters(const std::map<std::string, hisbridge::v1::CommandResult>& results);

  ViewMaterializerOptions options_;
  std::unique_ptr<ViewStore> store_;
  int views_partitions_ = 0;
  std::atomic<int> changes_partitions_{0};
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> applied_views_{0};
  std::atomic<int64_t> changes_generation_{0};
  std::thread thread_;
  std::thread timer_;

  mutable std::mutex mu_;
  std::condition_variable timer_cv_;
  WatermarkMap watermarks_;
  std::map<int32_t, int64_t> applied_offsets_;
  std::list<Waiter> waiters_;
  std::list<CommandWaiter> command_waiters_;
  absl::Status status_;
};

}  // namespace hisbridge::view

#endif  // HISBRIDGE_LIBS_VIEW_VIEW_MATERIALIZER_H_
