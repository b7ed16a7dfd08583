#include "libs/core/sex.h"

#include <string>

#include "absl/strings/ascii.h"
#include "libs/core/text.h"

namespace hisbridge::core {

SexResult ParseSex(absl::string_view raw) {
  SexResult result;
  std::string folded;
  if (!NormalizeNfkc(raw, &folded)) {
    result.status = SexStatus::kInvalid;
    return result;
  }
  absl::AsciiStrToLower(&folded);
  const absl::string_view v = absl::StripAsciiWhitespace(folded);
  if (v.empty()) return result;
  if (v == "1" || v == "2" || v == "0" || v == "9") {
    result.sex = static_cast<Sex>(v[0] - '0');
    result.status = SexStatus::kValid;
    return result;
  }
  result.status = SexStatus::kNonStandard;
  if (v == "男" || v == "男性" || v == "m" || v == "male" || v == "1.0" || v == "01") {
    result.sex = Sex::kMale;
  } else if (v == "女" || v == "女性" || v == "f" || v == "female" || v == "2.0" || v == "02") {
    result.sex = Sex::kFemale;
  } else if (v == "未知" || v == "不详" || v == "u" || v == "unknown" || v == "0.0" || v == "00") {
    result.sex = Sex::kUnknown;
  } else if (v == "未说明" || v == "未说明的性别" || v == "9.0" || v == "09") {
    result.sex = Sex::kUnstated;
  } else {
    result.status = SexStatus::kInvalid;
  }
  return result;
}

absl::string_view SexCode(Sex sex) {
  switch (sex) {
    case Sex::kMale:
      return "1";
    case Sex::kFemale:
      return "2";
    case Sex::kUnstated:
      return "9";
    case Sex::kUnknown:
      return "0";
  }
  return "0";
}

}  // namespace hisbridge::core
