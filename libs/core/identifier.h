// Identity documents other than the resident identity card, keyed by type so
// that a passport number is never compared with a resident id.
//
// id_type carries a CV02.01.101 (身份证件类别代码, WS 364.3) code. Supported:
//
//   01 居民身份证               resident identity card (see resident_id.h)
//   02 居民户口簿               household register: its number is the holder's
//                              resident id number (children without a card)
//   03 护照                    passport
//   04 军官证                  military officer's card
//   05 驾驶证                  driving licence: numbered by the resident id
//   06 港澳居民来往内地通行证     Hong Kong/Macao travel permit (H/M + 8 or 10 digits)
//   07 台湾居民来往内地通行证     Taiwan travel permit (8 digits; formerly 10 + letter)
//   08 港澳居民居住证           Hong Kong/Macao residence permit (GB 11643 number, 810000/820000)
//   09 台湾居民居住证           Taiwan residence permit (GB 11643 number, 830000)
//   10 外国人永久居留身份证      foreign permanent resident id (3 letters + 12 digits, or 18 digits
//   from 2023) 99 其他法定有效证件          other
//
// 08-10 are hisbridge's extension of WS 364.3 for documents issued since; a
// numeric code outside the list is kept as "other" with a finding. The
// medical insurance number (医保号) and resident health card number (居民健康卡号)
// arrive in fields of their own and are identifiers of their own types.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_IDENTIFIER_H_
#define HISBRIDGE_LIBS_CORE_IDENTIFIER_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace hisbridge::core {

enum class IdType : uint8_t {
  kResidentIdCard,            // 01
  kHouseholdRegister,         // 02
  kPassport,                  // 03
  kMilitaryOfficer,           // 04
  kDrivingLicence,            // 05
  kHkMacaoTravelPermit,       // 06
  kTaiwanTravelPermit,        // 07
  kHkMacaoResidencePermit,    // 08
  kTaiwanResidencePermit,     // 09
  kForeignPermanentResident,  // 10
  kOther,                     // 99
  kMedicalInsurance,          // the insurance_id field
  kHealthCard,                // the health_card_id field
};

// "01".."10", "99"; "insurance_id" and "health_card_id" for the two field types.
absl::string_view IdTypeCode(IdType type);
// English name: "passport", "Hong Kong/Macao travel permit", ...
absl::string_view IdTypeName(IdType type);

enum class IdTypeStatus : uint8_t {
  kValid,        // a supported code
  kDefaulted,    // empty: the resident identity card is the default
  kNonStandard,  // understood but not a code: "1", "身份证", "护照"
  kUnknown,      // not understood: treated as kOther
};

struct IdTypeResult {
  IdType type = IdType::kResidentIdCard;
  IdTypeStatus status = IdTypeStatus::kDefaulted;
};

IdTypeResult ParseIdType(absl::string_view raw);

struct Identifier {
  IdType type = IdType::kOther;
  // NFKC, spaces and hyphens removed, latin letters upper-cased. Han text
  // (e.g. 军官证 "南字第123456号") is kept.
  std::string value;
  // The value has the shape its type prescribes (see the list above).
  bool well_formed = false;
};

// Normalises a document number of `type`. Empty (or invalid UTF-8) input
// gives an empty value. For the resident identity card use ParseResidentId.
Identifier NormalizeIdentifier(IdType type, absl::string_view raw);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_IDENTIFIER_H_
