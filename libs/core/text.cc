#include "libs/core/text.h"

#include "libs/core/utf8.h"
#include "unicode/bytestream.h"
#include "unicode/normalizer2.h"
#include "unicode/stringpiece.h"
#include "unicode/utypes.h"

namespace hisbridge::core {
namespace {

// Code points whose NFKC image is known without ICU and which never take part
// in composition with their neighbours.
bool FoldsWithoutIcu(char32_t cp) {
  return cp < 0x80 || IsHanCodePoint(cp) || (cp >= 0xFF01 && cp <= 0xFF5E) ||
         (cp >= 0x3000 && cp <= 0x3035) || cp == 0xB7;
}

bool NormalizeWithIcu(absl::string_view text, std::string* out) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status) || nfkc == nullptr) return false;
  out->clear();
  icu::StringByteSink<std::string> sink(out);
  nfkc->normalizeUTF8(0, icu::StringPiece(text.data(), static_cast<int32_t>(text.size())), sink,
                      nullptr, status);
  return U_SUCCESS(status);
}

}  // namespace

bool NormalizeNfkc(absl::string_view text, std::string* out) {
  out->clear();
  out->reserve(text.size());
  // Unchanged code points are copied in runs; only the full-width forms and
  // the ideographic space are rewritten.
  size_t run_start = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[pos]);
    if (lead < 0x80) {
      ++pos;
      continue;
    }
    // U+4000..U+9FFF (lead bytes E4..E9: CJK extension A's tail, the Yijing
    // hexagrams and the unified ideographs) is NFKC-invariant and never
    // composes: skip it without decoding, it is most of a Chinese record.
    if (lead >= 0xE4 && lead <= 0xE9 && text.size() - pos >= 3 &&
        (static_cast<unsigned char>(text[pos + 1]) & 0xC0) == 0x80 &&
        (static_cast<unsigned char>(text[pos + 2]) & 0xC0) == 0x80) {
      pos += 3;
      continue;
    }
    const size_t start = pos;
    char32_t cp;
    if (!DecodeUtf8(text, &pos, &cp)) {
      out->clear();
      return false;
    }
    if (!FoldsWithoutIcu(cp)) {
      if (!IsValidUtf8(text.substr(pos)) || text.size() > 0x7FFFFFFF) {
        out->clear();
        return false;
      }
      if (!NormalizeWithIcu(text, out)) {
        out->clear();
        return false;
      }
      return true;
    }
    const char32_t folded = FoldWidth(cp);
    if (folded != cp) {
      out->append(text.data() + run_start, start - run_start);
      AppendUtf8(folded, out);
      run_start = pos;
    }
  }
  out->append(text.data() + run_start, text.size() - run_start);
  return true;
}

}  // namespace hisbridge::core
