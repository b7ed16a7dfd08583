#include "libs/core/han.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_format.h"
#include "libs/core/han_data.h"
#include "libs/core/text.h"

namespace hisbridge::core {
namespace {

using internal::HanEntry;

// The unified ideographs U+4E00..U+9FFF hold nearly every character of a
// Chinese name: index them directly (84 KiB, built on first use) instead of
// a binary search over the whole table per character.
constexpr char32_t kUroBegin = 0x4E00;
constexpr char32_t kUroEnd = 0xA000;
constexpr uint32_t kNoEntry = 0xFFFFFFFF;

const std::vector<uint32_t>& UroIndex() {
  static const std::vector<uint32_t>* const index = [] {
    auto* v = new std::vector<uint32_t>(kUroEnd - kUroBegin, kNoEntry);
    for (size_t i = 0; i < internal::kHanEntryCount; ++i) {
      const char32_t cp = internal::kHanEntries[i].cp;
      if (cp >= kUroBegin && cp < kUroEnd) (*v)[cp - kUroBegin] = static_cast<uint32_t>(i);
    }
    return v;
  }();
  return *index;
}

const HanEntry* FindEntry(char32_t cp) {
  if (cp >= kUroBegin && cp < kUroEnd) {
    const uint32_t i = UroIndex()[cp - kUroBegin];
    return i == kNoEntry ? nullptr : &internal::kHanEntries[i];
  }
  const HanEntry* begin = internal::kHanEntries;
  const HanEntry* end = begin + internal::kHanEntryCount;
  const HanEntry* it =
      std::lower_bound(begin, end, cp, [](const HanEntry& e, char32_t c) { return e.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

FourCornerCode Decode(uint32_t packed) {
  FourCornerCode code;
  if (packed == 0) return code;
  code.main = static_cast<uint16_t>(packed / 16);
  const uint32_t supplement = packed % 16;
  code.supplement = supplement == 15 ? -1 : static_cast<int8_t>(supplement);
  return code;
}

bool SameCode(uint32_t a, uint32_t b) {
  if (a == 0 || b == 0) return false;
  if (a / 16 != b / 16) return false;
  return a % 16 == b % 16 || a % 16 == 15 || b % 16 == 15;
}

}  // namespace

bool IsHan(char32_t cp) { return IsHanCodePoint(cp); }

char32_t ToSimplified(char32_t cp) {
  const HanEntry* e = FindEntry(cp);
  return e != nullptr && e->simplified != 0 ? e->simplified : cp;
}

absl::Span<const char32_t> TraditionalVariants(char32_t cp) {
  const HanEntry* e = FindEntry(cp);
  if (e == nullptr) return {};
  return absl::Span<const char32_t>(internal::kHanTraditionalPool + e->traditional_begin,
                                    e->traditional_count);
}

absl::Span<const SyllableId> Readings(char32_t cp) {
  const HanEntry* e = FindEntry(cp);
  if (e == nullptr) return {};
  return absl::Span<const SyllableId>(internal::kHanReadingPool + e->readings_begin,
                                      e->readings_count);
}

absl::string_view SyllableText(SyllableId id) { return internal::kSyllables[id]; }

size_t SyllableCount() { return internal::kSyllableCount; }

absl::optional<SyllableId> FindSyllable(absl::string_view text) {
  const absl::string_view* begin = internal::kSyllables;
  const absl::string_view* end = begin + internal::kSyllableCount;
  const absl::string_view* it = std::lower_bound(begin, end, text);
  if (it == end || *it != text) return absl::nullopt;
  return static_cast<SyllableId>(it - begin);
}

absl::Span<const char32_t> CharactersWithReading(SyllableId syllable) {
  if (syllable >= internal::kSyllableCount) return {};
  const uint32_t begin = internal::kSyllableCharBegin[syllable];
  const uint32_t end = internal::kSyllableCharBegin[syllable + 1];
  return absl::Span<const char32_t>(internal::kSyllableChars + begin, end - begin);
}

std::vector<char32_t> Homophones(char32_t cp, bool standard_only) {
  std::vector<char32_t> out;
  const absl::Span<const SyllableId> readings = Readings(cp);
  if (readings.empty()) return out;
  for (char32_t c : CharactersWithReading(readings[0])) {
    if (c == cp || (standard_only && !IsStandardCharacter(c))) continue;
    out.push_back(c);
  }
  return out;
}

std::string FourCornerCode::ToString() const {
  if (!valid()) return "";
  if (supplement < 0) return absl::StrFormat("%04d", main);
  return absl::StrFormat("%04d.%d", main, supplement);
}

FourCornerCode FourCorner(char32_t cp) {
  const HanEntry* e = FindEntry(cp);
  return e == nullptr ? FourCornerCode() : Decode(e->four_corner);
}

bool SameFourCorner(char32_t a, char32_t b) {
  const HanEntry* ea = FindEntry(a);
  const HanEntry* eb = FindEntry(b);
  return ea != nullptr && eb != nullptr && SameCode(ea->four_corner, eb->four_corner);
}

std::vector<char32_t> VisuallySimilar(char32_t cp, bool standard_only) {
  std::vector<char32_t> out;
  const HanEntry* e = FindEntry(cp);
  if (e == nullptr || e->four_corner == 0) return out;
  const internal::FourCornerEntry* begin = internal::kFourCornerEntries;
  const internal::FourCornerEntry* end = begin + internal::kFourCornerEntryCount;
  // Entries are sorted by packed code, so one main code is a contiguous run.
  const uint32_t lo = e->four_corner / 16 * 16;
  const internal::FourCornerEntry* it = std::lower_bound(
      begin, end, lo, [](const internal::FourCornerEntry& f, uint32_t c) { return f.code < c; });
  for (; it != end && it->code < lo + 16; ++it) {
    if (it->cp == cp || !SameCode(it->code, e->four_corner)) continue;
    if (standard_only && !IsStandardCharacter(it->cp)) continue;
    out.push_back(it->cp);
  }
  // The run mixes supplementary digits; order it like every other list here.
  std::stable_sort(out.begin(), out.end(), [](char32_t a, char32_t b) {
    const HanEntry* x = FindEntry(a);
    const HanEntry* y = FindEntry(b);
    const int rx = (x->flags & internal::kFlagStandard) ? 0 : 1;
    const int ry = (y->flags & internal::kFlagStandard) ? 0 : 1;
    if (rx != ry) return rx < ry;
    return x->frequency < y->frequency;
  });
  return out;
}

HanCharData LookupHan(char32_t cp) {
  HanCharData d;
  d.simplified = cp;
  const HanEntry* e = FindEntry(cp);
  if (e == nullptr) return d;
  if (e->simplified != 0) d.simplified = e->simplified;
  d.four_corner = Decode(e->four_corner);
  d.readings = absl::Span<const SyllableId>(internal::kHanReadingPool + e->readings_begin,
                                            e->readings_count);
  return d;
}

bool IsStandardCharacter(char32_t cp) {
  const HanEntry* e = FindEntry(cp);
  return e != nullptr && (e->flags & internal::kFlagStandard) != 0;
}

absl::string_view UnihanVersion() { return internal::kUnihanVersion; }

}  // namespace hisbridge::core
