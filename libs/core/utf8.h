// Strict UTF-8 decoding and encoding for the normalisers.
//
// Clinic exports arrive in every encoding a HIS was ever configured with, so
// text is validated before anything reads it: overlong forms, surrogates,
// code points above U+10FFFF and truncated sequences are all invalid (RFC
// 3629). Invalid input is reported, never guessed at.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_UTF8_H_
#define HISBRIDGE_LIBS_CORE_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace hisbridge::core {

// Decodes the code point starting at text[*pos]. On success stores it in
// *cp, advances *pos past it and returns true. On an invalid or truncated
// sequence returns false and leaves *pos unchanged. *pos must be <
// text.size().
inline bool DecodeUtf8(absl::string_view text, size_t* pos, char32_t* cp);

bool IsValidUtf8(absl::string_view text);

// Byte offset of the first invalid sequence, or text.size() when valid.
size_t FirstInvalidUtf8(absl::string_view text);

// Appends the UTF-8 encoding of `cp` (which must be a Unicode scalar value).
inline void AppendUtf8(char32_t cp, std::string* out);

// Number of code points in valid UTF-8 text.
size_t CountCodePoints(absl::string_view text);

// Inline: every normaliser decodes every code point through it.
inline bool DecodeUtf8(absl::string_view text, size_t* pos, char32_t* cp) {
  const size_t i = *pos;
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *cp = b0;
    *pos = i + 1;
    return true;
  }
  size_t len;
  char32_t value;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, value = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, value = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, value = b0 & 0x07, min = 0x10000;
  } else {
    return false;  // continuation byte or 0xF8..0xFF
  }
  if (text.size() - i < len) return false;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) return false;
    value = (value << 6) | (b & 0x3F);
  }
  // Overlong forms would let "/" or "\0" hide in other spellings; surrogates
  // and values above U+10FFFF are not characters.
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
  *cp = value;
  *pos = i + len;
  return true;
}

// Inline, and one append per code point: name and address normalisers
// append every character they keep.
inline void AppendUtf8(char32_t cp, std::string* out) {
  char buf[4];
  size_t n;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
    return;
  } else if (cp < 0x800) {
    buf[0] = static_cast<char>(0xC0 | (cp >> 6));
    buf[1] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    buf[0] = static_cast<char>(0xE0 | (cp >> 12));
    buf[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[2] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    buf[0] = static_cast<char>(0xF0 | (cp >> 18));
    buf[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 4;
  }
  out->append(buf, n);
}

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_UTF8_H_
