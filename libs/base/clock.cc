#include "libs/base/clock.h"

#include "absl/time/clock.h"

namespace hisbridge {
namespace {
class SystemClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};
}  // namespace

Clock* RealClock() {
  static SystemClock* clock = new SystemClock;
  return clock;
}

}  // namespace hisbridge
