#include "libs/core/phone.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "libs/core/resident_id.h"
#include "libs/core/text.h"
#include "libs/core/utf8.h"

namespace hisbridge::core {
namespace {

// Mobile prefixes allocated by MIIT (voice and data): 13x, 145-149, 15[0-35-9],
// 162/165-167, 17[0-35-8], 18x, 19[0-35-9].
bool IsAllocatedMobilePrefix(absl::string_view d) {
  const char b = d[1];
  const char c = d[2];
  switch (b) {
    case '3':
    case '8':
      return true;
    case '4':
      return c >= '5' && c <= '9';
    case '5':
      return c != '4';
    case '6':
      return c == '2' || (c >= '5' && c <= '7');
    case '7':
      return c != '4' && c != '9';
    case '9':
      return c != '4';
    default:
      return false;
  }
}

bool AllSame(absl::string_view d) {
  return !d.empty() && std::all_of(d.begin(), d.end(), [&](char c) { return c == d[0]; });
}

bool IsCountingSequence(absl::string_view d) {
  if (d.size() < 6) return false;
  bool up = true, down = true;
  for (size_t i = 1; i < d.size(); ++i) {
    if ((d[i - 1] - '0' + 1) % 10 != d[i] - '0') up = false;
    if ((d[i] - '0' + 1) % 10 != d[i - 1] - '0') down = false;
  }
  return up || down;
}

// Area codes: 010 and 02x have three digits, every other one four.
size_t AreaCodeLength(absl::string_view d) {
  if (d.size() < 3 || d[0] != '0') return 0;
  if (d[1] == '1' && d[2] == '0') return 3;
  if (d[1] == '2') return 3;
  if (d[1] >= '3' && d[1] <= '9') return 4;
  return 0;
}

void Classify(std::string digits, bool plus, bool had_extension, PhoneNumber* out) {
  out->had_extension = had_extension;
  // Country codes: +86 / 0086 / 86 before a full national number.
  if (plus && absl::StartsWith(digits, "86")) {
    digits.erase(0, 2);
    out->had_country_code = true;
  } else if (absl::StartsWith(digits, "0086")) {
    digits.erase(0, 4);
    out->had_country_code = true;
  } else if (digits.size() == 13 && absl::StartsWith(digits, "861") && digits[3] >= '3') {
    digits.erase(0, 2);
    out->had_country_code = true;
  } else if (plus || absl::StartsWith(digits, "00")) {
    out->kind = PhoneKind::kForeign;
    out->digits = "+" + digits.substr(plus ? 0 : 2);
    out->junk = digits.size() < 8 || AllSame(digits.substr(plus ? 0 : 2));
    return;
  }
  // After a country code the trunk 0 of a landline is dropped: +86 773 8881234.
  if (out->had_country_code && !digits.empty() && digits[0] != '0' && digits[0] != '1') {
    digits.insert(digits.begin(), '0');
  }
  const size_t n = digits.size();
  if (n == 11 && digits[0] == '1' && digits[1] >= '3' && digits[1] <= '9') {
    out->kind = PhoneKind::kMobile;
    out->unallocated_prefix = !IsAllocatedMobilePrefix(digits);
    out->junk = AllSame(digits.substr(3)) || IsCountingSequence(digits) ||
                IsCountingSequence(digits.substr(3));
  } else if (const size_t area = AreaCodeLength(digits);
             area > 0 && n >= area + 7 && n <= area + 8) {
    out->kind = PhoneKind::kLandline;
    out->area_code_length = static_cast<uint8_t>(area);
    const absl::string_view local = absl::string_view(digits).substr(area);
    out->junk = AllSame(local) || IsCountingSequence(local) || local[0] == '0' || local[0] == '1';
  } else if ((n == 7 || n == 8) && digits[0] >= '2') {
    out->kind = PhoneKind::kLocal;
    out->junk = AllSame(digits) || IsCountingSequence(digits);
  } else if ((n >= 3 && n <= 5 && digits[0] == '1') || (n == 5 && digits[0] == '9') ||
             (n == 10 && (absl::StartsWith(digits, "400") || absl::StartsWith(digits, "800")))) {
    out->kind = PhoneKind::kService;
  } else {
    out->kind = PhoneKind::kInvalid;
    out->junk = AllSame(digits) || IsCountingSequence(digits);
  }
  out->digits = std::move(digits);
}

bool IsNumberSeparator(char32_t cp) {
  return cp == '/' || cp == ',' || cp == ';' || cp == '|' || cp == 0x3001 || cp == U'或' ||
         cp == '\n' || cp == U'及' || cp == U'和' || cp == '\\';
}

bool IsPhonePunctuation(char32_t cp) {
  return IsSpaceCodePoint(cp) || cp == '-' || cp == '(' || cp == ')' || cp == '.' || cp == 0x2014 ||
         cp == 0x2013 || cp == 0x2010 || cp == 0x2212 || cp == '_' || cp == ':' || cp == '[' ||
         cp == ']';
}

}  // namespace

absl::string_view PhoneKindName(PhoneKind kind) {
  switch (kind) {
    case PhoneKind::kMobile:
      return "mobile";
    case PhoneKind::kLandline:
      return "landline";
    case PhoneKind::kLocal:
      return "local";
    case PhoneKind::kService:
      return "service";
    case PhoneKind::kForeign:
      return "foreign";
    case PhoneKind::kInvalid:
      return "invalid";
  }
  return "invalid";
}

PhoneResult ParsePhones(absl::string_view raw) {
  PhoneResult result;
  std::string text;
  if (!NormalizeNfkc(raw, &text)) {
    result.invalid_utf8 = true;
    return result;
  }
  // Walk the text once, cutting it into numbers at separators. Within a
  // number: digits are kept; '+' only first; "转", "ext", "分机" or a third
  // dash group start an extension, which is dropped.
  std::string digits;
  bool plus = false;
  bool in_extension = false;
  bool had_extension = false;
  int dash_groups = 0;
  bool last_was_digit = false;
  auto flush = [&]() {
    if (!digits.empty() && result.numbers.size() < kMaxPhones) {
      // Two mobile numbers typed without a separator: "1381234567813987654321".
      if (!plus && digits.size() == 22 && digits[0] == '1' && digits[11] == '1') {
        PhoneNumber first;
        Classify(digits.substr(0, 11), false, false, &first);
        if (first.kind == PhoneKind::kMobile) {
          result.numbers.push_back(std::move(first));
          digits.erase(0, 11);
        }
      }
      if (result.numbers.size() < kMaxPhones) {
        PhoneNumber number;
        Classify(std::move(digits), plus, had_extension, &number);
        result.numbers.push_back(std::move(number));
      }
    }
    digits.clear();
    plus = in_extension = had_extension = false;
    dash_groups = 0;
    last_was_digit = false;
  };
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    if (!DecodeUtf8(text, &pos, &cp)) break;  // NFKC output is valid; never loop
    if (cp >= '0' && cp <= '9') {
      if (!in_extension && digits.size() < 32) digits.push_back(static_cast<char>(cp));
      if (!last_was_digit && !in_extension) ++dash_groups;
      last_was_digit = true;
      continue;
    }
    const bool was_digit = last_was_digit;
    last_was_digit = false;
    if (IsNumberSeparator(cp)) {
      flush();
      continue;
    }
    if (cp == '+' && digits.empty()) {
      plus = true;
      continue;
    }
    if (cp == '-' && was_digit && dash_groups >= 2) {
      // "0773-888-1234" is one number; "0773-8881234-801" has an extension.
      const size_t area = AreaCodeLength(digits);
      if (area > 0 && digits.size() >= area + 7) {
        in_extension = had_extension = true;
      }
      continue;
    }
    if (IsPhonePunctuation(cp)) continue;
    if (cp == U'转' || cp == U'分' || cp == 'x' || cp == 'X' || cp == '#' || cp == 'e' ||
        cp == 'E') {
      if (!digits.empty()) {
        in_extension = had_extension = true;
        continue;
      }
    }
    if (!in_extension) result.had_text = true;
  }
  flush();
  result.placeholder = result.numbers.empty() && result.had_text;
  return result;
}

