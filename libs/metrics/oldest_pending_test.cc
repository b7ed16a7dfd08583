#include "libs/metrics/oldest_pending.h"

#include <map>
#include <string>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace hisbridge::metrics {
namespace {

// A queue in key order: key -> item.
class FakeQueue {
 public:
  void Put(int key, bool pending, absl::Time created) { items_[absl::StrFormat("%06d", key)] = {pending, created}; }
  void Done(int key) { items_[absl::StrFormat("%06d", key)].pending = false; }
  OldestPendingTracker::ScanFn Scan() {
    return [this](absl::string_view start_after,
                  const std::function<bool(absl::string_view, const OldestPendingTracker::Item&)>& fn) {
      if (fail_) return absl::UnavailableError("store closed");
      for (auto it = items_.upper_bound(std::string(start_after)); it != items_.end(); ++it) {
        if (!fn(it->first, it->second)) break;
      }
      return absl::OkStatus();
    };
  }
  bool fail_ = false;

 private:
  std::map<std::string, OldestPendingTracker::Item> items_;
};

TEST(OldestPendingTrackerTest, CachesResumesAndRescans) {
  FakeClock clock;
  const absl::Time t0 = clock.Now();
  FakeQueue queue;
  OldestPendingTracker::Options options;
  options.refresh = absl::Seconds(30);
  options.full_rescan = absl::Minutes(10);
  OldestPendingTracker tracker(queue.Scan(), &clock, options);

  auto oldest = tracker.Oldest();
  ASSERT_TRUE(oldest.ok());
  EXPECT_FALSE(oldest->has_value());

  for (int i = 1; i <= 100; ++i) queue.Put(i * 10, /*pending=*/i > 90, t0 + absl::Minutes(i));
  // Cached for `refresh`.
  clock.Advance(absl::Seconds(10));
  EXPECT_FALSE(tracker.Oldest()->has_value());
  clock.Advance(absl::Seconds(30));
  // Not a full rescan yet, but the cursor is at the start: 91 items read.
  EXPECT_EQ(**tracker.Oldest(), t0 + absl::Minutes(91));
  EXPECT_EQ(tracker.last_scanned(), 91);

  // Resolving the oldest pending item: the next refresh starts from the
  // cursor (after item 90) and reads two items.
  queue.Done(910);
  clock.Advance(absl::Seconds(31));
  EXPECT_EQ(**tracker.Oldest(), t0 + absl::Minutes(92));
  EXPECT_EQ(tracker.last_scanned(), 2);

  // An item arriving before the cursor is missed until the full rescan.
  queue.Put(5, /*pending=*/true, t0);
  clock.Advance(absl::Seconds(31));
  EXPECT_EQ(**tracker.Oldest(), t0 + absl::Minutes(92));
  clock.Advance(absl::Minutes(10));
  EXPECT_EQ(**tracker.Oldest(), t0);
  EXPECT_EQ(tracker.last_scanned(), 1);

  // Everything done.
  queue.Done(5);
  for (int i = 92; i <= 100; ++i) queue.Done(i * 10);
  clock.Advance(absl::Seconds(31));
  EXPECT_FALSE(tracker.Oldest()->has_value());

  queue.fail_ = true;
  clock.Advance(absl::Seconds(31));
  EXPECT_EQ(tracker.Oldest().status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace hisbridge::metrics
