// Field comparators: how two prepared records relate, field by field, as
// graded agreement levels.
//
// Each field has a fixed list of levels, strongest agreement first and
// "missing" (either side has no usable value) last. A ComparisonVector holds
// one level per field; the Fellegi-Sunter model gives each level a weight,
// EM learns from the vectors of candidate pairs, and explanations name the
// levels. Level names are stable: they appear in model files, explanations
// and the audit trail.
//
//   field        levels
//   resident_id  exact, same_invalid, typo, different_both_valid, different, missing
//   other_id     exact, different, missing
//   name         exact, variant, latin_equal, homophone, dialect, visual,
//                reordered, one_char_different, pinyin_close, different, missing
//   birth_date   exact, swapped, typo, year_off, within_60_days, same_month,
//                same_year, different, missing
//   sex          same, different, missing
//   phone        exact, same_local_number, one_digit_off, different, missing
//   address      village, township, county, different, missing
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_MATCH_COMPARISON_H_
#define HISBRIDGE_LIBS_MATCH_COMPARISON_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "libs/match/match_record.h"

namespace hisbridge::match {

enum class Field : uint8_t { kResidentId, kOtherId, kName, kBirthDate, kSex, kPhone, kAddress };
inline constexpr size_t kFieldCount = 7;

namespace level {
enum ResidentId : uint8_t { kIdExact, kIdSameInvalid, kIdTypo, kIdDifferentBothValid, kIdDifferent, kIdMissing };
enum OtherId : uint8_t { kOtherExact, kOtherDifferent, kOtherMissing };
enum Name : uint8_t {
  kNameExact,
  kNameVariant,
  kNameLatinEqual,
  kNameHomophone,
  kNameDialect,
  kNameVisual,
  kNameReordered,
  kNameOneCharDifferent,
  kNamePinyinClose,
  kNameDifferent,
  kNameMissing,
};
enum BirthDate : uint8_t {
  kDateExact,
  kDateSwapped,
  kDateTypo,
  kDateYearOff,
  kDateWithin60Days,
  kDateSameMonth,
  kDateSameYear,
  kDateDifferent,
  kDateMissing,
};
enum Sex : uint8_t { kSexSame, kSexDifferent, kSexMissing };
enum Phone : uint8_t { kPhoneExact, kPhoneSameLocal, kPhoneOneDigit, kPhoneDifferent, kPhoneMissing };
enum Address : uint8_t { kAddressVillage, kAddressTownship, kAddressCounty, kAddressDifferent, kAddressMissing };
}  // namespace level

// "resident_id", "other_id", "name", "birth_date", "sex", "phone", "address".
absl::string_view FieldName(Field field);
// The level names of a field, strongest first, "missing" last.
absl::Span<const absl::string_view> LevelNames(Field field);
size_t LevelCount(Field field);
// The index of `name` among the field's levels, or -1.
int FindLevel(Field field, absl::string_view name);

struct ComparisonVector {
  std::array<uint8_t, kFieldCount> levels{};
  uint8_t operator[](Field f) const { return levels[static_cast<size_t>(f)]; }
  uint8_t& operator[](Field f) { return levels[static_cast<size_t>(f)]; }
  friend bool operator==(const ComparisonVector& a, const ComparisonVector& b) { return a.levels == b.levels; }
  template <typename H>
  friend H AbslHashValue(H h, const ComparisonVector& v) {
    return H::combine(std::move(h), v.levels);
  }
};

ComparisonVector Compare(const MatchRecord& a, const MatchRecord& b);

// Individual comparators (Compare calls each once).
level::ResidentId CompareResidentId(const MatchRecord& a, const MatchRecord& b);
level::OtherId CompareOtherIds(const MatchRecord& a, const MatchRecord& b);
// Also true in *per_person when the agreeing document identifies one person
// (passport, permits, health card); a medical insurance number may be a
// household's.
level::OtherId CompareOtherIds(const MatchRecord& a, const MatchRecord& b, bool* per_person);
level::Name CompareName(const core::NormalizedName& a, const core::NormalizedName& b);
level::BirthDate CompareBirthDate(const MatchRecord& a, const MatchRecord& b);
level::Sex CompareSex(const MatchRecord& a, const MatchRecord& b);
level::Phone ComparePhone(const MatchRecord& a, const MatchRecord& b);
level::Address CompareAddress(const MatchRecord& a, const MatchRecord& b);

// Two syllables a southern-Mandarin speaker or a clerk's input method
// confuses: z/zh, c/ch, s/sh, n/l, r/l, f/h (before u) initials and
// -n/-ng finals. Also true for identical syllables.
bool DialectEquivalent(core::SyllableId a, core::SyllableId b);

// The field's value of a record as shown in explanations ("王小明",
// "1985-03-02", "4503**********1232" for ids: identifiers are masked).
std::string DisplayValue(const MatchRecord& r, Field field);

// An identifier shown with all but its first 4 and last 4 characters masked.
std::string MaskIdentifier(absl::string_view value);

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_COMPARISON_H_
