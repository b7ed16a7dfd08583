// libFuzzer target for ParseResidentId and the id comparison hooks.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libs/core/resident_id.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hisbridge::core;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const absl::CivilDay today(2026, 3, 1);
  const ResidentIdResult r = ParseResidentId(raw, today);
  // Invariants the matcher relies on.
  if (r.ok() != (r.status == ResidentIdStatus::kValid)) std::abort();
  if (!r.canonical.empty()) {
    if (r.canonical.size() != 18 || r.canonical != r.digits18) std::abort();
    const ResidentIdResult again = ParseResidentId(r.canonical, today);
    if (again.status != r.status || again.canonical != r.canonical) std::abort();
  }
  if (r.ok() && (!r.has_birth_date || r.birth_date > today || r.region_code.size() != 6))
    std::abort();
  if (!r.digits18.empty() && r.digits18.size() != 18) std::abort();
  if (CompareResidentIds(r, r) !=
      (r.digits18.empty() ? ResidentIdMatch::kMissing : ResidentIdMatch::kSame)) {
    std::abort();
  }
  (void)DescribeResidentIdProblem(r);
  // Compare the two halves of the input as two ids.
  const ResidentIdResult a = ParseResidentId(raw.substr(0, size / 2), today);
  const ResidentIdResult b = ParseResidentId(raw.substr(size / 2), today);
  if (CompareResidentIds(a, b) != CompareResidentIds(b, a)) std::abort();
  (void)ClassifyIdDifference(raw.substr(0, size / 2), raw.substr(size / 2));
  if (r.digits18.size() == 18 && r.digits18.substr(6, 2) == "19") {
    if (!DowngradeResidentId18(r.digits18).ok()) std::abort();
  }
  return 0;
}
