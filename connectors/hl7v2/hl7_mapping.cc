#include "connectors/hl7v2/hl7_mapping.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "libs/charset/charset.h"

namespace hisbridge::connectors::hl7v2 {
namespace {

using hisbridge::v1::Record;
using hl7::ErrorCode;
using hl7::Issue;
using hl7::Location;
using hl7::Segment;

const std::set<std::string>& PatientTriggers() {
  static const auto* s = new std::set<std::string>{"A01", "A04", "A05", "A08", "A28", "A31"};
  return *s;
}
const std::set<std::string>& EncounterTriggers() {
  static const auto* s = new std::set<std::string>{"A03", "A11"};
  return *s;
}

bool Contains(const std::vector<std::string>& list, absl::string_view value) {
  if (value.empty()) return false;
  for (const std::string& v : list) {
    if (absl::EqualsIgnoreCase(v, value)) return true;
  }
  return false;
}

// True when the text holds a CJK ideograph (then names are written family
// name + given name without a space, and addresses without separators).
bool HasHan(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    char32_t cp = 0;
    size_t len = (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 1;
    if (i + len > text.size()) return false;
    cp = len == 2 ? b0 & 0x1F : len == 3 ? b0 & 0x0F : b0 & 0x07;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    if ((cp >= 0x3400 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3134F)) {
      return true;
    }
    i += len;
  }
  return false;
}

std::string Trim(absl::string_view s) { return std::string(absl::StripAsciiWhitespace(s)); }

// HL7 "" means "delete this value"; for a record it is simply empty.
std::string Value(std::string s) {
  s = Trim(s);
  if (s == "\"\"") return "";
  return s;
}

struct Context {
  const hl7::Message& message;
  const MappingOptions& options;
  MappedMessage* out;
  std::string facility;
  std::string event_time;
  Location event_time_origin;

