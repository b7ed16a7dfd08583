#include "libs/records/validate.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "libs/base/json_escape.h"
#include "libs/base/logging.h"
#include "libs/base/time_format.h"
#include "libs/records/record_json.h"

namespace hisbridge::records {
namespace {

using hisbridge::v1::Record;
using hisbridge::v1::RejectReason;

void AddError(ValidationResult* result, RejectReason reason, absl::string_view field,
              absl::string_view rule, absl::string_view message) {
  if (result->errors.empty()) result->reason = reason;
  result->errors.push_back(MakeIssue(field, rule, message));
}

std::string Quoted(absl::string_view value) {
  std::string out = "\"";
  AppendJsonEscaped(value.substr(0, 80), &out);
  if (value.size() > 80) out.append("...");
  out.push_back('"');
  return out;
}

bool HasControlCharacters(absl::string_view value) {
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Identifiers key the whole index, so they must be present, short, and
// free of control characters (which would break CSV exports and logs).
void CheckIdentifier(ValidationResult* result, absl::string_view field, const std::string& value,
                     bool required) {
  if (value.empty()) {
    if (required) {
      AddError(result, hisbridge::v1::REJECT_REASON_MISSING_FIELD, field, "required",
               absl::StrCat(field, " is required"));
    }
    return;
  }
  if (value.size() > kMaxIdentifierBytes) {
    AddError(result, hisbridge::v1::REJECT_REASON_INVALID_VALUE, field, "identifier.too_long",
             absl::StrCat(field, " is ", value.size(), " bytes; identifiers are at most ",
                          kMaxIdentifierBytes));
    return;
  }
  if (HasControlCharacters(value)) {
    AddError(result, hisbridge::v1::REJECT_REASON_INVALID_VALUE, field, "identifier.control_character",
             absl::StrCat(field, " ", Quoted(value), " contains control characters"));
    return;
  }
  if (value.front() == ' ' || value.back() == ' ') {
    AddError(result, hisbridge::v1::REJECT_REASON_INVALID_VALUE, field, "identifier.whitespace",
             absl::StrCat(field, " ", Quoted(value),
                          " has leading or trailing spaces; identifiers must match exactly"));
  }
}

void CheckText(ValidationResult* result, absl::string_view field, const std::string& value) {
  if (value.size() > kMaxTextBytes) {
    AddError(result, hisbridge::v1::REJECT_REASON_TOO_LARGE, field, "text.too_long",
             absl::StrCat(field, " is ", value.size(), " bytes; at most ", kMaxTextBytes, " are accepted"));
  }
}

void Finding(ValidationResult* result, absl::string_view field, absl::string_view rule,
             absl::string_view message) {
  result->findings.push_back(MakeIssue(field, rule, message));
}

void CheckPatient(const Record& r, RecordOp op, ValidationResult* result) {
  if (op == RecordOp::kMerge) {
    CheckIdentifier(result, "merged_record_id", r.merged_record_id(), /*required=*/true);
    if (!r.merged_record_id().empty() && r.merged_record_id() == r.record_id()) {
      AddError(result, hisbridge::v1::REJECT_REASON_INVALID_VALUE, "merged_record_id",
               "merge.same_record", "merged_record_id must differ from record_id: a record cannot be merged into itself");
    }
  } else if (!r.merged_record_id().empty()) {
    Finding(result, "merged_record_id", "merge.ignored",
            absl::StrCat("merged_record_id is only used with op \"merge\"; ignored for op ",
                         Quoted(r.op().empty() ? "upsert" : r.op())));
  }
  CheckText(result, "name", r.name());
  CheckText(result, "address", r.address());
  CheckText(result, "id_number", r.id_number());
  CheckText(result, "phone", r.phone());
  CheckText(result, "insurance_id", r.insurance_id());
  CheckText(result, "health_card_id", r.health_card_id());
  if (!r.sex().empty() && r.sex() != "0" && r.sex() != "1" && r.sex() != "2" && r.sex() != "9") {
    Finding(result, "sex", "sex.code",
            absl::StrCat("sex ", Quoted(r.sex()),
                         " is not a GB/T 2261.1 code (0 unknown, 1 male, 2 female, 9 unstated)"));
  }
}

void CheckEncounter(const Record& r, ValidationResult* result) {
  CheckIdentifier(result, "encounter_id", r.encounter_id(), /*required=*/true);
  static const char* const kTypes[] = {"outpatient", "inpatient", "emergency", "public_health",
                                       "referral_out", "referral_in"};
  if (!r.encounter_type().empty()) {
    bool known = false;
    for (const char* t : kTypes) known |= r.encounter_type() == t;
    if (!known) {
      Finding(result, "encounter_type", "encounter_type.code",
              absl::StrCat("encounter_type ", Quoted(r.encounter_type()),
                           " is not one of outpatient, inpatient, emergency, public_health, "
                           "referral_out, referral_in"));
    }
  }
  if (r.diagnoses_size() > kMaxDiagnoses) {
    AddError(result, hisbridge::v1::REJECT_REASON_TOO_LARGE, "diagnoses", "diagnoses.too_many",
             absl::StrCat("an encounter carries at most ", kMaxDiagnoses, " diagnoses; got ",
                          r.diagnoses_size()));
  }
  for (int i = 0; i < r.diagnoses_size(); ++i) {
    if (r.diagnoses(i).code().empty() && r.diagnoses(i).display().empty()) {
      Finding(result, absl::StrCat("diagnoses[", i, "]"), "diagnosis.empty",
              absl::StrCat("diagnoses[", i, "] has neither code nor display"));
    }
  }
  CheckText(result, "department", r.department());
  if (!r.referral_to().empty()) CheckIdentifier(result, "referral_to", r.referral_to(), false);
  if (!r.referral_from().empty()) CheckIdentifier(result, "referral_from", r.referral_from(), false);
}

void CheckObservation(const Record& r, ValidationResult* result) {
  CheckIdentifier(result, "observation_id", r.observation_id(), /*required=*/true);
  if (!r.encounter_id().empty()) CheckIdentifier(result, "encounter_id", r.encounter_id(), false);
  if (r.code().empty() && r.display().empty()) {
    Finding(result, "code", "observation.unnamed", "observation has neither code nor display");
  }
  const std::string& flag = r.abnormal_flag();
  if (!flag.empty() && flag != "N" && flag != "H" && flag != "L" && flag != "A") {
    Finding(result, "abnormal_flag", "abnormal_flag.code",
            absl::StrCat("abnormal_flag ", Quoted(flag), " is not one of N, H, L, A"));
  }
  if (r.has_value() && r.value().kind_case() == google::protobuf::Value::kStringValue) {
    CheckText(result, "value", r.value().string_value());
  }
}

void CheckMedication(const Record& r, ValidationResult* result) {
  CheckIdentifier(result, "medication_id", r.medication_id(), /*required=*/true);
  if (!r.encounter_id().empty()) CheckIdentifier(result, "encounter_id", r.encounter_id(), false);
  if (r.days() < 0) {
    AddError(result, hisbridge::v1::REJECT_REASON_INVALID_VALUE, "days", "days.negative",
             absl::StrCat("days must be zero or more; got ", r.days()));
  }
  if (r.drug_code().empty() && r.drug_name().empty()) {
    Finding(result, "drug_name", "medication.unnamed", "medication has neither drug_code nor drug_name");
  }
}

}  // namespace

RecordKind ParseKind(absl::string_view kind) {
  if (kind == "patient") return RecordKind::kPatient;
  if (kind == "encounter") return RecordKind::kEncounter;
  if (kind == "observation") return RecordKind::kObservation;
  if (kind == "medication") return RecordKind::kMedication;
  return RecordKind::kUnknown;
}

RecordOp ParseOp(absl::string_view op) {
  if (op.empty() || op == "upsert") return RecordOp::kUpsert;
  if (op == "delete") return RecordOp::kDelete;
  if (op == "merge") return RecordOp::kMerge;
  return RecordOp::kUnknown;
}

absl::string_view KindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::kPatient: return "patient";
    case RecordKind::kEncounter: return "encounter";
    case RecordKind::kObservation: return "observation";
    case RecordKind::kMedication: return "medication";
    case RecordKind::kUnknown: break;
  }
  return "unknown";
}

