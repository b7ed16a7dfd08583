#include "libs/core/identifier.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "libs/core/resident_id.h"
#include "libs/core/text.h"
#include "libs/core/utf8.h"

namespace hisbridge::core {
namespace {

bool AllDigits(absl::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

bool AllAlnum(absl::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); });
}

bool IsGb11643WithPrefix(absl::string_view v, std::initializer_list<absl::string_view> prefixes) {
  if (v.size() != 18 || !AllDigits(v.substr(0, 17))) return false;
  if (std::none_of(prefixes.begin(), prefixes.end(),
                   [&](absl::string_view p) { return absl::StartsWith(v, p); })) {
    return false;
  }
  return ResidentIdCheckDigit(v.substr(0, 17)) == v[17];
}

bool WellFormed(IdType type, absl::string_view v) {
  if (v.empty()) return false;
  switch (type) {
    case IdType::kResidentIdCard:
    case IdType::kHouseholdRegister:
    case IdType::kDrivingLicence:
      return IsGb11643WithPrefix(v, {"1", "2", "3", "4", "5", "6", "7", "8"});
    case IdType::kPassport:
      return v.size() >= 5 && v.size() <= 17 && AllAlnum(v);
    case IdType::kHkMacaoTravelPermit:
      return (v[0] == 'H' || v[0] == 'M') && (v.size() == 9 || v.size() == 11) &&
             AllDigits(v.substr(1));
    case IdType::kTaiwanTravelPermit:
      return (v.size() == 8 && AllDigits(v)) || (v.size() == 10 && AllDigits(v)) ||
             (v.size() == 11 && AllDigits(v.substr(0, 10)) &&
              absl::ascii_isupper(static_cast<unsigned char>(v[10])));
    case IdType::kHkMacaoResidencePermit:
      return IsGb11643WithPrefix(v, {"810000", "820000"});
    case IdType::kTaiwanResidencePermit:
      return IsGb11643WithPrefix(v, {"830000"});
    case IdType::kForeignPermanentResident:
      return (v.size() == 15 && absl::ascii_isupper(static_cast<unsigned char>(v[0])) &&
              absl::ascii_isupper(static_cast<unsigned char>(v[1])) &&
              absl::ascii_isupper(static_cast<unsigned char>(v[2])) && AllDigits(v.substr(3))) ||
             (v.size() == 18 && v[0] == '9' && AllDigits(v.substr(0, 17)));
    case IdType::kMedicalInsurance:
    case IdType::kHealthCard:
      return v.size() >= 6 && v.size() <= 32 && AllAlnum(v);
    case IdType::kMilitaryOfficer:
    case IdType::kOther:
      return true;
  }
  return false;
}

}  // namespace

absl::string_view IdTypeCode(IdType type) {
  switch (type) {
    case IdType::kResidentIdCard:
      return "01";
    case IdType::kHouseholdRegister:
      return "02";
    case IdType::kPassport:
      return "03";
    case IdType::kMilitaryOfficer:
      return "04";
    case IdType::kDrivingLicence:
      return "05";
    case IdType::kHkMacaoTravelPermit:
      return "06";
    case IdType::kTaiwanTravelPermit:
      return "07";
    case IdType::kHkMacaoResidencePermit:
      return "08";
    case IdType::kTaiwanResidencePermit:
      return "09";
    case IdType::kForeignPermanentResident:
      return "10";
    case IdType::kOther:
      return "99";
    case IdType::kMedicalInsurance:
      return "insurance_id";
    case IdType::kHealthCard:
      return "health_card_id";
  }
  return "99";
}

absl::string_view IdTypeName(IdType type) {
  switch (type) {
    case IdType::kResidentIdCard:
      return "resident identity card";
    case IdType::kHouseholdRegister:
      return "household register";
    case IdType::kPassport:
      return "passport";
    case IdType::kMilitaryOfficer:
      return "military officer's card";
    case IdType::kDrivingLicence:
      return "driving licence";
    case IdType::kHkMacaoTravelPermit:
      return "Hong Kong/Macao travel permit";
    case IdType::kTaiwanTravelPermit:
      return "Taiwan travel permit";
    case IdType::kHkMacaoResidencePermit:
      return "Hong Kong/Macao residence permit";
    case IdType::kTaiwanResidencePermit:
      return "Taiwan residence permit";
    case IdType::kForeignPermanentResident:
      return "foreign permanent resident id";
    case IdType::kOther:
      return "other document";
    case IdType::kMedicalInsurance:
      return "medical insurance number";
    case IdType::kHealthCard:
      return "resident health card number";
  }
  return "other document";
}