  void Error(Location location, ErrorCode code, std::string text) {
    out->errors.push_back({std::move(location), code, std::move(text)});
    if (out->code == hl7::AckCode::kAccept) out->code = hl7::AckCode::kError;
  }
};

struct Identifier {
  std::string id;
  std::string authority;
  std::string type;
  int repetition = 0;  // 1-based
};

std::vector<Identifier> Identifiers(const Segment& s, int field) {
  std::vector<Identifier> out;
  std::vector<absl::string_view> reps = s.Repetitions(field);
  for (size_t i = 0; i < reps.size(); ++i) {
    std::vector<absl::string_view> comps = s.RawComponents(reps[i]);
    Identifier id;
    id.repetition = static_cast<int>(i) + 1;
    id.id = comps.size() > 0 ? Value(s.UnescapeValue(comps[0])) : "";
    if (comps.size() > 3) {
      std::vector<std::string> hd = s.Subcomponents(comps[3]);
      id.authority = Value(hd.empty() ? "" : hd[0]);
      if (id.authority.empty() && hd.size() > 1) id.authority = Value(hd[1]);
    }
    id.type = comps.size() > 4 ? Value(s.UnescapeValue(comps[4])) : "";
    if (!id.id.empty()) out.push_back(std::move(id));
  }
  return out;
}

// The facility's own patient number among the identifiers: the first of a
// record-id type (in the configured order of preference); a single
// identifier without any type is taken as it is (small HIS send just that).
const Identifier* RecordIdentifier(const std::vector<Identifier>& ids, const MappingOptions& o) {
  for (const std::string& type : o.record_id_types) {
    for (const Identifier& id : ids) {
      if (absl::EqualsIgnoreCase(id.type, type)) return &id;
    }
  }
  // Some senders put the type code in CX.4 (assigning authority) instead.
  for (const std::string& type : o.record_id_types) {
    for (const Identifier& id : ids) {
      if (id.type.empty() && absl::EqualsIgnoreCase(id.authority, type)) return &id;
    }
  }
  const Identifier* untyped = nullptr;
  int untyped_count = 0;
  for (const Identifier& id : ids) {
    if (id.type.empty()) untyped = &id, ++untyped_count;
  }
  return untyped_count == 1 && ids.size() == 1 ? untyped : nullptr;
}

std::string DescribeIdentifiers(const std::vector<Identifier>& ids) {
  if (ids.empty()) return "it is empty";
  std::vector<std::string> parts;
  for (const Identifier& id : ids) {
    parts.push_back(absl::StrCat("\"", id.id, "\" of type \"", id.type, "\"",
                                 id.authority.empty() ? "" : absl::StrCat(" from \"", id.authority, "\"")));
  }
  return absl::StrCat("it has ", absl::StrJoin(parts, ", "));
}

bool LooksLikeResidentId(absl::string_view v) {
  if (v.size() != 15 && v.size() != 18) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (!std::isdigit(static_cast<unsigned char>(c)) && !(i == 17 && (c == 'X' || c == 'x'))) return false;
  }
  return true;
}

std::string MapSex(absl::string_view hl7) {
  const std::string v = absl::AsciiStrToUpper(Trim(hl7));
  if (v == "M" || v == "1" || v == "男") return "1";
  if (v == "F" || v == "2" || v == "女") return "2";
  if (v == "U" || v == "0") return "0";
  if (v == "O" || v == "A" || v == "N" || v == "9") return "9";
  return std::string(hl7);  // kept; the validator reports it as a finding
}

std::string MapName(const Segment& pid) {
  std::vector<absl::string_view> reps = pid.Repetitions(5);
  if (reps.empty()) return "";
  size_t chosen = 0;
  for (size_t i = 0; i < reps.size(); ++i) {
    std::vector<std::string> c = pid.Components(reps[i]);
    if (c.size() > 6 && c[6] == "L") {
      chosen = i;
      break;
    }
  }
  std::vector<absl::string_view> comps = pid.RawComponents(reps[chosen]);
  auto comp = [&](size_t k) {
    if (k >= comps.size()) return std::string();
    // XPN.1 is FN in v2.5: the surname is its first sub-component.
    std::vector<std::string> subs = pid.Subcomponents(comps[k]);
    return Value(subs.empty() ? "" : subs[0]);
  };
  const std::string family = comp(0), given = comp(1), middle = comp(2);
  if (HasHan(family) || HasHan(given)) return absl::StrCat(family, given, middle);
  std::vector<std::string> parts;
  for (const std::string& p : {family, given, middle}) {
    if (!p.empty()) parts.push_back(p);
  }
  return absl::StrJoin(parts, " ");
}

std::string MapAddress(const Segment& pid) {
  std::vector<absl::string_view> reps = pid.Repetitions(11);
  if (reps.empty()) return "";
  std::vector<absl::string_view> comps = pid.RawComponents(reps[0]);
  auto comp = [&](size_t k) {
    if (k >= comps.size()) return std::string();
    std::vector<std::string> subs = pid.Subcomponents(comps[k]);
    return Value(subs.empty() ? "" : subs[0]);
  };
  const std::string street = comp(0), other = comp(1), city = comp(2), province = comp(3), zip = comp(4),
                    country = comp(5), county = comp(8);
  if (HasHan(street) || HasHan(other) || HasHan(city) || HasHan(province) || HasHan(county)) {
    // 省 市 县 乡镇/村 (street, other designation), the order people write.
    return absl::StrCat(province, city, county, street, other);
  }
  std::vector<std::string> parts;
  for (const std::string& p : {street, other, city, county}) {
    if (!p.empty()) parts.push_back(p);
  }
  std::string region = absl::StrJoin(std::vector<std::string>{province, zip}, " ");
  region = Trim(region);
  if (!region.empty()) parts.push_back(region);
  if (!country.empty()) parts.push_back(country);
  return absl::StrJoin(parts, ", ");
}

std::string MapPhone(const Segment& pid) {
  std::vector<absl::string_view> reps = pid.Repetitions(13);
  for (absl::string_view rep : reps) {
    std::vector<std::string> c = pid.Components(rep);
    auto at = [&](size_t k) { return k < c.size() ? Value(c[k]) : std::string(); };
    if (!at(0).empty()) return at(0);
    if (!at(11).empty()) return at(11);  // XTN.12 unformatted number
    if (!at(6).empty()) return absl::StrCat(at(5), at(6));  // area code + local number
  }
  return "";
}

bool IsDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

std::string MapBirthDate(absl::string_view ts) {
  std::string v = Trim(ts);
  std::string digits;
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    digits.push_back(c);
  }
  if (digits.size() >= 8) return absl::StrCat(digits.substr(0, 4), "-", digits.substr(4, 2), "-", digits.substr(6, 2));
  return v;  // partial or odd dates are kept for the normaliser to judge
}

