// Ethnic group (民族) codes of GB/T 3304-1991: "01" 汉族 ... "56" 基诺族,
// "97" 其他, "98" 外国血统中国籍人士.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_ETHNICITY_H_
#define HISBRIDGE_LIBS_CORE_ETHNICITY_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace hisbridge::core {

enum class EthnicityStatus : uint8_t {
  kValid,  // a two-digit code
  kEmpty,
  kNonStandard,  // a name ("汉族", "壮") or a one-digit code ("1"); understood
  kInvalid,      // not understood
};

struct EthnicityResult {
  // The two-digit code; empty unless understood. Points to static storage.
  absl::string_view code;
  EthnicityStatus status = EthnicityStatus::kEmpty;
};

EthnicityResult ParseEthnicity(absl::string_view raw);

// "汉族" for "01"; "" for an unknown code.
absl::string_view EthnicityName(absl::string_view code);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_ETHNICITY_H_
