// Unicode compatibility normalisation (NFKC) tuned for clinic data.
//
// HIS front ends are typed with Chinese input methods, so full-width digits
// and letters ("１３８", "ＷＡＮＧ"), the ideographic space and CJK
// compatibility ideographs are everywhere. NFKC folds all of them to their
// ordinary forms. Most fields are plain ASCII or common Han characters, which
// NFKC leaves alone or maps one-to-one; those are folded here without ICU, and
// only other text goes through ICU's normaliser.
//
// Pure functions; thread-safe (ICU's NFKC instance is immutable).
#ifndef HISBRIDGE_LIBS_CORE_TEXT_H_
#define HISBRIDGE_LIBS_CORE_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace hisbridge::core {

// Replaces *out with the NFKC form of `text`. Returns false (and clears
// *out) when `text` is not valid UTF-8.
bool NormalizeNfkc(absl::string_view text, std::string* out);

// The NFKC image of one code point when it maps to a single code point that
// this library cares about: full-width ASCII -> ASCII, U+3000 -> ' '.
// Other code points are returned unchanged.
inline char32_t FoldWidth(char32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) return cp - 0xFEE0;
  if (cp == 0x3000) return ' ';
  return cp;
}

// Unified CJK ideographs (the URO and extensions A to H). Compatibility
// ideographs are not included: NFKC maps them to unified ones.
inline bool IsHanCodePoint(char32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2EBEF) || (cp >= 0x30000 && cp <= 0x323AF);
}

// Whitespace as clinics type it: ASCII blanks, NBSP, the ideographic space
// and the other Unicode spaces.
inline bool IsSpaceCodePoint(char32_t cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' ||
         cp == 0xA0 || cp == 0x3000 || (cp >= 0x2000 && cp <= 0x200B) || cp == 0x202F ||
         cp == 0x205F || cp == 0xFEFF;
}

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_TEXT_H_