void AddPatientFields(Context& ctx, const Segment& pid, MappedRecord* out) {
  Record& r = out->record;
  std::vector<Identifier> ids = Identifiers(pid, 3);
  for (const Identifier& id : ids) {
    const bool is_resident_id = Contains(ctx.options.id_number_types, id.type) ||
                                Contains(ctx.options.id_number_authorities, id.authority);
    if (is_resident_id && r.id_number().empty()) {
      r.set_id_number(id.id);
      out->origins["id_number"] = pid.At(3, 1, id.repetition);
    } else if (Contains(ctx.options.insurance_types, id.type) && r.insurance_id().empty()) {
      r.set_insurance_id(id.id);
      out->origins["insurance_id"] = pid.At(3, 1, id.repetition);
    } else if (Contains(ctx.options.health_card_types, id.type) && r.health_card_id().empty()) {
      r.set_health_card_id(id.id);
      out->origins["health_card_id"] = pid.At(3, 1, id.repetition);
    }
  }
  // Some HIS put the resident id card number in PID-19 (SSN number).
  const std::string ssn = Value(pid.Component(19, 1));
  if (r.id_number().empty() && LooksLikeResidentId(ssn)) {
    r.set_id_number(ssn);
    out->origins["id_number"] = pid.At(19);
  }
  if (!r.id_number().empty()) r.set_id_type("01");
  r.set_name(MapName(pid));
  out->origins["name"] = pid.At(5);
  r.set_birth_date(MapBirthDate(pid.Component(7, 1)));
  out->origins["birth_date"] = pid.At(7);
  const std::string sex = Value(pid.Component(8, 1));
  if (!sex.empty()) r.set_sex(MapSex(sex));
  out->origins["sex"] = pid.At(8);
  r.set_address(MapAddress(pid));
  out->origins["address"] = pid.At(11);
  r.set_phone(MapPhone(pid));
  out->origins["phone"] = pid.At(13);
  const std::string ethnic = Value(pid.Component(22, 1));
  if (ethnic.size() == 2 && IsDigits(ethnic)) {
    r.set_ethnicity(ethnic);
    out->origins["ethnicity"] = pid.At(22);
  }
}

// The record id from PID-3 (or MRG-1); an AE naming the field when absent.
bool PatientIdentity(Context& ctx, const Segment& seg, int field, std::string* record_id, Location* origin) {
  std::vector<Identifier> ids = Identifiers(seg, field);
  const Identifier* id = RecordIdentifier(ids, ctx.options);
  if (id == nullptr) {
    ctx.Error(seg.At(field), ErrorCode::kRequiredFieldMissing,
              absl::StrCat(seg.id(), "-", field, ": no patient identifier of type ",
                           absl::StrJoin(ctx.options.record_id_types, ", "), " (the facility's own patient number); ",
                           DescribeIdentifiers(ids)));
    return false;
  }
  *record_id = id->id;
  *origin = seg.At(field, 1, id->repetition);
  return true;
}

MappedRecord NewRecord(Context& ctx, absl::string_view kind, const Segment& seg) {
  MappedRecord m;
  m.record.set_kind(std::string(kind));
  m.record.set_facility_id(ctx.facility);
  m.record.set_event_time(ctx.event_time);
  m.origins["facility_id"] = Location{"MSH", 1, 4, 0, 0, 0};
  m.origins["event_time"] = ctx.event_time_origin;
  m.segment = seg.At(0);
  return m;
}

const char* EncounterType(absl::string_view patient_class) {
  const std::string c = absl::AsciiStrToUpper(Trim(patient_class));
  if (c == "I" || c == "B") return "inpatient";
  if (c == "O" || c == "R" || c == "P") return "outpatient";
  if (c == "E") return "emergency";
  return "";
}

std::string DiagnosisSystem(absl::string_view hl7_system) {
  const std::string s = absl::AsciiStrToUpper(Trim(hl7_system));
  if (s.empty() || s == "I10" || s == "ICD10" || s == "ICD-10" || s == "I10C" || s == "GB/T14396") return "ICD-10";
  if (s == "I9" || s == "I9C" || s == "ICD9" || s == "ICD-9") return "ICD-9";
  return std::string(hl7_system);
}

