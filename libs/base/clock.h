// Time source abstraction so that anything that waits or stamps time can be
// tested with a fake clock.
//
// Ownership: callers hold a Clock* that must outlive them; RealClock() is a
// process-wide singleton. Thread safety: both implementations are safe to
// use from any thread.
#ifndef HISBRIDGE_LIBS_BASE_CLOCK_H_
#define HISBRIDGE_LIBS_BASE_CLOCK_H_

#include <mutex>

#include "absl/time/time.h"

namespace hisbridge {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The system clock.
Clock* RealClock();

// A clock that only moves when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1767225600)) : now_(start) {}
  absl::Time Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }
  void Set(absl::Time t) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  absl::Time now_;
};

}  // namespace hisbridge

#endif  // HISBRIDGE_LIBS_BASE_CLOCK_H_
