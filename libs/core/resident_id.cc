#include "libs/core/resident_id.h"

#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/region.h"
#include "libs/core/text.h"
#include "libs/core/utf8.h"

namespace hisbridge::core {
namespace {

constexpr std::array<int, 17> kWeights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
constexpr char kCheckCharacters[] = "10X98765432";

// Numbers on the residence permits of Hong Kong, Macao and Taiwan residents
// (港澳台居民居住证, since 2018) follow GB 11643 with these region codes.
bool IsResidencePermitRegion(absl::string_view two_digits) {
  return two_digits == "81" || two_digits == "82" || two_digits == "83";
}

int Digits(absl::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// GB 11643 ids exist only for people alive since the 1980s; anything older
// than this is a typo in the century, not a birth date.
constexpr int kEarliestBirthYear = 1850;

bool RealDate(int y, int m, int d, absl::CivilDay* out) {
  if (y < kEarliestBirthYear || m < 1 || m > 12 || d < 1 || d > 31) return false;
  const absl::CivilDay day(y, m, d);
  // CivilDay normalises 02-30 to 03-02; a real date survives unchanged.
  if (day.year() != y || day.month() != m || day.day() != d) return false;
  *out = day;
  return true;
}

}  // namespace

absl::string_view ResidentIdStatusName(ResidentIdStatus status) {
  switch (status) {
    case ResidentIdStatus::kValid:
      return "valid";
    case ResidentIdStatus::kEmpty:
      return "empty";
    case ResidentIdStatus::kBadCharacters:
      return "bad_characters";
    case ResidentIdStatus::kBadLength:
      return "bad_length";
    case ResidentIdStatus::kImpossibleDate:
      return "impossible_date";
    case ResidentIdStatus::kFutureDate:
      return "future_date";
    case ResidentIdStatus::kUnknownRegion:
      return "unknown_region";
    case ResidentIdStatus::kBadCheckDigit:
      return "bad_check_digit";
  }
  return "unknown";
}

char ResidentIdCheckDigit(absl::string_view first17) {
  if (first17.size() != 17 || !AllDigits(first17)) return '\0';
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheckCharacters[sum % 11];
}

ResidentIdResult ParseResidentId(absl::string_view raw, absl::CivilDay today) {
  ResidentIdResult result;
  ParseResidentId(raw, today, &result);
  return result;
}

void ParseResidentId(absl::string_view raw, absl::CivilDay today, ResidentIdResult* out) {
  ResidentIdResult& result = *out;
  result.status = ResidentIdStatus::kEmpty;
  result.canonical.clear();
  result.digits18.clear();
  result.has_birth_date = false;
  result.birth_date = absl::CivilDay();
  result.sex = Sex::kUnknown;
  result.region_code.clear();
  result.county_known = false;
  result.upgraded_from_15 = false;
  result.expected_check_digit = 0;
  // Collect the significant characters. More than 18 is already a length
  // error, but the whole value is scanned so that a stray letter anywhere is
  // reported as the more specific kBadCharacters.
  char buf[18];
  size_t n = 0;
  size_t count = 0;
  bool bad_character = false;
  bool x_misplaced = false;
  bool seen_significant = false;
  size_t pos = 0;
  while (pos < raw.size()) {
    char32_t cp;
    if (!DecodeUtf8(raw, &pos, &cp)) {
      result.status = ResidentIdStatus::kBadCharacters;
      return;
    }
    if (IsSpaceCodePoint(cp)) continue;
    cp = FoldWidth(cp);
    if (cp == '\'' && !seen_significant) continue;  // spreadsheet text marker
    seen_significant = true;
    if (cp == 'x') cp = 'X';
    if ((cp >= '0' && cp <= '9') || cp == 'X') {
      if (n < sizeof(buf)) buf[n++] = static_cast<char>(cp);
      ++count;
    } else {
      bad_character = true;
    }
  }
  if (bad_character) {
    result.status = ResidentIdStatus::kBadCharacters;
    return;
  }
  if (count == 0) {
    result.status = ResidentIdStatus::kEmpty;
    return;
  }
  if (count != 15 && count != 18) {
    result.status = ResidentIdStatus::kBadLength;
    return;
  }
  absl::string_view id(buf, count);
  for (size_t i = 0; i < count; ++i) {
    if (id[i] == 'X' && !(count == 18 && i == 17)) x_misplaced = true;
  }
  if (x_misplaced) {
    result.status = ResidentIdStatus::kBadCharacters;
    return;
  }

  std::string& digits = result.digits18;
  if (count == 18) {
    digits.assign(id.data(), id.size());
  } else {
    digits.reserve(18);
    digits.assign(id.data(), 6);
    digits.append("19");
    digits.append(id.data() + 6, 9);
    digits.push_back(ResidentIdCheckDigit(digits));
    result.upgraded_from_15 = true;
  }
  result.region_code.assign(digits.data(), 6);
  result.sex = (digits[16] - '0') % 2 == 1 ? Sex::kMale : Sex::kFemale;

  const absl::string_view d(digits);
  absl::CivilDay birth;
  if (!RealDate(Digits(d.substr(6, 4)), Digits(d.substr(10, 2)), Digits(d.substr(12, 2)), &birth)) {
    result.status = ResidentIdStatus::kImpossibleDate;
    return;
  }
  result.has_birth_date = true;
  result.birth_date = birth;
  if (birth > today) {
    result.status = ResidentIdStatus::kFutureDate;
    return;
  }

  const Region* county = FindRegion(result.region_code);
  result.county_known = county != nullptr && county->level() == RegionLevel::kCounty;
  result.canonical = digits;
  if (!IsProvinceCode(d.substr(0, 2)) && !IsResidencePermitRegion(d.substr(0, 2))) {
    result.status = ResidentIdStatus::kUnknownRegion;
    return;
  }
  const char expected = ResidentIdCheckDigit(d.substr(0, 17));
  if (expected != d[17]) {
    result.expected_check_digit = expected;
    result.status = ResidentIdStatus::kBadCheckDigit;
    return;
  }
  result.status = ResidentIdStatus::kValid;
  return;
}

std::string DescribeResidentIdProblem(const ResidentIdResult& r) {
  switch (r.status) {
    case ResidentIdStatus::kValid:
      return "";
    case ResidentIdStatus::kEmpty:
      return "resident id is empty";
    case ResidentIdStatus::kBadCharacters:
      return "resident id may contain only digits and a final X (spaces are ignored)";
    case ResidentIdStatus::kBadLength:
      return "resident id must have 18 characters (or 15 digits for ids issued before 1999)";
    case ResidentIdStatus::kImpossibleDate:
      return absl::StrCat("resident id ", r.digits18, " encodes birth date ",
                          absl::string_view(r.digits18).substr(6, 8),
                          r.upgraded_from_15 ? " (15-digit id, century 19 assumed)" : "",
                          ", which is not a real date after ", kEarliestBirthYear);
    case ResidentIdStatus::kFutureDate:
      return absl::StrCat("resident id ", r.digits18, " encodes birth date ",
                          absl::StrFormat("%04d-%02d-%02d", static_cast<int>(r.birth_date.year()),
                                          r.birth_date.month(), r.birth_date.day()),
                          ", which is in the future");
    case ResidentIdStatus::kUnknownRegion:
      return absl::StrCat("resident id ", r.digits18, " starts with ", r.region_code.substr(0, 2),
                          ", which is not a province code of GB/T 2260");
    case ResidentIdStatus::kBadCheckDigit:
      return absl::StrCat("resident id ", r.digits18, " ends in check character ",
                          absl::string_view(&r.digits18[17], 1),
                          " but its first 17 digits require ",
                          absl::string_view(&r.expected_check_digit, 1));
  }
  return "resident id is not valid";
}

absl::StatusOr<std::string> MakeResidentId(absl::string_view region6, absl::CivilDay birth_date,
                                           int sequence) {
  if (region6.size() != 6 || !AllDigits(region6)) {
    return absl::InvalidArgumentError(
        absl::StrCat("region must be 6 digits; got \"", region6, "\""));
  }
  if (sequence < 0 || sequence > 999) {
    return absl::InvalidArgumentError(absl::StrCat("sequence must be 0..999; got ", sequence));
  }
  if (birth_date.year() < kEarliestBirthYear || birth_date.year() > 9999) {
    return absl::InvalidArgumentError(
        absl::StrCat("birth year must be ", kEarliestBirthYear, "..9999; got ", birth_date.year()));
  }
  char tail[16];
  std::snprintf(tail, sizeof(tail), "%04d%02d%02d%03d", static_cast<int>(birth_date.year()),
                birth_date.month(), birth_date.day(), sequence);
  std::string id = absl::StrCat(region6, tail);
  id.push_back(ResidentIdCheckDigit(id));
  return id;
}

absl::StatusOr<std::string> UpgradeResidentId15(absl::string_view id15) {
  if (id15.size() != 15 || !AllDigits(id15)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a 15-digit id must be 15 digits; got \"", id15, "\""));
  }
  std::string id = absl::StrCat(id15.substr(0, 6), "19", id15.substr(6));
  id.push_back(ResidentIdCheckDigit(id));
  return id;
}

