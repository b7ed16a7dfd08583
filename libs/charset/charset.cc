#include "libs/charset/charset.h"

#include <unicode/ucnv.h>
#include <unicode/ucnv_err.h>
#include <unicode/ustring.h>
#include <unicode/utypes.h>

#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace hisbridge::charset {
namespace {

const char* IcuName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kUtf8: return "UTF-8";
    case Encoding::kGb18030: return "GB18030";
    case Encoding::kAscii: return "US-ASCII";
    case Encoding::kLatin1: return "ISO-8859-1";
    case Encoding::kBig5: return "Big5";
    case Encoding::kIso2022Jp: return "ISO_2022,locale=ja,version=0";
  }
  return "UTF-8";
}

struct ConverterCloser {
  void operator()(UConverter* c) const { ucnv_close(c); }
};
using Converter = std::unique_ptr<UConverter, ConverterCloser>;

absl::StatusOr<Converter> OpenStrict(Encoding encoding) {
  UErrorCode status = U_ZERO_ERROR;
  Converter conv(ucnv_open(IcuName(encoding), &status));
  if (U_FAILURE(status) || conv == nullptr) {
    return absl::InternalError(absl::StrCat("ICU has no converter for ", EncodingName(encoding), ": ",
                                            u_errorName(status)));
  }
  // Stop at the first invalid sequence instead of substituting U+FFFD: a
  // wrongly decoded name would link the wrong people.
  status = U_ZERO_ERROR;
  ucnv_setToUCallBack(conv.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
  ucnv_setFromUCallBack(conv.get(), UCNV_FROM_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &status);
  if (U_FAILURE(status)) return absl::InternalError(absl::StrCat("ICU: ", u_errorName(status)));
  return conv;
}

std::string HexBytes(absl::string_view bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < 4; ++i) {
    absl::StrAppend(&out, i ? " " : "", absl::StrFormat("0x%02X", static_cast<unsigned char>(bytes[i])));
  }
  return out;
}

}  // namespace

absl::StatusOr<Encoding> ParseEncodingName(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(absl::StripAsciiWhitespace(name));
  n = absl::StrReplaceAll(n, {{"-", ""}, {"_", ""}, {" ", ""}});
  if (n == "utf8") return Encoding::kUtf8;
  if (n == "gb18030" || n == "gbk" || n == "gb2312" || n == "cp936" || n == "windows936" || n == "euccn") {
    return Encoding::kGb18030;
  }
  if (n == "ascii" || n == "usascii") return Encoding::kAscii;
  if (n == "latin1" || n == "iso88591" || n == "88591") return Encoding::kLatin1;
  if (n == "big5") return Encoding::kBig5;
  if (n == "iso2022jp") return Encoding::kIso2022Jp;
  return absl::InvalidArgumentError(absl::StrCat("unsupported encoding \"", name,
                                                 "\": use utf-8, gbk, gb18030, gb2312, ascii, latin1 or big5"));
}

absl::string_view EncodingName(Encoding encoding) {
  switch (encoding) {
    case Encoding::kUtf8: return "utf-8";
    case Encoding::kGb18030: return "gb18030";
    case Encoding::kAscii: return "ascii";
    case Encoding::kLatin1: return "iso-8859-1";
    case Encoding::kBig5: return "big5";
    case Encoding::kIso2022Jp: return "iso-2022-jp";
  }
  return "utf-8";
}

