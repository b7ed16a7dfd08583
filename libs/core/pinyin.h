// Toneless pinyin written in latin letters: splitting "xiaoming" into
// syllables, and the distances the matcher grades names by.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_PINYIN_H_
#define HISBRIDGE_LIBS_CORE_PINYIN_H_

#include <cstddef>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "libs/core/han.h"

namespace hisbridge::core {

using SyllableList = absl::InlinedVector<SyllableId, 4>;

// Splits lower-case letters (a-z, ü written "v") into pinyin syllables,
// appending them to *out: "xiaoming" -> xiao ming, "lyu" -> lv (the
// passport spelling of ü), "nana" -> na na. Prefers the fewest syllables,
// and no syllable starting with a, e or o after another one (pinyin writes
// an apostrophe there: "xian" is xian, "xi'an" -- see the name parser -- is
// xi an), then longer syllables first. Returns false (and leaves *out
// unchanged) when the letters are not pinyin ("smith"). Inputs longer than
// 64 letters are not pinyin.
bool SegmentPinyin(absl::string_view letters, SyllableList* out);

// Optimal string alignment distance (Levenshtein plus adjacent
// transpositions) between two byte strings, e.g. two full-pinyin strings
// "wangxiaoming" / "wangxiaomin" -> 1. Strings longer than 64 bytes are
// compared on their first 64 bytes.
int EditDistance(absl::string_view a, absl::string_view b);

// EditDistance(a, b) <= max_distance, stopping as soon as the answer is
// known (the matcher asks only "within 1 or 2?" of every candidate pair).
bool EditDistanceAtMost(absl::string_view a, absl::string_view b, int max_distance);

// Two syllables that a latin-letter spelling cannot tell apart: identical,
// or differing only in ü written as u ("lv" / "lu", "nve" / "nue").
bool SyllablesEquivalent(SyllableId a, SyllableId b);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_PINYIN_H_
