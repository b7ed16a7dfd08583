// The resident identity card number (公民身份号码, GB 11643-1999).
//
// An 18-character number: a 6-digit region code (the county that first
// issued it, kept for life), the birth date YYYYMMDD, a 3-digit sequence
// whose parity is the sex (odd male, even female) and an ISO 7064 MOD 11-2
// check character (0-9 or X). Numbers issued before 1999 had 15 digits (a
// 2-digit year, no check character); they are upgraded here to the 18-digit
// form by inserting the century "19" and computing the check character.
//
// ParseResidentId classifies a clinic's value precisely instead of failing:
// a bad value from a clinic is data for the quality report and, for a typo,
// still evidence for the matcher (see CompareResidentIds).
//
//   const ResidentIdResult id = ParseResidentId(" 450321 19850302 123x", today);
//   if (id.ok()) UseBlockingKey(id.canonical);   // "45032119850302123X"
//
// "today" is a parameter, never the wall clock, so a replay years later
// classifies every record exactly as it did the first time.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_RESIDENT_ID_H_
#define HISBRIDGE_LIBS_CORE_RESIDENT_ID_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "libs/core/sex.h"

namespace hisbridge::core {

// In the order ParseResidentId checks them: the first rule a value breaks is
// the one reported.
enum class ResidentIdStatus : uint8_t {
  kValid,
  kEmpty,           // nothing but spaces
  kBadCharacters,   // a character other than a digit (or X last), or invalid UTF-8
  kBadLength,       // neither 15 nor 18 digits
  kImpossibleDate,  // e.g. 19850230, or a year before 1850
  kFutureDate,      // born after `today`
  kUnknownRegion,   // the first two digits are not a province (GB/T 2260)
  kBadCheckDigit,   // the 18th character is not the MOD 11-2 check of the first 17
};

// Stable snake_case name: "valid", "empty", "bad_characters", "bad_length",
// "impossible_date", "future_date", "unknown_region", "bad_check_digit".
absl::string_view ResidentIdStatusName(ResidentIdStatus status);

struct ResidentIdResult {
  ResidentIdStatus status = ResidentIdStatus::kEmpty;

  // The 18-character id, upper-case X: set for kValid, kUnknownRegion and
  // kBadCheckDigit (and for upgraded 15-digit ids with those statuses);
  // empty otherwise.
  std::string canonical;

  // The 18 characters as read (15-digit ids upgraded) whenever length and
  // characters are right, even when the date, region or check digit is
  // wrong: what the typo comparisons need. Empty otherwise.
  std::string digits18;

  // Parsed when the date digits form a real calendar date (also for
  // kFutureDate, kUnknownRegion and kBadCheckDigit).
  bool has_birth_date = false;
  absl::CivilDay birth_date;

  // From the parity of the sequence number; kUnknown when digits18 is empty.
  Sex sex = Sex::kUnknown;

  // The 6-digit region code ("450321"); empty when digits18 is empty.
  std::string region_code;
  // region_code names a county-level division in the current table
  // (libs/core/region.h). False for former counties, which still issue no
  // new numbers but whose numbers stay valid for life.
  bool county_known = false;

  bool upgraded_from_15 = false;

  // For kBadCheckDigit: the check character the first 17 digits imply.
  char expected_check_digit = 0;

  bool ok() const { return status == ResidentIdStatus::kValid; }
};

// Parses and validates a resident id. Tolerates (normalises, does not
// reject) spaces anywhere, full-width digits and X, lower-case x, and the
// leading apostrophe spreadsheets put before long numbers.
ResidentIdResult ParseResidentId(absl::string_view raw, absl::CivilDay today);
// The same into *out, reusing its strings' storage (for hot loops).
void ParseResidentId(absl::string_view raw, absl::CivilDay today, ResidentIdResult* out);

// A specific English sentence for a non-valid result, e.g. "check digit is
// 3 but the first 17 digits require 7"; "" for kValid.
std::string DescribeResidentIdProblem(const ResidentIdResult& result);

// --- construction (synthetic data, tests) ---

// The ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') for 17 ASCII
// digits; '\0' when `first17` is anything else.
char ResidentIdCheckDigit(absl::string_view first17);

// A valid 18-digit id for region (6 digits), birth date and sequence
// (0..999; odd = male, even = female). INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> MakeResidentId(absl::string_view region6, absl::CivilDay birth_date,
                                           int sequence);

// 15 -> 18 digits: insert "19" and append the check character.
// INVALID_ARGUMENT unless `id15` is 15 ASCII digits.
absl::StatusOr<std::string> UpgradeResidentId15(absl::string_view id15);

// 18 -> 15 digits: drop the century and the check character. Only for ids of
// people born 1900-1999 (the only ones a 15-digit id could express);
// INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> DowngradeResidentId18(absl::string_view id18);

// --- comparison hooks for the matcher ---

enum class IdDifference : uint8_t {
  kSame,
  kOneCharacterDifferent,  // same length, exactly one position differs
  kAdjacentTransposition,  // same length, two neighbouring characters swapped
  kDifferent,              // anything else, including different lengths
};

// Typo classification of two strings of the same alphabet (ids, phones).
IdDifference ClassifyIdDifference(absl::string_view a, absl::string_view b);

enum class ResidentIdMatch : uint8_t {
  kMissing,  // either side has no 18-character id
  kSame,
  kOneDigitDifferent,      // a typo of the other
  kAdjacentTransposition,  // a typo of the other
  kDifferentBothValid,     // two valid, different ids: strong evidence of two people
  kDifferent,              // different, at least one invalid
};

// Compares digits18. Because MOD 11-2 detects every single substitution and
// every adjacent transposition, two *valid* ids are never a typo of each
// other: they are kSame or kDifferentBothValid.
ResidentIdMatch CompareResidentIds(const ResidentIdResult& a, const ResidentIdResult& b);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_RESIDENT_ID_H_