absl::string_view PhoneMatchName(PhoneMatch match) {
  switch (match) {
    case PhoneMatch::kMissing:
      return "missing";
    case PhoneMatch::kExact:
      return "exact";
    case PhoneMatch::kSameLocalNumber:
      return "same_local_number";
    case PhoneMatch::kOneDigitDifferent:
      return "one_digit_different";
    case PhoneMatch::kDifferent:
      return "different";
  }
  return "different";
}

PhoneMatch ComparePhones(const PhoneNumber& a, const PhoneNumber& b) {
  if (!a.usable() || !b.usable()) return PhoneMatch::kMissing;
  if (a.digits == b.digits) return PhoneMatch::kExact;
  const bool landline_pair = (a.kind == PhoneKind::kLandline && b.kind == PhoneKind::kLocal) ||
                             (a.kind == PhoneKind::kLocal && b.kind == PhoneKind::kLandline);
  if (landline_pair && a.local_number() == b.local_number()) return PhoneMatch::kSameLocalNumber;
  const IdDifference diff = ClassifyIdDifference(a.digits, b.digits);
  if (diff == IdDifference::kOneCharacterDifferent ||
      diff == IdDifference::kAdjacentTransposition) {
    return PhoneMatch::kOneDigitDifferent;
  }
  return PhoneMatch::kDifferent;
}

PhoneMatch CompareAnyPhones(absl::Span<const PhoneNumber> a, absl::Span<const PhoneNumber> b) {
  PhoneMatch best = PhoneMatch::kMissing;
  bool any_compared = false;
  for (const PhoneNumber& x : a) {
    for (const PhoneNumber& y : b) {
      const PhoneMatch m = ComparePhones(x, y);
      if (m == PhoneMatch::kMissing) continue;
      if (!any_compared || m < best) best = m;
      any_compared = true;
    }
  }
  return best;
}

}  // namespace hisbridge::core
