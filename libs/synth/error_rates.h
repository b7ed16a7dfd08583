// The configurable rates of the synthetic county: the errors applied to
// records (scaled together by --error-scale) and the structural rates of the
// county (twins, moves, re-sends, duplicates' fate, ...) that are not
// errors and are not scaled.
//
// Every rate has a stable name ("name.homophone"), a documented default and
// a one-line meaning; docs/synthetic-county.md lists them all, and
// `hisbridge gen --print-default-rates` prints them in the file format
// ParseRates reads:
//
//   # comment
//   name.homophone = 0.05
//   id.missing.village_clinic=0.6
//
// A rate is a probability in [0, 1] *among the records (or people) it can
// apply to*; the description says which. Factors (kind kFactor) are
// multipliers in [0, 10].
//
// Thread safety: a value type.
#ifndef HISBRIDGE_LIBS_SYNTH_ERROR_RATES_H_
#define HISBRIDGE_LIBS_SYNTH_ERROR_RATES_H_

#include <array>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace hisbridge::synth {

enum class Rate : int {
  // --- record errors (scaled by --error-scale) ---
  kIdMissingVillageClinic,
  kIdMissingTownship,
  kIdMissingHospital,
  kIdOneDigit,
  kIdTransposition,
  kIdLegacy15,
  kIdFormat,
  kIdRelative,
  kNameHomophone,
  kNameSimilarChar,
  kNameNearHomophone,
  kNameTraditional,
  kNamePinyin,
  kNameSpace,
  kNameFullwidth,
  kDobLunarShift,
  kDobJanFirst,
  kDobDayMonthSwap,
  kDobYearOff,
  kDobYearOnly,
  kDobMissing,
  kPhoneMissing,
  kPhoneOneDigit,
  kPhoneRelative,
  kAddressVillageOnly,
  kAddressMissing,
  kSexUnknown,
  kSexWrong,
  kRecordDuplicate,
  // --- structure (not scaled) ---
  kDuplicateErrorFactor,
  kDuplicateMerged,
  kDuplicateDeleted,
  kRecordDeleted,
  kResendCorrection,
  kResendSame,
  kResendAfterChange,
  kPersonMoved,
  kPersonPhoneChange,
  kPersonMigrant,
  kFamilyTwins,
  kFamilySimilarName,
  kNewbornPlaceholder,
  kNewbornRenamed,
  kInfantNickname,
  kEmergencyUnknown,
  kEmergencyIdentified,
  kOrderLate,
  kCount,
};

enum class RateKind : uint8_t {
  kError,      // scaled by --error-scale
  kStructure,  // a property of the county, not scaled
  kFactor,     // a multiplier, not scaled
};

struct RateInfo {
  Rate rate;
  absl::string_view name;
  double default_value;
  RateKind kind;
  absl::string_view meaning;
};

class ErrorRates {
 public:
  // The defaults.
  ErrorRates();

  double operator[](Rate r) const { return values_[static_cast<int>(r)]; }
  void Set(Rate r, double value) { values_[static_cast<int>(r)] = value; }

  // INVALID_ARGUMENT for an unknown name or a value out of range.
  absl::Status Set(absl::string_view name, double value);
  // Applies `name=value` lines; errors name the line.
  absl::Status Parse(absl::string_view text);
  // Multiplies every kError rate, clamping to [0, 1].
  void Scale(double factor);

  // name=value lines with the meaning of each as a comment: the format
  // Parse reads.
  std::string ToText() const;

  static absl::Span<const RateInfo> All();
  static const RateInfo& Info(Rate r);

 private:
  std::array<double, static_cast<int>(Rate::kCount)> values_;
};

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_ERROR_RATES_H_
