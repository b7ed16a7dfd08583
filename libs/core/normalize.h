// The single entry point: normalise one patient record for matching and
// report what was wrong with it.
//
//   NormalizeOptions options;
//   options.today = EventDay(record);     // never the wall clock
//   options.county_hint = facility.region; // "450321"
//   NormalizedPatient p;
//   Normalize(fields, options, &p);        // reuses p's storage
//   if (p.resident_id.ok()) ...; for (const Finding& f : p.findings) ...
//
// Normalize never fails: every problem in a field is a Finding, and the
// field's normalised form says what is still usable (ok(), usable(),
// is_placeholder()). Invalid UTF-8 in any field is a finding.
//
// Which identifier goes where:
//   - id_type 01 or empty: id_number is parsed as a resident id.
//   - id_type 02 (household register) or 05 (driving licence): both are
//     numbered by the holder's resident id, so a value shaped like one (15
//     or 18 characters of digits and X) is parsed as a resident id; other
//     values are kept as identifiers of that type.
//   - every other type: an Identifier of that type, never a resident id,
//     even when the digits would validate (a finding says so).
//   - insurance_id and health_card_id: Identifiers of their own types.
//
// Pure; thread-safe. NormalizedPatient owns all its data.
#ifndef HISBRIDGE_LIBS_CORE_NORMALIZE_H_
#define HISBRIDGE_LIBS_CORE_NORMALIZE_H_

#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "libs/core/address.h"
#include "libs/core/date.h"
#include "libs/core/finding.h"
#include "libs/core/identifier.h"
#include "libs/core/name.h"
#include "libs/core/patient.h"
#include "libs/core/phone.h"
#include "libs/core/resident_id.h"
#include "libs/core/sex.h"

namespace hisbridge::core {

struct NormalizeOptions {
  // The day the record describes (its event time's date): future-date and
  // age rules are relative to it.
  absl::CivilDay today;
  // The county (6 digits) of the submitting facility, to resolve addresses
  // that start at the township ("白沙镇遇龙村5组"). Optional.
  absl::string_view county_hint;
};

struct NormalizedPatient {
  NormalizedName name;
  Sex sex = Sex::kUnknown;
  BirthDate birth_date;
  // The document type of id_number (kResidentIdCard when id_type is empty).
  IdType id_type = IdType::kResidentIdCard;
  // The resident id (status kEmpty when the record has none).
  ResidentIdResult resident_id;
  // Other documents, then insurance_id and health_card_id; only non-empty
  // values.
  absl::InlinedVector<Identifier, 2> identifiers;
  absl::InlinedVector<PhoneNumber, 2> phones;
  NormalizedAddress address;
  // GB/T 3304 two-digit code; empty when missing or not understood.
  std::string ethnicity;

  std::vector<Finding> findings;

  // The identifier of `type`, or nullptr.
  const Identifier* FindIdentifier(IdType type) const;
  // Whether any finding has this code.
  bool HasFinding(absl::string_view code) const;
};

void Normalize(const PatientFields& record, const NormalizeOptions& options,
               NormalizedPatient* out);
NormalizedPatient Normalize(const PatientFields& record, const NormalizeOptions& options);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_NORMALIZE_H_
