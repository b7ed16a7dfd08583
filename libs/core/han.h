// Han characters: simplification, toneless pinyin, four-corner codes, and
// the reverse lookups the synthetic data generator needs (homophones,
// visually similar characters, traditional forms).
//
// The data comes from the Unicode Han Database (Unihan, Debian package
// unicode-data), compiled into the library at build time; see
// docs/normalisation.md for provenance and licence. Readings are kMandarin
// (the customary reading, always first), kTGHZ2013 and kXHC1983; characters
// in none of those fall back to kHanyuPinyin. Tones are dropped; ü is
// written "v" ("lv", "nve").
//
// Ownership: spans and string_views point into static, immutable tables
// that live for the whole program. Thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_HAN_H_
#define HISBRIDGE_LIBS_CORE_HAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/optional.h"
#include "absl/types/span.h"

namespace hisbridge::core {

// Index of a toneless pinyin syllable in the sorted syllable table.
using SyllableId = uint16_t;

// A unified Han ideograph (CJK URO and extensions A-H).
bool IsHan(char32_t cp);

// The simplified form (kSimplifiedVariant): 曉 -> 晓, 劉 -> 刘. Characters
// that are already simplified, that stay unchanged in simplified text
// (乾 of 乾隆) or that are not Han are returned unchanged.
char32_t ToSimplified(char32_t cp);

// The traditional forms of a simplified character (kTraditionalVariant),
// without the character itself: 发 -> {發, 髮}; 王 -> {}.
absl::Span<const char32_t> TraditionalVariants(char32_t cp);

// Toneless readings, the customary one first: 单 -> {dan, chan, shan}.
// Empty for characters without a reading (and non-Han).
absl::Span<const SyllableId> Readings(char32_t cp);

// "zhang" for the id of zhang. `id` must be < SyllableCount().
absl::string_view SyllableText(SyllableId id);
size_t SyllableCount();
// The id of a toneless syllable written in lower case ("zhang", "lv").
absl::optional<SyllableId> FindSyllable(absl::string_view text);

// Every character having `syllable` among its readings: characters of the
// 通用规范汉字表 first, then by Unihan kFrequency, then by code point.
absl::Span<const char32_t> CharactersWithReading(SyllableId syllable);

// Characters sharing `cp`'s customary reading (its first), without `cp`,
// in the order above. With `standard_only`, only characters of the
// 通用规范汉字表 (the ones a clinic's input method offers).
std::vector<char32_t> Homophones(char32_t cp, bool standard_only = true);

// A four-corner code (四角号码): four digits and a supplementary fifth.
struct FourCornerCode {
  uint16_t main = 0;       // 0..9999
  int8_t supplement = -1;  // 0..9, or -1 when Unihan gives only four digits
  bool valid() const { return supplement >= -1 && !(main == 0 && supplement == -1); }
  // "1010.4", or "5030" without a supplement; "" when invalid.
  std::string ToString() const;
  friend bool operator==(const FourCornerCode& a, const FourCornerCode& b) {
    return a.main == b.main && a.supplement == b.supplement;
  }
};

// kFourCornerCode (the first one when Unihan lists several); invalid when
// unknown.
FourCornerCode FourCorner(char32_t cp);

// Two characters look alike: the same four main digits and, when both
// have one, the same supplementary digit. False when either code is unknown.
bool SameFourCorner(char32_t a, char32_t b);

// Characters for which SameFourCorner(cp, x) holds, without `cp`, standard
// and frequent characters first.
std::vector<char32_t> VisuallySimilar(char32_t cp, bool standard_only = true);

// Everything about one character in a single table lookup (the name
// normaliser's hot path): its simplified form and its own readings and
// four-corner code.
struct HanCharData {
  char32_t simplified = 0;  // == cp when already simplified or unknown
  FourCornerCode four_corner;
  absl::Span<const SyllableId> readings;
};
HanCharData LookupHan(char32_t cp);

// Listed in the 通用规范汉字表 (2013), i.e. has a kTGHZ2013 reading.
bool IsStandardCharacter(char32_t cp);

// "Unihan 15.0.0 (2022-08-01 ...)": the data the tables were built from.
absl::string_view UnihanVersion();

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_HAN_H_