// An encounter from PV1 (and the DG1 segments); nullopt when PV1-19 is empty.
bool MapEncounter(Context& ctx, const std::string& record_id, const Location& record_origin, bool required) {
  const hl7::Message& m = ctx.message;
  const Segment* pv1 = m.Find("PV1");
  const std::string visit = pv1 != nullptr ? Value(pv1->Component(19, 1)) : "";
  if (visit.empty()) {
    if (required) {
      ctx.Error(pv1 != nullptr ? pv1->At(19) : Location{"PV1", 1, 19, 0, 0, 0}, ErrorCode::kRequiredFieldMissing,
                pv1 != nullptr ? "PV1-19: the visit number (encounter id) is empty"
                               : "PV1: the segment is missing; the visit number PV1-19 is the encounter id");
    }
    return false;
  }
  MappedRecord e = NewRecord(ctx, "encounter", *pv1);
  Record& r = e.record;
  r.set_record_id(record_id);
  e.origins["record_id"] = record_origin;
  r.set_encounter_id(visit);
  e.origins["encounter_id"] = pv1->At(19);
  r.set_encounter_type(EncounterType(pv1->Component(2, 1)));
  e.origins["encounter_type"] = pv1->At(2);
  std::string department = Value(pv1->Component(3, 1));
  if (department.empty()) department = Value(pv1->Component(10, 1));
  r.set_department(department);
  e.origins["department"] = pv1->At(3);
  for (int i = 0; const Segment* dg1 = m.Find("DG1", i); ++i) {
    const std::string code = Value(dg1->Component(3, 1));
    std::string display = Value(dg1->Component(3, 2));
    if (display.empty()) display = Value(dg1->Component(4, 1));  // DG1-4 description (older versions)
    if (code.empty() && display.empty()) continue;
    auto* d = r.add_diagnoses();
    d->set_code(code);
    d->set_display(display);
    d->set_system(DiagnosisSystem(dg1->Component(3, 3)));
  }
  e.origins["diagnoses"] = Location{"DG1", 1, 3, 0, 0, 0};
  ctx.out->records.push_back(std::move(e));
  return true;
}

void MapPatientMessage(Context& ctx, bool with_patient, bool encounter_required) {
  const Segment* pid = ctx.message.Find("PID");
  if (pid == nullptr) {
    ctx.Error(Location{"PID", 1, 0, 0, 0, 0}, ErrorCode::kSegmentSequence,
              absl::StrCat("PID: ", ctx.message.header().message_type, "^", ctx.message.header().trigger_event,
                           " needs a PID segment and has none"));
    return;
  }
  std::string record_id;
  Location origin;
  if (!PatientIdentity(ctx, *pid, 3, &record_id, &origin)) return;
  if (with_patient) {
    MappedRecord p = NewRecord(ctx, "patient", *pid);
    p.record.set_record_id(record_id);
    p.origins["record_id"] = origin;
    AddPatientFields(ctx, *pid, &p);
    ctx.out->records.push_back(std::move(p));
  }
  MapEncounter(ctx, record_id, origin, encounter_required);
}

void MapMerge(Context& ctx) {
  const auto& segments = ctx.message.segments();
  int groups = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i].id() != "PID") continue;
    const Segment& pid = segments[i];
    const Segment* mrg = nullptr;
    for (size_t k = i + 1; k < segments.size() && segments[k].id() != "PID"; ++k) {
      if (segments[k].id() == "MRG") {
        mrg = &segments[k];
        break;
      }
    }
    ++groups;
    if (mrg == nullptr) {
      ctx.Error(pid.At(0), ErrorCode::kSegmentSequence,
                absl::StrCat("MRG: the merge group of PID[", pid.sequence(),
                             "] has no MRG segment naming the record that is merged"));
      continue;
    }
    std::string survivor, merged;
    Location survivor_origin, merged_origin;
    if (!PatientIdentity(ctx, pid, 3, &survivor, &survivor_origin)) continue;
    if (!PatientIdentity(ctx, *mrg, 1, &merged, &merged_origin)) continue;
    MappedRecord m = NewRecord(ctx, "patient", pid);
    m.record.set_op("merge");
    m.record.set_record_id(survivor);
    m.origins["record_id"] = survivor_origin;
    m.record.set_merged_record_id(merged);
    m.origins["merged_record_id"] = merged_origin;
    AddPatientFields(ctx, pid, &m);
    ctx.out->records.push_back(std::move(m));
  }
  if (groups == 0) {
    ctx.Error(Location{"PID", 1, 0, 0, 0, 0}, ErrorCode::kSegmentSequence,
              "PID: ADT^A40 needs at least one PID/MRG group and has none");
  }
}

