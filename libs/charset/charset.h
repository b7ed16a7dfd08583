// Text encodings that clinic systems send, converted to and from UTF-8.
//
// Every connector turns incoming bytes into UTF-8 here, once, before any
// parser looks at characters: HL7 v2 messages (the encoding named by MSH-18),
// CSV exports (GBK / GB18030 / UTF-8, given or detected) and anything else.
// Conversion is strict: an invalid or truncated byte sequence is an error
// naming the encoding and the byte offset; nothing is replaced or guessed.
// GBK is a subset of GB18030, so GBK input is decoded with the GB18030
// converter (which also accepts the four-byte sequences a GBK decoder would
// refuse).
//
// Thread safety: pure functions; each call opens its own ICU converter.
#ifndef HISBRIDGE_LIBS_CHARSET_CHARSET_H_
#define HISBRIDGE_LIBS_CHARSET_CHARSET_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::charset {

enum class Encoding {
  kUtf8,
  kGb18030,  // also GBK and GB2312 input
  kAscii,    // US-ASCII: bytes above 0x7F are errors
  kLatin1,   // ISO 8859-1
  kBig5,
  kIso2022Jp,  // JIS X 0208 with ISO 2022 escapes (HL7 "ISO IR87")
};

// Parses an encoding name as users type it: "utf-8", "UTF8", "gbk",
// "gb2312", "GB18030", "gb-18030", "latin1", "iso-8859-1", "ascii", "big5".
// Anything else is INVALID_ARGUMENT listing the supported names.
absl::StatusOr<Encoding> ParseEncodingName(absl::string_view name);

// Canonical lower-case name: "utf-8", "gb18030", "ascii", "iso-8859-1",
// "big5", "iso-2022-jp".
absl::string_view EncodingName(Encoding encoding);

// Strict UTF-8 validation (RFC 3629: no overlongs, surrogates or values
// above U+10FFFF). Returns the offset of the first invalid byte, or
// text.size() when the text is valid.
size_t FirstInvalidUtf8(absl::string_view text);
inline bool IsValidUtf8(absl::string_view text) { return FirstInvalidUtf8(text) == text.size(); }

// Converts `bytes` in `encoding` to UTF-8. Invalid input is
// INVALID_ARGUMENT: "invalid gb18030 byte sequence at byte 17 (0x81 0x20)".
absl::StatusOr<std::string> ToUtf8(absl::string_view bytes, Encoding encoding);

// Converts UTF-8 text to `encoding`. A character the encoding cannot
// represent is INVALID_ARGUMENT naming it.
absl::StatusOr<std::string> FromUtf8(absl::string_view utf8, Encoding encoding);

// The encoding of a file or message whose encoding nobody named: valid UTF-8
// (or pure ASCII) is UTF-8; anything that decodes as GB18030 is GB18030;
// otherwise NOT_FOUND ("neither valid UTF-8 nor GB18030: invalid byte at
// offset N"). A UTF-8 sequence cut off at the very end of `sample` (a sample
// taken from the head of a larger file) does not count against UTF-8.
absl::StatusOr<Encoding> DetectEncoding(absl::string_view sample);

}  // namespace hisbridge::charset

#endif  // HISBRIDGE_LIBS_CHARSET_CHARSET_H_
