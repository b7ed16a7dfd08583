// The individual errors the generator applies to a field, as pure
// functions of the true value and a random stream. Each returns false
// (leaving *out alone) when the value offers no place for that error, e.g.
// a name none of whose given-name characters has a homophone: the caller
// then counts the record as not eligible rather than silently tagging an
// error that is not there.
//
// The character errors are real ones, checked against libs/core/han.h:
// homophones share the customary toneless reading (core::Homophones),
// similar characters share a four-corner code (core::VisuallySimilar),
// traditional forms are Unihan kTraditionalVariants. Substitutes are drawn
// from the standard characters (通用规范汉字表) an input method offers,
// common name characters first, as a registrar picking the wrong candidate
// would.
//
// Thread safety: pure functions; the substitute cache is built once and
// immutable.
#ifndef HISBRIDGE_LIBS_SYNTH_CORRUPTION_H_
#define HISBRIDGE_LIBS_SYNTH_CORRUPTION_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "libs/synth/random.h"

namespace hisbridge::synth {

std::vector<char32_t> DecodeChars(absl::string_view text);
std::string EncodeChars(const std::vector<char32_t>& chars);

// --- resident ids (ASCII digits, X last) ---

// One character replaced by another digit (an 'X' check character by a
// digit).
bool IdOneDigit(absl::string_view id, Rng& rng, std::string* out);
// Two adjacent, different characters swapped.
bool IdTransposition(absl::string_view id, Rng& rng, std::string* out);
// Ways HIS exports write a valid id: "450324 19850302 123X", "45032419850302123x",
// "'450324198503021234", full-width digits.
std::string IdFormatNoise(absl::string_view id, Rng& rng);

// --- names (surname + given, Han) ---

bool NameHomophone(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out);
bool NameSimilarChar(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out);
// A character of the whole name (surname included) in a traditional form.
bool NameTraditional(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out);
// A character whose customary reading differs by a southern-Mandarin
// accent confusion and that shares no reading with the original:
// 林 lin -> 凌 ling, 刘 liu -> 牛 niu, 辉 hui -> 飞 fei, 志 zhi -> 子 zi.
bool NameNearHomophone(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out);
// The syllables an accent confuses `syllable` with (n/l, h/f before u,
// z/zh, c/ch, s/sh, -n/-ng), only real syllables.
std::vector<std::string> AccentVariants(absl::string_view syllable);
bool HasHomophoneCandidate(absl::string_view given);
bool HasNearHomophoneCandidate(absl::string_view given);
bool HasSimilarCandidate(absl::string_view given);
bool HasTraditionalCandidate(absl::string_view name);

// "WANG XIAOMING", "Wang Xiaoming", "wang xiao ming", "XIAOMING WANG";
// surnames with their surname reading (单 -> SHAN). False when a character
// has no reading.
bool NamePinyin(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out);
// "王 小明", "王小明 ", "王  小 明".
std::string NameSpaceNoise(absl::string_view name, Rng& rng);
// "王小明　", "王　小明", "王小明（新）", "王小明＊".
std::string NameFullwidthNoise(absl::string_view name, Rng& rng);

// --- dates ---

// The lunar birthday written as a solar date: 20-50 days earlier.
absl::CivilDay LunarShift(absl::CivilDay day, Rng& rng);

// --- phones (digits) ---

// One digit after the operator prefix replaced.
bool PhoneOneDigit(absl::string_view digits, Rng& rng, std::string* out);

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_CORRUPTION_H_