std::string CodeSystem(absl::string_view hl7) {
  const std::string s = absl::AsciiStrToUpper(Trim(hl7));
  if (s == "LN" || s == "LOINC") return "LOINC";
  if (s == "SCT" || s == "SNM" || s == "SNOMED") return "SNOMED-CT";
  return Trim(hl7);
}

const char* AbnormalFlag(absl::string_view flag) {
  const std::string f = absl::AsciiStrToUpper(Trim(flag));
  if (f == "N") return "N";
  if (f == "H" || f == "HH" || f == ">" || f == "HU") return "H";
  if (f == "L" || f == "LL" || f == "<" || f == "LU") return "L";
  if (f == "A" || f == "AA") return "A";
  return nullptr;
}

void MapObservations(Context& ctx) {
  const Segment* pid = ctx.message.Find("PID");
  if (pid == nullptr) {
    ctx.Error(Location{"PID", 1, 0, 0, 0, 0}, ErrorCode::kSegmentSequence,
              "PID: ORU^R01 needs a PID segment naming the patient and has none");
    return;
  }
  std::string record_id;
  Location origin;
  if (!PatientIdentity(ctx, *pid, 3, &record_id, &origin)) return;
  const Segment* pv1 = ctx.message.Find("PV1");
  const std::string encounter = pv1 != nullptr ? Value(pv1->Component(19, 1)) : "";
  const Segment* obr = nullptr;
  std::string order;
  Location order_origin;
  int observations = 0;
  for (const Segment& s : ctx.message.segments()) {
    if (s.id() == "OBR") {
      obr = &s;
      order = Value(s.Component(3, 1));  // filler order number
      order_origin = s.At(3);
      if (order.empty()) order = Value(s.Component(2, 1)), order_origin = s.At(2);  // placer
      if (order.empty()) {
        order = absl::StrCat(ctx.message.header().control_id, "-", s.sequence());
        order_origin = Location{"MSH", 1, 10, 0, 0, 0};
      }
      continue;
    }
    if (s.id() != "OBX") continue;
    ++observations;
    MappedRecord o = NewRecord(ctx, "observation", s);
    Record& r = o.record;
    r.set_record_id(record_id);
    o.origins["record_id"] = origin;
    if (!encounter.empty()) r.set_encounter_id(encounter), o.origins["encounter_id"] = pv1->At(19);
    std::string set_id = Value(s.Component(1, 1));
    if (set_id.empty()) set_id = absl::StrCat(s.sequence());
    if (order.empty()) {
      order = absl::StrCat(ctx.message.header().control_id);
      order_origin = Location{"MSH", 1, 10, 0, 0, 0};
    }
    r.set_observation_id(absl::StrCat(order, "-", set_id));
    o.origins["observation_id"] = order_origin;
    r.set_code(Value(s.Component(3, 1)));
    r.set_display(Value(s.Component(3, 2)));
    r.set_system(CodeSystem(s.Component(3, 3)));
    o.origins["code"] = s.At(3);
    const std::string type = absl::AsciiStrToUpper(Value(s.Component(2, 1)));
    std::vector<absl::string_view> values = s.Repetitions(5);
    o.origins["value"] = s.At(5);
    if (!values.empty()) {
      std::vector<std::string> c = s.Components(values[0]);
      double number = 0;
      if (type == "NM" && !c.empty() && absl::SimpleAtod(Trim(c[0]), &number) && std::isfinite(number)) {
        r.mutable_value()->set_number_value(number);
      } else if (type == "SN" && c.size() >= 2 && Trim(c[0]).empty() && (c.size() < 3 || Trim(c[2]).empty()) &&
                 absl::SimpleAtod(Trim(c[1]), &number) && std::isfinite(number)) {
        r.mutable_value()->set_number_value(number);
      } else if (type == "CE" || type == "CWE" || type == "CNE") {
        r.mutable_value()->set_string_value(c.size() > 1 && !Value(c[1]).empty() ? Value(c[1]) : Value(c[0]));
      } else {
        std::vector<std::string> texts;
        for (absl::string_view rep : values) texts.push_back(Value(s.UnescapeValue(rep)));
        const std::string text = absl::StrJoin(texts, "\n");
        if (type == "SN") {
          std::string joined;
          for (const std::string& part : c) joined += Trim(part);
          r.mutable_value()->set_string_value(joined);
        } else if (!text.empty()) {
          r.mutable_value()->set_string_value(text);
        }
      }
    }
    std::string unit = Value(s.Component(6, 1));
    if (unit.empty()) unit = Value(s.Component(6, 2));
    r.set_unit(unit);
    r.set_reference_range(Value(s.Component(7, 1)));
    const std::vector<absl::string_view> flags = s.Repetitions(8);
    if (!flags.empty()) {
      const std::string flag = Value(s.UnescapeValue(flags[0]));
      const char* mapped = AbnormalFlag(flag);
      r.set_abnormal_flag(mapped != nullptr ? mapped : flag);
      o.origins["abnormal_flag"] = s.At(8);
    }
    // The time of the observation itself when the lab gives it.
    std::string when = Value(s.Component(14, 1));
    Location when_origin = s.At(14);
    if (when.empty() && obr != nullptr) when = Value(obr->Component(7, 1)), when_origin = obr->At(7);
    if (!when.empty()) {
      auto t = Hl7TimeToRfc3339(when, ctx.options.default_zone);
      if (t.ok()) {
        r.set_event_time(*t);
        o.origins["event_time"] = when_origin;
      }
    }
    ctx.out->records.push_back(std::move(o));
  }
  if (observations == 0) {
    ctx.Error(Location{"OBX", 1, 0, 0, 0, 0}, ErrorCode::kSegmentSequence,
              "OBX: ORU^R01 carries no OBX segment; there is no observation to record");
  }
}

}  // namespace

