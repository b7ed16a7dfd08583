// Internal: the layout of the Han character tables that gen/han_tables_gen
// generates from Unihan at build time (han_data.cc in the build tree).
// Only han.cc reads these arrays; everyone else uses libs/core/han.h.
//
// All arrays are constant-initialised, immutable and safe to read from any
// thread.
#ifndef HISBRIDGE_LIBS_CORE_HAN_DATA_H_
#define HISBRIDGE_LIBS_CORE_HAN_DATA_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace hisbridge::core::internal {

// One row per code point that has a reading, a four-corner code or a
// simplified/traditional variant. Sorted by `cp`.
struct HanEntry {
  char32_t cp;
  // Simplified form, or 0 when the character is already simplified (or is
  // kept in simplified text, e.g. 乾 in 乾隆).
  char32_t simplified;
  // kFourCornerCode "1010.4" as 1010 * 16 + 4, "5030" (no supplementary
  // digit) as 5030 * 16 + 15; 0 when unknown. Only the first code is kept.
  uint32_t four_corner;
  // Toneless syllables in kHanReadingPool[readings_begin, +readings_count),
  // the most common (kMandarin) reading first.
  uint32_t readings_begin;
  uint32_t traditional_begin;  // kHanTraditionalPool[begin, +count)
  uint8_t readings_count;
  uint8_t traditional_count;
  // kFlagStandard: listed in 通用规范汉字表 (has a kTGHZ2013 reading).
  uint8_t flags;
  // kFrequency 1 (most common) .. 5; 9 when not given.
  uint8_t frequency;
};

inline constexpr uint8_t kFlagStandard = 1;

struct FourCornerEntry {
  uint32_t code;
  char32_t cp;
};

// Toneless syllables, sorted, ü written as "v" ("lv", "nve").
extern const absl::string_view kSyllables[];
extern const size_t kSyllableCount;

extern const HanEntry kHanEntries[];
extern const size_t kHanEntryCount;
extern const uint16_t kHanReadingPool[];
extern const char32_t kHanTraditionalPool[];

// Characters per syllable: kSyllableChars[kSyllableCharBegin[s] ..
// kSyllableCharBegin[s + 1]), standard and frequent characters first.
extern const uint32_t kSyllableCharBegin[];
extern const char32_t kSyllableChars[];

// Sorted by (code, rank of character as above).
extern const FourCornerEntry kFourCornerEntries[];
extern const size_t kFourCornerEntryCount;

// "Unihan <version> (<date>)" from the data files' headers.
extern const absl::string_view kUnihanVersion;

}  // namespace hisbridge::core::internal

#endif  // HISBRIDGE_LIBS_CORE_HAN_DATA_H_
