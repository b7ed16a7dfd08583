// Administrative sex (GB/T 2261.1-2003) as the county record format carries
// it: "0" unknown, "1" male, "2" female, "9" unstated.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_SEX_H_
#define HISBRIDGE_LIBS_CORE_SEX_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace hisbridge::core {

// The values are the GB/T 2261.1 codes.
enum class Sex : uint8_t { kUnknown = 0, kMale = 1, kFemale = 2, kUnstated = 9 };

enum class SexStatus : uint8_t {
  kValid,        // a GB/T 2261.1 code
  kEmpty,        // nothing given
  kNonStandard,  // understood but not a code: "男", "F", "female", "1.0"
  kInvalid,      // not understood; sex is kUnknown
};

struct SexResult {
  Sex sex = Sex::kUnknown;
  SexStatus status = SexStatus::kEmpty;
};

// Accepts the codes and what HIS exports put instead: 男/女 (and 男性/女性),
// M/F, male/female (any case, full width), "1.0"/"2.0" from spreadsheets,
// 未知/未说明. Surrounding spaces are ignored.
SexResult ParseSex(absl::string_view raw);

// "1", "2", "0", "9".
absl::string_view SexCode(Sex sex);

// Whether the value says anything: male or female.
inline bool IsKnownSex(Sex sex) { return sex == Sex::kMale || sex == Sex::kFemale; }

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_SEX_H_