std::string SupportedMessageTypes() {
  return "ADT^A01, ADT^A03, ADT^A04, ADT^A05, ADT^A08, ADT^A11, ADT^A28, ADT^A31, ADT^A40, ORU^R01";
}

absl::StatusOr<std::string> Hl7TimeToRfc3339(absl::string_view ts, absl::TimeZone default_zone) {
  std::string v = Trim(ts);
  size_t i = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) ++i;
  std::string fraction;
  std::string digits_all = v.substr(0, i);
  if (digits_all.size() > 14 && digits_all.size() <= 17 && (i == v.size() || v[i] != '.')) {
    // YYYYMMDDHHMMSSsss: milliseconds without the dot (seen in the wild).
    fraction = digits_all.substr(14);
    digits_all.resize(14);
  }
  const std::string digits = digits_all;
  if (i < v.size() && v[i] == '.') {
    size_t k = i + 1;
    while (k < v.size() && std::isdigit(static_cast<unsigned char>(v[k]))) ++k;
    fraction = v.substr(i + 1, k - i - 1);
    i = k;
  }
  std::string offset;
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) {
    offset = v.substr(i);
    i = v.size();
  }
  auto bad = [&]() {
    return absl::InvalidArgumentError(absl::StrCat("\"", v, "\" is not an HL7 timestamp (YYYYMMDD[HHMM[SS[.S]]]"
                                                   "[+/-ZZZZ])"));
  };
  if (i != v.size() || (digits.size() != 8 && digits.size() != 10 && digits.size() != 12 && digits.size() != 14)) {
    return bad();
  }
  if (!offset.empty() && (offset.size() != 5 || !IsDigits(offset.substr(1)))) return bad();
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  auto num = [&](size_t pos, size_t len) {
    int out = 0;
    (void)absl::SimpleAtoi(digits.substr(pos, len), &out);
    return out;
  };
  year = num(0, 4), month = num(4, 2), day = num(6, 2);
  if (digits.size() >= 10) hour = num(8, 2);
  if (digits.size() >= 12) minute = num(10, 2);
  if (digits.size() >= 14) second = num(12, 2);
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.year() != year || civil.month() != month || civil.day() != day || civil.hour() != hour ||
      civil.minute() != minute || civil.second() != second) {
    return bad();
  }
  std::string zone;
  if (offset.empty()) {
    const absl::Time t = absl::FromCivil(civil, default_zone);
    zone = absl::FormatTime("%Ez", t, default_zone);
  } else {
    zone = absl::StrCat(offset.substr(0, 3), ":", offset.substr(3, 2));
  }
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", year, month, day, hour, minute, second);
  if (!fraction.empty()) absl::StrAppend(&out, ".", fraction.substr(0, 9));
  absl::StrAppend(&out, zone);
  return out;
}

