// The age of the oldest pending item of a queue, for a gauge such as
// hisbridge_review_oldest_age_seconds, without rescanning the whole queue
// at every scrape.
//
// The queue is read through a scan function in key order, oldest first
// (the query role's review items by creation time). Items there go from
// pending to done and never back, and new items arrive after the old
// ones, so the done items before the oldest pending one stay done: the
// tracker remembers the last of them (a cursor) and the next refresh scans
// only from there. An item that arrives with an older key than the cursor
// (a county whose linker lagged behind) is found by the full rescan made
// every `full_rescan`.
//
// Oldest() refreshes at most every `refresh` (a scrape in between gets the
// cached answer), so the cost is one short scan per refresh interval.
//
// Thread safety: safe for concurrent use (scrapes run on several HTTP
// threads); the scan function is called under the tracker's lock.
#ifndef HISBRIDGE_LIBS_METRICS_OLDEST_PENDING_H_
#define HISBRIDGE_LIBS_METRICS_OLDEST_PENDING_H_

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/base/clock.h"

namespace hisbridge::metrics {

class OldestPendingTracker {
 public:
  struct Item {
    bool pending = false;
    absl::Time created;
  };
  // Calls fn(key, item) for the items after `start_after` ("" for the
  // first), in key order, until fn returns false.
  using ScanFn = std::function<absl::Status(absl::string_view start_after,
                                            const std::function<bool(absl::string_view key, const Item&)>& fn)>;

  struct Options {
    absl::Duration refresh = absl::Seconds(30);
    absl::Duration full_rescan = absl::Minutes(10);
  };

  // `clock` must outlive the tracker.
  OldestPendingTracker(ScanFn scan, Clock* clock, Options options);
  OldestPendingTracker(ScanFn scan, Clock* clock) : OldestPendingTracker(std::move(scan), clock, Options()) {}

  // Creation time of the oldest pending item; nullopt when none is
  // pending. The scan's error when it failed.
  absl::StatusOr<std::optional<absl::Time>> Oldest();

  // How many items the last refresh read (tests, diagnostics).
  int64_t last_scanned() const;

 private:
  ScanFn scan_;
  Clock* clock_;
  Options options_;
  mutable std::mutex mu_;
  std::string cursor_;
  bool refreshed_ = false;
  absl::Time last_refresh_;
  absl::Time last_full_;
  std::optional<absl::Time> oldest_;
  int64_t last_scanned_ = 0;
};

}  // namespace hisbridge::metrics

#endif  // HISBRIDGE_LIBS_METRICS_OLDEST_PENDING_H_
