// Telephone numbers of patients (mainland China numbering plan).
//
//   "+86 138-1234-5678", "0086 13812345678", "138 1234 5678"  -> mobile 13812345678
//   "0773-8881234", "(0773)8881234", "0773 888 1234"          -> landline 07738881234
//   "8881234"                                                 -> local number, no area code
//   "13812345678/0773-8881234", "13812345678，13987654321"     -> two numbers
//
// Junk that must never link two people is flagged: one digit repeated
// ("00000000", "13888888888"), counting sequences ("12345678901"), and text
// such as "无" or "不详".
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_PHONE_H_
#define HISBRIDGE_LIBS_CORE_PHONE_H_

#include <cstdint>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace hisbridge::core {

enum class PhoneKind : uint8_t {
  kMobile,    // 11 digits, 1[3-9]...
  kLandline,  // area code (010, 02x, 0xxx) + 7 or 8 digits
  kLocal,     // 7 or 8 digits without an area code
  kService,   // 110, 120, 12345, 95xxx, 400/800 numbers: not a person's phone
  kForeign,   // another country code (+852 ...), kept with its '+'
  kInvalid,   // digits that fit no pattern
};

absl::string_view PhoneKindName(PhoneKind kind);

struct PhoneNumber {
  PhoneKind kind = PhoneKind::kInvalid;
  // Canonical digits: "13812345678", "07738881234", "8881234", "+85291234567";
  // for kInvalid the digits as found.
  std::string digits;
  // Landlines: the length of the area code within `digits` (3 or 4).
  uint8_t area_code_length = 0;
  bool junk = false;
  bool had_country_code = false;  // +86 / 0086 removed
  bool had_extension = false;     // "-801", "转801" removed
  // A mobile number whose 3-digit prefix is not allocated to any operator.
  bool unallocated_prefix = false;

  // Worth comparing: a mobile, landline, local or foreign number, not junk.
  bool usable() const {
    return !junk && (kind == PhoneKind::kMobile || kind == PhoneKind::kLandline ||
                     kind == PhoneKind::kLocal || kind == PhoneKind::kForeign);
  }
  // The subscriber number without the area code.
  absl::string_view local_number() const {
    return absl::string_view(digits).substr(area_code_length);
  }
};

struct PhoneResult {
  // In the order written; at most kMaxPhones.
  absl::InlinedVector<PhoneNumber, 2> numbers;
  bool invalid_utf8 = false;
  // Characters other than digits and phone punctuation were present
  // ("无", "不详", "tel:"); a field with only such text has no numbers.
  bool had_text = false;
  // The field held only text or a placeholder such as "无".
  bool placeholder = false;
};

inline constexpr size_t kMaxPhones = 4;

PhoneResult ParsePhones(absl::string_view raw);

// How two numbers relate, strongest first.
enum class PhoneMatch : uint8_t {
  kMissing,  // either is not usable()
  kExact,
  kSameLocalNumber,    // a landline with and without its area code
  kOneDigitDifferent,  // one digit or two adjacent digits differ
  kDifferent,
};

absl::string_view PhoneMatchName(PhoneMatch match);

PhoneMatch ComparePhones(const PhoneNumber& a, const PhoneNumber& b);
// The strongest relation between any number of `a` and any of `b`.
PhoneMatch CompareAnyPhones(absl::Span<const PhoneNumber> a, absl::Span<const PhoneNumber> b);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_PHONE_H_