size_t FirstInvalidUtf8(absl::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    char32_t cp, min;
    if ((b0 & 0xE0) == 0xC0) {
      len = 2, cp = b0 & 0x1F, min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3, cp = b0 & 0x0F, min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4, cp = b0 & 0x07, min = 0x10000;
    } else {
      return i;
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return n;
}

absl::StatusOr<std::string> ToUtf8(absl::string_view bytes, Encoding encoding) {
  if (encoding == Encoding::kUtf8) {
    const size_t bad = FirstInvalidUtf8(bytes);
    if (bad != bytes.size()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid utf-8 byte sequence at byte ", bad, " (",
                                                     HexBytes(bytes.substr(bad)), ")"));
    }
    return std::string(bytes);
  }
  if (encoding == Encoding::kAscii) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (static_cast<unsigned char>(bytes[i]) >= 0x80) {
        return absl::InvalidArgumentError(
            absl::StrCat("byte ", i, " (", HexBytes(bytes.substr(i, 1)), ") is not ASCII"));
      }
    }
    return std::string(bytes);
  }
  auto conv = OpenStrict(encoding);
  if (!conv.ok()) return conv.status();
  std::vector<UChar> utf16(bytes.size() + 16);
  const char* source = bytes.data();
  const char* const source_limit = bytes.data() + bytes.size();
  UChar* target = utf16.data();
  UErrorCode status = U_ZERO_ERROR;
  // One UTF-16 unit per input byte at most for these encodings, so a single
  // call converts everything or stops at the first invalid sequence.
  ucnv_toUnicode(conv->get(), &target, utf16.data() + utf16.size(), &source, source_limit, nullptr, true, &status);
  if (U_FAILURE(status)) {
    char invalid[8];
    int8_t invalid_len = sizeof(invalid);
    UErrorCode ignored = U_ZERO_ERROR;
    ucnv_getInvalidChars(conv->get(), invalid, &invalid_len, &ignored);
    if (U_FAILURE(ignored)) invalid_len = 0;
    const size_t offset = static_cast<size_t>(source - bytes.data()) - static_cast<size_t>(invalid_len);
    return absl::InvalidArgumentError(absl::StrCat(
        status == U_TRUNCATED_CHAR_FOUND ? "truncated " : "invalid ", EncodingName(encoding),
        " byte sequence at byte ", offset, " (", HexBytes(absl::string_view(invalid, invalid_len)), ")"));
  }
  const int32_t units = static_cast<int32_t>(target - utf16.data());
  std::string out(static_cast<size_t>(units) * 3 + 1, '\0');
  int32_t written = 0;
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &written, utf16.data(), units, &status);
  if (U_FAILURE(status)) return absl::InternalError(absl::StrCat("ICU UTF-16 to UTF-8: ", u_errorName(status)));
  out.resize(static_cast<size_t>(written));
  return out;
}

absl::StatusOr<std::string> FromUtf8(absl::string_view utf8, Encoding encoding) {
  const size_t bad = FirstInvalidUtf8(utf8);
  if (bad != utf8.size()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid utf-8 byte sequence at byte ", bad));
  }
  if (encoding == Encoding::kUtf8) return std::string(utf8);
  auto conv = OpenStrict(encoding);
  if (!conv.ok()) return conv.status();
  std::vector<UChar> utf16(utf8.size() + 1);
  int32_t units = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strFromUTF8(utf16.data(), static_cast<int32_t>(utf16.size()), &units, utf8.data(),
                static_cast<int32_t>(utf8.size()), &status);
  if (U_FAILURE(status)) return absl::InternalError(absl::StrCat("ICU UTF-8 to UTF-16: ", u_errorName(status)));
  std::string out(static_cast<size_t>(units) * 4 + 16, '\0');
  status = U_ZERO_ERROR;
  const int32_t written = ucnv_fromUChars(conv->get(), out.data(), static_cast<int32_t>(out.size()),
                                          utf16.data(), units, &status);
  if (U_FAILURE(status)) {
    return absl::InvalidArgumentError(
        absl::StrCat("text has characters that ", EncodingName(encoding), " cannot represent"));
  }
  out.resize(static_cast<size_t>(written));
  return out;
}

absl::StatusOr<Encoding> DetectEncoding(absl::string_view sample) {
  const size_t bad = FirstInvalidUtf8(sample);
  if (bad == sample.size()) return Encoding::kUtf8;
  // A multi-byte character cut by the end of the sample is still UTF-8.
  if (sample.size() - bad < 4 && static_cast<unsigned char>(sample[bad]) >= 0xC2) {
    bool only_continuations = true;
    for (size_t i = bad + 1; i < sample.size(); ++i) {
      if ((static_cast<unsigned char>(sample[i]) & 0xC0) != 0x80) only_continuations = false;
    }
    if (only_continuations) return Encoding::kUtf8;
  }
  auto gb = ToUtf8(sample, Encoding::kGb18030);
  if (gb.ok()) return Encoding::kGb18030;
  // A GB18030 sequence cut by the end of the sample (at most three bytes
  // of a four-byte sequence remain).
  for (size_t cut = 1; cut <= 3 && cut < sample.size(); ++cut) {
    if (ToUtf8(sample.substr(0, sample.size() - cut), Encoding::kGb18030).ok()) return Encoding::kGb18030;
  }
  return absl::NotFoundError(absl::StrCat("neither valid UTF-8 (invalid byte at offset ", bad,
                                          ") nor GB18030 (", gb.status().message(),
                                          "); name the encoding explicitly"));
}

}  // namespace hisbridge::charset
