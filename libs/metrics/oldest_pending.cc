#include "libs/metrics/oldest_pending.h"

#include <utility>

namespace hisbridge::metrics {

OldestPendingTracker::OldestPendingTracker(ScanFn scan, Clock* clock, Options options)
    : scan_(std::move(scan)), clock_(clock), options_(options) {}

absl::StatusOr<std::optional<absl::Time>> OldestPendingTracker::Oldest() {
  std::lock_guard<std::mutex> lock(mu_);
  const absl::Time now = clock_->Now();
  if (refreshed_ && now - last_refresh_ < options_.refresh) return oldest_;
  const bool full = !refreshed_ || now - last_full_ >= options_.full_rescan;
  std::string cursor = full ? std::string() : cursor_;
  std::optional<absl::Time> oldest;
  int64_t scanned = 0;
  const absl::Status s = scan_(cursor, [&](absl::string_view key, const Item& item) {
    ++scanned;
    if (item.pending) {
      oldest = item.created;
      return false;
    }
    cursor.assign(key.data(), key.size());
    return true;
  });
  if (!s.ok()) return s;
  cursor_ = std::move(cursor);
  oldest_ = oldest;
  last_scanned_ = scanned;
  last_refresh_ = now;
  if (full) last_full_ = now;
  refreshed_ = true;
  return oldest_;
}

int64_t OldestPendingTracker::last_scanned() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_scanned_;
}

}  // namespace hisbridge::metrics