MappedMessage MapMessage(const hl7::Message& message, const MappingOptions& options) {
  MappedMessage out;
  Context ctx{message, options, &out, "", "", {}};
  const hl7::Header& h = message.header();
  std::string trigger = h.trigger_event;
  const Segment* evn = message.Find("EVN");
  if (trigger.empty() && evn != nullptr) trigger = Value(evn->Component(1, 1));  // v2.2 puts it in EVN-1 only
  const std::string type = absl::StrCat(h.message_type, "^", trigger);
  const bool adt = h.message_type == "ADT";
  const bool oru = h.message_type == "ORU";
  if (!adt && !oru) {
    out.code = hl7::AckCode::kReject;
    out.errors.push_back({Location{"MSH", 1, 9, 0, 1, 0}, ErrorCode::kUnsupportedMessageType,
                          absl::StrCat("MSH-9: message type \"", type, "\" is not supported; supported are ",
                                       SupportedMessageTypes())});
    return out;
  }
  const bool supported = (adt && (PatientTriggers().count(trigger) || EncounterTriggers().count(trigger) ||
                                  trigger == "A40")) ||
                         (oru && trigger == "R01");
  if (!supported) {
    out.code = hl7::AckCode::kReject;
    out.errors.push_back({Location{"MSH", 1, 9, 0, 2, 0}, ErrorCode::kUnsupportedEventCode,
                          absl::StrCat("MSH-9: event \"", type, "\" is not supported; supported are ",
                                       SupportedMessageTypes())});
    return out;
  }
  // Who sent it.
  if (!options.facility.empty()) {
    ctx.facility = options.facility;
  } else {
    const std::string ns = h.sending_facility.size() > 0 ? Value(h.sending_facility[0]) : "";
    const std::string universal = h.sending_facility.size() > 1 ? Value(h.sending_facility[1]) : "";
    for (const std::string& key : {ns, universal}) {
      auto it = key.empty() ? options.facility_map.end() : options.facility_map.find(key);
      if (it != options.facility_map.end()) {
        ctx.facility = it->second;
        break;
      }
    }
    if (ctx.facility.empty()) ctx.facility = !ns.empty() ? ns : universal;
    if (ctx.facility.empty()) {
      ctx.Error(Location{"MSH", 1, 4, 0, 0, 0}, ErrorCode::kRequiredFieldMissing,
                "MSH-4: the sending facility is empty and the connector has no --facility for this sender");
      return out;
    }
  }
  // When: EVN-2 (recorded), EVN-6 (occurred), else MSH-7.
  struct Candidate {
    std::string value;
    Location origin;
  };
  std::vector<Candidate> times;
  if (evn != nullptr) {
    times.push_back({Value(evn->Component(2, 1)), evn->At(2)});
    times.push_back({Value(evn->Component(6, 1)), evn->At(6)});
  }
  times.push_back({Value(h.message_time), Location{"MSH", 1, 7, 0, 0, 0}});
  for (const Candidate& c : times) {
    if (c.value.empty()) continue;
    auto t = Hl7TimeToRfc3339(c.value, options.default_zone);
    if (!t.ok()) {
      ctx.Error(c.origin, ErrorCode::kDataType, absl::StrCat(c.origin.ToString(), ": ", t.status().message()));
      return out;
    }
    ctx.event_time = *t;
    ctx.event_time_origin = c.origin;
    break;
  }
  if (ctx.event_time.empty()) {
    ctx.Error(Location{"MSH", 1, 7, 0, 0, 0}, ErrorCode::kRequiredFieldMissing,
              "MSH-7: the message has no time (MSH-7 and EVN-2 are empty); records need the time the HIS "
              "changed them");
    return out;
  }
  if (oru) {
    MapObservations(ctx);
  } else if (trigger == "A40") {
    MapMerge(ctx);
  } else if (EncounterTriggers().count(trigger)) {
    MapPatientMessage(ctx, /*with_patient=*/false, /*encounter_required=*/true);
  } else {
    MapPatientMessage(ctx, /*with_patient=*/true, /*encounter_required=*/false);
  }
  if (!out.errors.empty()) out.records.clear();
  return out;
}

}  // namespace hisbridge::connectors::hl7v2