IdTypeResult ParseIdType(absl::string_view raw) {
  IdTypeResult r;
  std::string text;
  if (!NormalizeNfkc(raw, &text)) {
    r.type = IdType::kOther;
    r.status = IdTypeStatus::kUnknown;
    return r;
  }
  const absl::string_view v = absl::StripAsciiWhitespace(text);
  if (v.empty()) return r;  // the default: resident identity card
  struct Code {
    absl::string_view code;
    IdType type;
  };
  static constexpr Code kCodes[] = {{"01", IdType::kResidentIdCard},
                                    {"02", IdType::kHouseholdRegister},
                                    {"03", IdType::kPassport},
                                    {"04", IdType::kMilitaryOfficer},
                                    {"05", IdType::kDrivingLicence},
                                    {"06", IdType::kHkMacaoTravelPermit},
                                    {"07", IdType::kTaiwanTravelPermit},
                                    {"08", IdType::kHkMacaoResidencePermit},
                                    {"09", IdType::kTaiwanResidencePermit},
                                    {"10", IdType::kForeignPermanentResident},
                                    {"99", IdType::kOther}};
  for (const Code& c : kCodes) {
    if (v == c.code) {
      r.type = c.type;
      r.status = IdTypeStatus::kValid;
      return r;
    }
  }
  r.status = IdTypeStatus::kNonStandard;
  // One-digit codes from systems that store the code as a number.
  if (v.size() == 1 && v[0] >= '1' && v[0] <= '9') {
    r.type = kCodes[v[0] - '1'].type;
    return r;
  }
  static constexpr Code kNames[] = {{"居民身份证", IdType::kResidentIdCard},
                                    {"身份证", IdType::kResidentIdCard},
                                    {"二代身份证", IdType::kResidentIdCard},
                                    {"户口簿", IdType::kHouseholdRegister},
                                    {"户口本", IdType::kHouseholdRegister},
                                    {"居民户口簿", IdType::kHouseholdRegister},
                                    {"护照", IdType::kPassport},
                                    {"军官证", IdType::kMilitaryOfficer},
                                    {"驾驶证", IdType::kDrivingLicence},
                                    {"港澳通行证", IdType::kHkMacaoTravelPermit},
                                    {"回乡证", IdType::kHkMacaoTravelPermit},
                                    {"港澳居民来往内地通行证", IdType::kHkMacaoTravelPermit},
                                    {"台胞证", IdType::kTaiwanTravelPermit},
                                    {"台湾居民来往大陆通行证", IdType::kTaiwanTravelPermit},
                                    {"台湾居民来往内地通行证", IdType::kTaiwanTravelPermit},
                                    {"港澳居民居住证", IdType::kHkMacaoResidencePermit},
                                    {"台湾居民居住证", IdType::kTaiwanResidencePermit},
                                    {"外国人永久居留身份证", IdType::kForeignPermanentResident},
                                    {"外国人永久居留证", IdType::kForeignPermanentResident},
                                    {"其他", IdType::kOther}};
  for (const Code& c : kNames) {
    if (v == c.code) {
      r.type = c.type;
      return r;
    }
  }
  r.type = IdType::kOther;
  r.status = IdTypeStatus::kUnknown;
  return r;
}

Identifier NormalizeIdentifier(IdType type, absl::string_view raw) {
  Identifier id;
  id.type = type;
  std::string text;
  if (!NormalizeNfkc(raw, &text)) return id;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    if (!DecodeUtf8(text, &pos, &cp)) break;  // NFKC output is valid; never loop
    // Separators clerks type inside numbers; "1234567890(B)" on old Taiwan permits.
    if (IsSpaceCodePoint(cp) || cp == '-' || cp == '(' || cp == ')' || cp == '\'' || cp == '.' ||
        cp == '/' || cp == 0x2014) {
      continue;
    }
    if (cp < 0x80) {
      id.value.push_back(absl::ascii_toupper(static_cast<unsigned char>(cp)));
    } else {
      AppendUtf8(cp, &id.value);
    }
    if (id.value.size() > 64) {
      id.well_formed = false;
      return id;
    }
  }
  id.well_formed = WellFormed(type, id.value);
  return id;
}

}  // namespace hisbridge::core