absl::StatusOr<std::string> DowngradeResidentId18(absl::string_view id18) {
  if (id18.size() != 18 || !AllDigits(id18.substr(0, 17))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an 18-character id must be 17 digits and a check character; got \"", id18, "\""));
  }
  if (id18.substr(6, 2) != "19") {
    return absl::InvalidArgumentError(
        absl::StrCat("only ids of people born 1900-1999 have a 15-digit form; got \"", id18, "\""));
  }
  return absl::StrCat(id18.substr(0, 6), id18.substr(8, 9));
}

IdDifference ClassifyIdDifference(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return IdDifference::kDifferent;
  size_t first = a.size();
  size_t diffs = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) {
      if (diffs == 0) first = i;
      if (++diffs > 2) return IdDifference::kDifferent;
    }
  }
  if (diffs == 0) return IdDifference::kSame;
  if (diffs == 1) return IdDifference::kOneCharacterDifferent;
  if (first + 1 < a.size() && a[first] == b[first + 1] && a[first + 1] == b[first]) {
    return IdDifference::kAdjacentTransposition;
  }
  return IdDifference::kDifferent;
}

ResidentIdMatch CompareResidentIds(const ResidentIdResult& a, const ResidentIdResult& b) {
  if (a.digits18.empty() || b.digits18.empty()) return ResidentIdMatch::kMissing;
  if (a.digits18 == b.digits18) return ResidentIdMatch::kSame;
  if (a.ok() && b.ok()) return ResidentIdMatch::kDifferentBothValid;
  switch (ClassifyIdDifference(a.digits18, b.digits18)) {
    case IdDifference::kOneCharacterDifferent:
      return ResidentIdMatch::kOneDigitDifferent;
    case IdDifference::kAdjacentTransposition:
      return ResidentIdMatch::kAdjacentTransposition;
    default:
      return ResidentIdMatch::kDifferent;
  }
}

}  // namespace hisbridge::core