const std::string& EventId(const Record& record) {
  switch (ParseKind(record.kind())) {
    case RecordKind::kEncounter: return record.encounter_id();
    case RecordKind::kObservation: return record.observation_id();
    case RecordKind::kMedication: return record.medication_id();
    default: break;
  }
  static const std::string* empty = new std::string;
  return *empty;
}

ValidationResult ValidateRecord(const Record& r) {
  ValidationResult result;
  const RecordKind kind = ParseKind(r.kind());
  if (r.kind().empty()) {
    AddError(&result, hisbridge::v1::REJECT_REASON_MISSING_FIELD, "kind", "required",
             "kind is required (patient, encounter, observation or medication)");
  } else if (kind == RecordKind::kUnknown) {
    AddError(&result, hisbridge::v1::REJECT_REASON_UNKNOWN_KIND, "kind", "kind.unknown",
             absl::StrCat("kind ", Quoted(r.kind()),
                          " is not one of patient, encounter, observation, medication"));
  }
  CheckIdentifier(&result, "facility_id", r.facility_id(), /*required=*/true);
  CheckIdentifier(&result, "record_id", r.record_id(), /*required=*/true);

  const RecordOp op = ParseOp(r.op());
  if (op == RecordOp::kUnknown) {
    AddError(&result, hisbridge::v1::REJECT_REASON_UNKNOWN_OP, "op", "op.unknown",
             absl::StrCat("op ", Quoted(r.op()), " is not one of upsert, delete, merge"));
  } else if (op == RecordOp::kMerge && kind != RecordKind::kPatient && kind != RecordKind::kUnknown) {
    AddError(&result, hisbridge::v1::REJECT_REASON_UNKNOWN_OP, "op", "op.merge_not_patient",
             absl::StrCat("op \"merge\" applies to patient records only, not ", r.kind()));
  }

  if (r.event_time().empty()) {
    AddError(&result, hisbridge::v1::REJECT_REASON_MISSING_FIELD, "event_time", "required",
             "event_time is required (RFC 3339, e.g. 2026-03-01T08:30:00+08:00)");
  } else {
    auto t = ParseRfc3339(r.event_time());
    if (!t.ok()) {
      AddError(&result, hisbridge::v1::REJECT_REASON_INVALID_VALUE, "event_time", "rfc3339",
               absl::StrCat("event_time ", t.status().message()));
    } else {
      result.event_time = *t;
    }
  }

  switch (kind) {
    case RecordKind::kPatient: CheckPatient(r, op, &result); break;
    case RecordKind::kEncounter: CheckEncounter(r, &result); break;
    case RecordKind::kObservation: CheckObservation(r, &result); break;
    case RecordKind::kMedication: CheckMedication(r, &result); break;
    case RecordKind::kUnknown: break;
  }
  return result;
}

}  // namespace hisbridge::records
