#include "libs/records/record_json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/base/json_escape.h"
#include "libs/base/logging.h"
#include "simdjson.h"

namespace hisbridge::records {
namespace {

using hisbridge::v1::FieldIssue;
using hisbridge::v1::Record;

enum class JsonType { kString, kInt, kValue, kDiagnoses };

// Which record kinds a field belongs to.
enum KindBits : uint8_t {
  kPatient = 1,
  kEncounter = 2,
  kObservation = 4,
  kMedication = 8,
  kAnyKind = 15,
};

struct FieldSpec {
  const char* name;
  JsonType type;
  uint8_t kinds;
  void (*set_string)(Record*, absl::string_view);
  const std::string& (*get_string)(const Record&);
  void (*clear)(Record*);
};

#define HB_STRING_FIELD(field, kinds)                                                  \
  FieldSpec {                                                                          \
    #field, JsonType::kString, kinds,                                                  \
        [](Record* r, absl::string_view v) { r->set_##field(v.data(), v.size()); },    \
        [](const Record& r) -> const std::string& { return r.field(); },               \
        [](Record* r) { r->clear_##field(); }                                          \
  }
#define HB_OTHER_FIELD(field, type, kinds) \
  FieldSpec { #field, type, kinds, nullptr, nullptr, [](Record* r) { r->clear_##field(); } }

// The spec's fields. Order is the canonical output order of RecordToJson.
const FieldSpec kFields[] = {
    HB_STRING_FIELD(kind, kAnyKind),
    HB_STRING_FIELD(facility_id, kAnyKind),
    HB_STRING_FIELD(record_id, kAnyKind),
    HB_STRING_FIELD(op, kAnyKind),
    HB_STRING_FIELD(merged_record_id, kPatient),
    HB_STRING_FIELD(encounter_id, kEncounter | kObservation | kMedication),
    HB_STRING_FIELD(observation_id, kObservation),
    HB_STRING_FIELD(medication_id, kMedication),
    HB_STRING_FIELD(event_time, kAnyKind),
    HB_STRING_FIELD(name, kPatient),
    HB_STRING_FIELD(sex, kPatient),
    HB_STRING_FIELD(birth_date, kPatient),
    HB_STRING_FIELD(id_type, kPatient),
    HB_STRING_FIELD(id_number, kPatient),
    HB_STRING_FIELD(insurance_id, kPatient),
    HB_STRING_FIELD(health_card_id, kPatient),
    HB_STRING_FIELD(phone, kPatient),
    HB_STRING_FIELD(address, kPatient),
    HB_STRING_FIELD(address_code, kPatient),
    HB_STRING_FIELD(ethnicity, kPatient),
    HB_STRING_FIELD(encounter_type, kEncounter),
    HB_STRING_FIELD(department, kEncounter),
    HB_OTHER_FIELD(diagnoses, JsonType::kDiagnoses, kEncounter),
    HB_STRING_FIELD(referral_to, kEncounter),
    HB_STRING_FIELD(referral_from, kEncounter),
    HB_STRING_FIELD(code, kObservation),
    HB_STRING_FIELD(system, kObservation),
    HB_STRING_FIELD(display, kObservation),
    HB_OTHER_FIELD(value, JsonType::kValue, kObservation),
    HB_STRING_FIELD(unit, kObservation),
    HB_STRING_FIELD(reference_range, kObservation),
    HB_STRING_FIELD(abnormal_flag, kObservation),
    HB_STRING_FIELD(drug_code, kMedication),
    HB_STRING_FIELD(drug_name, kMedication),
    HB_STRING_FIELD(dose, kMedication),
    HB_STRING_FIELD(route, kMedication),
    HB_STRING_FIELD(frequency, kMedication),
    HB_OTHER_FIELD(days, JsonType::kInt, kMedication),
};
#undef HB_STRING_FIELD
#undef HB_OTHER_FIELD

constexpr size_t kFieldCount = sizeof(kFields) / sizeof(kFields[0]);
static_assert(kFieldCount <= 64, "seen-field bitmask holds 64 fields");

const absl::flat_hash_map<absl::string_view, size_t>& FieldIndex() {
  static const auto* index = [] {
    auto* m = new absl::flat_hash_map<absl::string_view, size_t>;
    for (size_t i = 0; i < kFieldCount; ++i) m->emplace(kFields[i].name, i);
    return m;
  }();
  return *index;
}

uint8_t KindBit(absl::string_view kind) {
  if (kind == "patient") return kPatient;
  if (kind == "encounter") return kEncounter;
  if (kind == "observation") return kObservation;
  if (kind == "medication") return kMedication;
  return 0;
}

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A short printable excerpt of a value for error messages.
std::string Excerpt(absl::string_view s) {
  std::string out;
  AppendJsonEscaped(s.substr(0, 60), &out);
  if (s.size() > 60) out.append("...");
  return out;
}

const char* JsonTypeName(simdjson::dom::element_type t) {
  switch (t) {
    case simdjson::dom::element_type::ARRAY: return "an array";
    case simdjson::dom::element_type::OBJECT: return "an object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64: return "an integer";
    case simdjson::dom::element_type::DOUBLE: return "a fractional number";
    case simdjson::dom::element_type::STRING: return "a string";
    case simdjson::dom::element_type::BOOL: return "a boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
  }
  return "an unknown JSON type";
}

}  // namespace

FieldIssue MakeIssue(absl::string_view field, absl::string_view rule, absl::string_view message) {
  FieldIssue issue;
  issue.set_field(field.data(), field.size());
  issue.set_rule(rule.data(), rule.size());
  issue.set_message(message.data(), message.size());
  return issue;
}

struct RecordJsonParser::Impl {
  simdjson::dom::parser parser;

  void SetString(const FieldSpec& spec, simdjson::dom::element value, Record* record,
                 ParsedRecord* out) {
    switch (value.type()) {
      case simdjson::dom::element_type::STRING:
        spec.set_string(record, ToAbsl(std::string_view(value)));
        return;
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64: {
        // HIS exports often write numeric ids and phones as JSON numbers;
        // integers survive exactly, so keep the digits and note it.
        const std::string digits = value.type() == simdjson::dom::element_type::INT64
                                       ? std::to_string(int64_t(value))
                                       : std::to_string(uint64_t(value));
        spec.set_string(record, digits);
        out->findings.push_back(MakeIssue(spec.name, "json.number_as_string",
                                          absl::StrCat("field ", spec.name,
                                                       " should be a JSON string; the number ",
                                                       digits, " was read as text")));
        return;
      }
      default:
        out->errors.push_back(MakeIssue(
            spec.name, "json.type",
            absl::StrCat("field ", spec.name, " must be a string, got ", JsonTypeName(value.type()))));
    }
  }

  void SetInt(const FieldSpec& spec, simdjson::dom::element value, Record* record,
              ParsedRecord* out) {
    int64_t parsed = 0;
    bool ok = false;
    switch (value.type()) {
      case simdjson::dom::element_type::INT64:
        parsed = int64_t(value);
        ok = true;
        break;
      case simdjson::dom::element_type::UINT64:
        ok = false;
        break;
      case simdjson::dom::element_type::DOUBLE: {
        const double d = double(value);
        ok = std::floor(d) == d && std::fabs(d) < 1e9;
        parsed = static_cast<int64_t>(d);
        break;
      }
      case simdjson::dom::element_type::STRING:
        // The protobuf JSON mapping accepts quoted integers; so do we.
        ok = absl::SimpleAtoi(ToAbsl(std::string_view(value)), &parsed);
        break;
      default:
        break;
    }
    if (!ok || parsed < INT32_MIN || parsed > INT32_MAX) {
      out->errors.push_back(MakeIssue(spec.name, "json.type",
                                      absl::StrCat("field ", spec.name, " must be an integer, got ",
                                                   JsonTypeName(value.type()))));
      return;
    }
    record->set_days(static_cast<int32_t>(parsed));
  }

  void SetValue(simdjson::dom::element value, Record* record, ParsedRecord* out) {
    switch (value.type()) {
      case simdjson::dom::element_type::STRING:
        record->mutable_value()->set_string_value(std::string(std::string_view(value)));
        return;
      case simdjson::dom::element_type::INT64:
        record->mutable_value()->set_number_value(static_cast<double>(int64_t(value)));
        return;
      case simdjson::dom::element_type::UINT64:
        record->mutable_value()->set_number_value(static_cast<double>(uint64_t(value)));
        return;
      case simdjson::dom::element_type::DOUBLE:
        record->mutable_value()->set_number_value(double(value));
        return;
      default:
        out->errors.push_back(MakeIssue(
            "value", "json.type",
            absl::StrCat("field value must be a number or a string, got ", JsonTypeName(value.type()))));
    }
  }

  void SetDiagnoses(simdjson::dom::element value, Record* record, ParsedRecord* out) {
    simdjson::dom::array array;
    if (value.get(array) != simdjson::SUCCESS) {
      out->errors.push_back(MakeIssue("diagnoses", "json.type",
                                      absl::StrCat("field diagnoses must be a list of {code, system, "
                                                   "display} objects, got ",
                                                   JsonTypeName(value.type()))));
      return;
    }
    size_t position = 0;
    for (simdjson::dom::element item : array) {
      const std::string where = absl::StrCat("diagnoses[", position++, "]");
      simdjson::dom::object object;
      if (item.get(object) != simdjson::SUCCESS) {
        out->errors.push_back(MakeIssue(where, "json.type",
                                        absl::StrCat(where, " must be an object {code, system, display}, got ",
                                                     JsonTypeName(item.type()))));
        continue;
      }
      hisbridge::v1::Diagnosis* diagnosis = record->add_diagnoses();
      for (auto [key, field] : object) {
        if (field.is_null()) continue;
        std::string* target = nullptr;
        if (key == "code") target = diagnosis->mutable_code();
        else if (key == "system") target = diagnosis->mutable_system();
        else if (key == "display") target = diagnosis->mutable_display();
        if (target == nullptr) {
          out->findings.push_back(MakeIssue(
              absl::StrCat(where, ".", ToAbsl(key)), "unknown_field",
              absl::StrCat("unknown field \"", Excerpt(ToAbsl(key)), "\" in ", where, " was ignored")));
          continue;
        }
        if (!field.is_string()) {
          out->errors.push_back(MakeIssue(absl::StrCat(where, ".", ToAbsl(key)), "json.type",
                                          absl::StrCat(where, ".", ToAbsl(key), " must be a string, got ",
                                                       JsonTypeName(field.type()))));
          continue;
        }
        target->assign(std::string_view(field));
      }
    }
  }
};

RecordJsonParser::RecordJsonParser() : impl_(std::make_unique<Impl>()) {}
RecordJsonParser::~RecordJsonParser() = default;

void RecordJsonParser::Parse(absl::string_view line, ParsedRecord* out, bool padded) {
  out->record.Clear();
  out->errors.clear();
  out->findings.clear();
  if (line.size() > kMaxLineBytes) {
    out->errors.push_back(MakeIssue("", "line.too_long",
                                    absl::StrCat("line is ", line.size(), " bytes; at most ",
                                                 kMaxLineBytes, " are accepted")));
    return;
  }
  simdjson::dom::element doc;
  const auto error = impl_->parser
                         .parse(reinterpret_cast<const uint8_t*>(line.data()), line.size(),
                                /*realloc_if_needed=*/!padded)
                         .get(doc);
  if (error != simdjson::SUCCESS) {
    const char* rule = error == simdjson::UTF8_ERROR ? "json.utf8" : "json.syntax";
    out->errors.push_back(MakeIssue("", rule,
                                    absl::StrCat("line is not a valid JSON object: ",
                                                 simdjson::error_message(error))));
    return;
  }
  simdjson::dom::object object;
  if (doc.get(object) != simdjson::SUCCESS) {
    out->errors.push_back(MakeIssue(
        "", "json.not_object", absl::StrCat("line must be a JSON object, got ", JsonTypeName(doc.type()))));
    return;
  }

  Record* record = &out->record;
  uint64_t seen = 0;
  const auto& index = FieldIndex();
  for (auto [raw_key, value] : object) {
    const absl::string_view key = ToAbsl(raw_key);
    const auto it = index.find(key);
    if (it == index.end()) {
      out->findings.push_back(MakeIssue(key, "unknown_field",
                                        absl::StrCat("unknown field \"", Excerpt(key),
                                                     "\" was ignored (misspelt?)")));
      continue;
    }
    const size_t i = it->second;
    const FieldSpec& spec = kFields[i];
    if (seen & (uint64_t{1} << i)) {
      out->errors.push_back(MakeIssue(spec.name, "json.duplicate_field",
                                      absl::StrCat("field ", spec.name,
                                                   " appears more than once; which one is meant is "
                                                   "ambiguous")));
      continue;
    }
    seen |= uint64_t{1} << i;
    if (value.is_null()) continue;
    switch (spec.type) {
      case JsonType::kString: impl_->SetString(spec, value, record, out); break;
      case JsonType::kInt: impl_->SetInt(spec, value, record, out); break;
      case JsonType::kValue: impl_->SetValue(value, record, out); break;
      case JsonType::kDiagnoses: impl_->SetDiagnoses(value, record, out); break;
    }
  }

  // Fields that belong to another kind are ignored rather than carried
  // along, so a patient line can never smuggle in encounter data.
  const uint8_t kind = KindBit(record->kind());
  if (kind != 0) {
    for (size_t i = 0; i < kFieldCount; ++i) {
      if ((seen & (uint64_t{1} << i)) && !(kFields[i].kinds & kind)) {
        kFields[i].clear(record);
        out->findings.push_back(MakeIssue(kFields[i].name, "field_not_for_kind",
                                          absl::StrCat("field ", kFields[i].name, " does not belong to a ",
                                                       record->kind(), " record and was ignored")));
      }
    }
  }
}

namespace {

void AppendKeyString(absl::string_view key, absl::string_view value, bool* first, std::string* out) {
  if (value.empty()) return;
  if (!*first) out->push_back(',');
  *first = false;
  out->push_back('"');
  out->append(key.data(), key.size());
  out->append("\":\"");
  AppendJsonEscaped(value, out);
  out->push_back('"');
}

// Integers print without a fraction; other numbers in the shortest form
// that reads back to the same double.
void AppendNumber(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  if (std::floor(d) == d && std::fabs(d) < 1e15) {
    absl::StrAppend(out, static_cast<int64_t>(d));
    return;
  }
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  out->append(buf);
}

}  // namespace

std::string RecordToJson(const Record& r) {
  std::string out = "{";
  out.reserve(256);
  bool first = true;
  for (const FieldSpec& spec : kFields) {
    switch (spec.type) {
      case JsonType::kString:
        AppendKeyString(spec.name, spec.get_string(r), &first, &out);
        break;
      case JsonType::kInt:
        if (r.days() != 0) {
          if (!first) out.push_back(',');
          first = false;
          absl::StrAppend(&out, "\"days\":", r.days());
        }
        break;
      case JsonType::kValue:
        if (r.has_value()) {
          if (r.value().kind_case() == google::protobuf::Value::kStringValue) {
            AppendKeyString("value", r.value().string_value(), &first, &out);
          } else if (r.value().kind_case() == google::protobuf::Value::kNumberValue) {
            if (!first) out.push_back(',');
            first = false;
            out.append("\"value\":");
            AppendNumber(r.value().number_value(), &out);
          }
        }
        break;
      case JsonType::kDiagnoses:
        if (r.diagnoses_size() > 0) {
          if (!first) out.push_back(',');
          first = false;
          out.append("\"diagnoses\":[");
          for (int i = 0; i < r.diagnoses_size(); ++i) {
            if (i > 0) out.push_back(',');
            out.push_back('{');
            bool inner_first = true;
            AppendKeyString("code", r.diagnoses(i).code(), &inner_first, &out);
            AppendKeyString("system", r.diagnoses(i).system(), &inner_first, &out);
            AppendKeyString("display", r.diagnoses(i).display(), &inner_first, &out);
            out.push_back('}');
          }
          out.push_back(']');
        }
        break;
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace hisbridge::records
