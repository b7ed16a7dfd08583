// Clinical events: Encounter, Observation, MedicationRequest, and what
// they share (the subject patient, event ids and times).
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/fhir/fhir_time.h"
#include "libs/fhir/json.h"
#include "libs/fhir/mapper.h"

namespace hisbridge::fhir {
namespace internal {

bool Mapper::Subject(size_t i, const std::string& event_facility, Record* r, Origins* origins) {
  const Input& in = inputs_[i];
  const std::string path = in.path + ".subject";
  std::vector<Issue>& issues = IssuesOf(i);
  const Json* subject = in.resource->Find("subject");
  (*origins)["facility_id"] = path;
  (*origins)["record_id"] = path;
  if (subject == nullptr) {
    issues.push_back(MakeError(IssueType::kRequired, path,
                               absl::StrCat(path, " is required: every ", out_->entries[i].resource_type,
                                            " must name its patient")));
    return false;
  }
  Resolved target = Resolve(subject, i);
  switch (target.kind) {
    case Resolved::Kind::kEntry: {
      if (target.type != "Patient") break;
      Identity id = PatientIdentity(target.entry);
      if (!id.ok) {
        issues.push_back(MakeError(IssueType::kProcessing, path,
                                   absl::StrCat(path, " refers to ", Quote(target.text), " (Bundle.entry[",
                                                inputs_[target.entry].index,
                                                "]), whose facility or patient number is missing")));
        return false;
      }
      r->set_facility_id(id.facility);
      r->set_record_id(id.record);
      return true;
    }
    case Resolved::Kind::kExternal: {
      if (target.type != "Patient") break;
      std::string facility, record;
      if (!SplitSourceIdentity(target.id, &facility, &record)) {
        facility = event_facility;
        record = target.id;
      }
      if (facility.empty()) {
        issues.push_back(MakeError(
            IssueType::kRequired, path,
            absl::StrCat(path, " ", Quote(target.text),
                         " is not in the Bundle, so its facility is unknown: send the X-Hisbridge-Facility header, "
                         "start the connector with --facility, or refer to the patient as "
                         "Patient/<facility_id>|<record_id>")));
        return false;
      }
      r->set_facility_id(facility);
      r->set_record_id(record);
      return true;
    }
    case Resolved::Kind::kLogical: {
      const std::string value = Trim(target.identifier->GetString("value"));
      const IdentifierSystem* row = FindSystem(o_, target.identifier->GetString("system"));
      const TypeMeaning meaning = MeaningOfType(target.identifier->Find("type"));
      const bool is_record = row != nullptr ? row->target == IdentifierTarget::kRecordId
                                            : meaning.known && meaning.target == IdentifierTarget::kRecordId;
      if (!is_record || value.empty()) {
        issues.push_back(MakeError(
            IssueType::kNotSupported, path + ".identifier",
            absl::StrCat(path, ".identifier names the patient by an identifier that is not the facility's "
                         "patient number; an event must name its patient's record (type MR or a record_id "
                         "system)")));
        return false;
      }
      if (event_facility.empty()) {
        issues.push_back(MakeError(IssueType::kRequired, path,
                                   absl::StrCat(path, ": the facility of the patient's record is unknown: send "
                                                "the X-Hisbridge-Facility header or start the connector with "
                                                "--facility")));
        return false;
      }
      r->set_facility_id(event_facility);
      r->set_record_id(value);
      return true;
    }
    case Resolved::Kind::kContained:
      issues.push_back(MakeError(IssueType::kNotSupported, path,
                                 absl::StrCat(path, " refers to a contained ", target.type,
                                              "; send the Patient as its own Bundle entry")));
      return false;
    case Resolved::Kind::kConditional:
      issues.push_back(MakeError(IssueType::kNotSupported, path,
                                 absl::StrCat(path, " ", Quote(target.text),
                                              ": conditional references are not supported")));
      return false;
    case Resolved::Kind::kUnresolved:
      issues.push_back(MakeError(IssueType::kNotFound, path,
                                 absl::StrCat(path, " ", Quote(target.text),
                                              " does not resolve to an entry of the Bundle")));
      return false;
    case Resolved::Kind::kNone:
      issues.push_back(MakeError(IssueType::kRequired, path,
                                 absl::StrCat(path, " has neither a reference nor an identifier")));
      return false;
  }
  issues.push_back(MakeError(IssueType::kInvalid, path,
                             absl::StrCat(path, " ", Quote(target.text), " is a ", target.type,
                                          "; the subject of a clinical event must be a Patient")));
  return false;
}

// The event id: the first identifier, else the resource id, else the
// id of PUT <type>/<id>, else the urn:uuid of the entry.
std::string Mapper::EventId(size_t i, const std::string& field, Origins* origins) {
  const Input& in = inputs_[i];
  const std::vector<Json>& identifiers = in.resource->GetArray("identifier");
  for (size_t k = 0; k < identifiers.size(); ++k) {
    if (std::string v = Trim(identifiers[k].GetString("value")); !v.empty()) {
      (*origins)[field] = absl::StrCat(in.path, ".identifier[", k, "].value");
      return v;
    }
  }
  if (std::string id = Trim(in.resource->GetString("id")); !id.empty()) {
    (*origins)[field] = in.path + ".id";
    return id;
  }
  if (!in.url_id.empty()) {
    (*origins)[field] = absl::StrCat("Bundle.entry[", in.index, "].request.url");
    return in.url_id;
  }
  if (absl::StartsWith(in.full_url, "urn:uuid:")) {
    (*origins)[field] = absl::StrCat("Bundle.entry[", in.index, "].fullUrl");
    return in.full_url.substr(9);
  }
  (*origins)[field] = in.path + ".identifier";
  IssuesOf(i).push_back(MakeError(
      IssueType::kRequired, in.path + ".identifier",
      absl::StrCat(in.path, ": the ", out_->entries[i].resource_type,
                   " needs a stable id (", field, "): give it an identifier or an id, so that sending it again "
                   "replaces it instead of adding it twice")));
  return "";
}

std::string Mapper::EncounterIdOf(const Json* reference, size_t from) {
  Resolved r = Resolve(reference, from);
  switch (r.kind) {
    case Resolved::Kind::kEntry:
      if (r.type == "Encounter") {
        // An entry's encounter id, without reporting its problems twice.
        const Input& in = inputs_[r.entry];
        for (const Json& ident : in.resource->GetArray("identifier")) {
          if (std::string v = Trim(ident.GetString("value")); !v.empty()) return v;
        }
        if (std::string id = Trim(in.resource->GetString("id")); !id.empty()) return id;
        if (!in.url_id.empty()) return in.url_id;
        if (absl::StartsWith(in.full_url, "urn:uuid:")) return in.full_url.substr(9);
      }
      return "";
    case Resolved::Kind::kExternal: return r.type == "Encounter" ? r.id : "";
    case Resolved::Kind::kLogical: return Trim(r.identifier->GetString("value"));
    default: return "";
  }
}

std::string Mapper::EventTime(size_t i, const std::vector<std::pair<std::string, const Json*>>& candidates,
                              Origins* origins) {
  const Input& in = inputs_[i];
  for (const auto& [path, value] : candidates) {
    if (value == nullptr || !value->is_string() || value->string().empty()) continue;
    auto t = FhirDateTimeToRfc3339(value->string(), o_.default_zone);
    (*origins)["event_time"] = path;
    if (!t.ok()) {
      // A malformed dateTime was reported by the structure check; a year or
      // month alone is valid FHIR but too vague for an event.
      if (!HasErrorAt(IssuesOf(i), path)) {
        IssuesOf(i).push_back(MakeError(IssueType::kValue, path, absl::StrCat(path, ": ", t.status().message())));
      }
      return "";
    }
    return *t;
  }
  const Json* meta = in.resource != nullptr ? in.resource->Find("meta") : nullptr;
  if (meta != nullptr) {
    if (const Json* updated = meta->Find("lastUpdated"); updated != nullptr && updated->is_string()) {
      (*origins)["event_time"] = in.path + ".meta.lastUpdated";
      auto t = FhirDateTimeToRfc3339(updated->string(), o_.default_zone);
      if (t.ok()) return *t;
      return updated->string();  // the structure check reported it; validation names it again
    }
  }
  (*origins)["event_time"] = in.path;
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", o_.now, o_.default_zone);
}

std::vector<hisbridge::v1::Diagnosis> Mapper::Diagnoses(size_t i, Origins* origins) {
  const Input& in = inputs_[i];
  std::vector<hisbridge::v1::Diagnosis> out;
  std::set<std::pair<std::string, std::string>> seen;
  auto add = [&](const Json* cc, const std::string& path) {
    CodeChoice c = ChooseCoding(cc, "ICD-10");
    if (c.code.empty() && c.display.empty()) return;
    if (!seen.insert({c.system, c.code.empty() ? c.display : c.code}).second) return;
    hisbridge::v1::Diagnosis d;
    d.set_code(c.code);
    d.set_system(c.code.empty() ? "" : c.system);
    d.set_display(c.display);
    (*origins)[absl::StrCat("diagnoses[", out.size(), "]")] = path;
    out.push_back(std::move(d));
  };
  const std::vector<Json>& reasons = in.resource->GetArray("reasonCode");
  for (size_t k = 0; k < reasons.size(); ++k) add(&reasons[k], absl::StrCat(in.path, ".reasonCode[", k, "]"));
  const std::vector<Json>& diagnoses = in.resource->GetArray("diagnosis");
  for (size_t k = 0; k < diagnoses.size(); ++k) {
    const std::string path = absl::StrCat(in.path, ".diagnosis[", k, "].condition");
    const Json* condition = diagnoses[k].Find("condition");
    Resolved r = Resolve(condition, i);
    if ((r.kind == Resolved::Kind::kEntry || r.kind == Resolved::Kind::kContained) && r.type == "Condition") {
      const std::string target = r.kind == Resolved::Kind::kEntry
                                     ? absl::StrCat("Bundle.entry[", inputs_[r.entry].index, "].resource.code")
                                     : std::string("contained Condition.code");
      add(r.resource->Find("code"), absl::StrCat(path, " -> ", target));
      continue;
    }
    const std::string display = condition != nullptr ? Trim(condition->GetString("display")) : "";
    if (!display.empty()) {
      Json cc = Json::Object();
      cc.Set("text", Json::String(display));
      add(&cc, path + ".display");
      continue;
    }
    IssuesOf(i).push_back(MakeWarning(
        IssueType::kNotFound, path,
        absl::StrCat(path, " ", Quote(r.text),
                     " is neither in the Bundle nor contained and has no display; this diagnosis is not recorded")));
  }
  // Conditions of the Bundle that name this encounter.
  for (size_t j = 0; j < inputs_.size(); ++j) {
    if (out_->entries[j].resource_type != "Condition" || inputs_[j].resource == nullptr) continue;
    const Json* enc = inputs_[j].resource->Find("encounter");
    if (enc == nullptr) continue;
    const bool was_referenced = referenced_[i];
    Resolved r = Resolve(enc, j);
    referenced_[i] = was_referenced;
    if (r.kind == Resolved::Kind::kEntry && r.entry == i) {
      referenced_[j] = true;
      add(inputs_[j].resource->Find("code"), absl::StrCat("Bundle.entry[", inputs_[j].index, "].resource.code"));
    }
  }
  return out;
}

void Mapper::RefuseRetraction(size_t i) {
  const Input& in = inputs_[i];
  const std::string& status = in.resource->GetString("status");
  if (status != "entered-in-error" && status != "cancelled") return;
  out_->entries[i].issues.push_back(MakeError(
      IssueType::kNotSupported, in.path + ".status",
      absl::StrCat(in.path, ".status ", Quote(status),
                   ": hisbridge cannot retract a clinical event yet (the county record format has no "
                   "cancellation)")));
}

void Mapper::MapEncounter(size_t i) {
  const Input& in = inputs_[i];
  const Json& e = *in.resource;
  MappedEntry& entry = out_->entries[i];
  Mapped m;
  Record& r = m.record;
  r.set_kind("encounter");
  RefuseRetraction(i);
  std::string facility = FacilityOfReference(e.Find("serviceProvider"), i);
  if (facility.empty()) facility = o_.default_facility;
  if (!Subject(i, facility, &r, &m.origins)) return;
  r.set_encounter_id(EventId(i, "encounter_id", &m.origins));
  entry.id = r.encounter_id();
  const Json* period = e.Find("period");
  r.set_event_time(EventTime(i, {{in.path + ".period.start", period != nullptr ? period->Find("start") : nullptr}},
                             &m.origins));

  // class (v3 ActCode) -> encounter_type; the county's own codes pass.
  if (const Json* cls = e.Find("class"); cls != nullptr) {
    const std::string code = Trim(cls->GetString("code"));
    const std::string upper = absl::AsciiStrToUpper(code);
    std::string type = code;
    if (upper == "AMB" || upper == "VR" || upper == "OBSENC") {
      type = "outpatient";
    } else if (upper == "IMP" || upper == "ACUTE" || upper == "NONAC" || upper == "PRENC" || upper == "SS") {
      type = "inpatient";
    } else if (upper == "EMER") {
      type = "emergency";
    } else if (upper == "HH" || upper == "FLD") {
      type = "public_health";
    }
    r.set_encounter_type(type);
    m.origins["encounter_type"] = in.path + ".class";
  }
  // serviceType, else type -> department.
  std::string department = ConceptText(e.Find("serviceType"));
  m.origins["department"] = in.path + ".serviceType";
  if (department.empty()) {
    for (const Json& t : e.GetArray("type")) {
      department = ConceptText(&t);
      if (!department.empty()) break;
    }
    m.origins["department"] = in.path + ".type";
  }
  r.set_department(department);
  for (auto& d : Diagnoses(i, &m.origins)) *r.add_diagnoses() = std::move(d);
  if (const Json* hosp = e.Find("hospitalization"); hosp != nullptr) {
    for (const auto& [field, element] : {std::pair<std::string, std::string>{"referral_from", "origin"},
                                         std::pair<std::string, std::string>{"referral_to", "destination"}}) {
      const Json* ref = hosp->Find(element);
      if (ref == nullptr) continue;
      const std::string path = absl::StrCat(in.path, ".hospitalization.", element);
      const std::string f = FacilityOfReference(ref, i);
      if (f.empty()) {
        entry.issues.push_back(MakeWarning(
            IssueType::kProcessing, path,
            absl::StrCat(path, " names no facility code (give the Organization an identifier); the referral is "
                         "not recorded")));
        continue;
      }
      if (field == "referral_from") r.set_referral_from(f);
      else r.set_referral_to(f);
      m.origins[field] = path;
    }
  }
  std::vector<Mapped> out;
  out.push_back(std::move(m));
  Emit(i, std::move(out));
}

void Mapper::MapObservation(size_t i) {
  const Input& in = inputs_[i];
  const Json& obs = *in.resource;
  MappedEntry& entry = out_->entries[i];
  Mapped base;
  Record& r = base.record;
  r.set_kind("observation");
  RefuseRetraction(i);
  if (!Subject(i, o_.default_facility, &r, &base.origins)) return;
  const std::string id = EventId(i, "observation_id", &base.origins);
  r.set_observation_id(id);
  entry.id = id;
  const Json* period = obs.Find("effectivePeriod");
  r.set_event_time(EventTime(i,
                             {{in.path + ".effective.ofType(dateTime)", obs.Find("effectiveDateTime")},
                              {in.path + ".effective.ofType(instant)", obs.Find("effectiveInstant")},
                              {in.path + ".effective.ofType(Period).start",
                               period != nullptr ? period->Find("start") : nullptr},
                              {in.path + ".issued", obs.Find("issued")}},
                             &base.origins));
  if (const Json* enc = obs.Find("encounter"); enc != nullptr) {
    r.set_encounter_id(EncounterIdOf(enc, i));
    base.origins["encounter_id"] = in.path + ".encounter";
  }

  // One observation's code, value, range and flag from an element that has
  // them (the Observation itself or one component).
  auto fill = [&](const Json& source, const std::string& path, Mapped* m) {
    Record& rec = m->record;
    CodeChoice code = ChooseCoding(source.Find("code"), "LOINC");
    rec.set_code(code.code);
    rec.set_system(code.system);
    rec.set_display(code.display);
    m->origins["code"] = m->origins["system"] = m->origins["display"] = path + ".code";
    const std::pair<const char*, const char*> kValues[] = {
        {"valueQuantity", "Quantity"}, {"valueString", "string"},     {"valueCodeableConcept", "CodeableConcept"},
        {"valueBoolean", "boolean"},   {"valueInteger", "integer"},   {"valueRange", "Range"},
        {"valueRatio", "Ratio"},       {"valueTime", "time"},         {"valueDateTime", "dateTime"},
        {"valuePeriod", "Period"},     {"valueSampledData", "SampledData"}};
    for (const auto& [key, type] : kValues) {
      const Json* v = source.Find(key);
      if (v == nullptr) continue;
      m->origins["value"] = absl::StrCat(path, ".value.ofType(", type, ")");
      const std::string k = key;
      if (k == "valueQuantity") {
        const Json* number = v->Find("value");
        if (number != nullptr && number->is_number() && v->GetString("comparator").empty()) {
          rec.mutable_value()->set_number_value(number->number());
        } else if (number != nullptr) {
          rec.mutable_value()->set_string_value(absl::StrCat(v->GetString("comparator"), number->NumberText()));
        }
        std::string unit = Trim(v->GetString("unit"));
        if (unit.empty()) unit = Trim(v->GetString("code"));
        rec.set_unit(unit);
        m->origins["unit"] = m->origins["value"];
      } else if (k == "valueInteger") {
        rec.mutable_value()->set_number_value(v->number());
      } else if (k == "valueBoolean") {
        rec.mutable_value()->set_string_value(v->bool_value() ? "true" : "false");
      } else if (k == "valueCodeableConcept") {
        rec.mutable_value()->set_string_value(ConceptText(v));
      } else if (k == "valueRange") {
        rec.mutable_value()->set_string_value(RangeText(v->Find("low"), v->Find("high")));
      } else if (k == "valueRatio") {
        rec.mutable_value()->set_string_value(
            absl::StrCat(QuantityText(v->Find("numerator")), "/", QuantityText(v->Find("denominator"))));
      } else if (k == "valuePeriod") {
        rec.mutable_value()->set_string_value(
            absl::StrCat(v->GetString("start"), "/", v->GetString("end")));
      } else if (k == "valueSampledData") {
        rec.mutable_value()->set_string_value(v->GetString("data"));
      } else {
        rec.mutable_value()->set_string_value(v->string());
      }
      break;
    }
    const std::vector<Json>& ranges = source.GetArray("referenceRange");
    if (!ranges.empty()) {
      std::string text = Trim(ranges[0].GetString("text"));
      if (text.empty()) text = RangeText(ranges[0].Find("low"), ranges[0].Find("high"));
      if (!text.empty()) {
        rec.set_reference_range(text);
        m->origins["reference_range"] = path + ".referenceRange[0]";
      }
    }
    const std::string flag = AbnormalFlag(source.GetArray("interpretation"));
    if (!flag.empty()) {
      rec.set_abnormal_flag(flag);
      m->origins["abnormal_flag"] = path + ".interpretation";
    }
  };

  std::vector<Mapped> out;
  const std::vector<Json>& components = obs.GetArray("component");
  const bool parent_has_value = std::any_of(obs.members().begin(), obs.members().end(), [](const Json::Member& mem) {
    return absl::StartsWith(mem.first, "value");
  });
  if (components.empty() || parent_has_value) {
    Mapped m = base;
    fill(obs, in.path, &m);
    out.push_back(std::move(m));
  }
  std::set<std::string> used;
  for (size_t k = 0; k < components.size(); ++k) {
    const std::string path = absl::StrCat(in.path, ".component[", k, "]");
    Mapped m = base;
    // A component without its own range or flag keeps the panel's.
    fill(obs, in.path, &m);
    m.record.clear_value();
    m.record.clear_unit();
    m.origins.erase("value");
    m.origins.erase("unit");
    Mapped own = base;
    fill(components[k], path, &own);
    Record& rec = m.record;
    rec.set_code(own.record.code());
    rec.set_system(own.record.system());
    rec.set_display(own.record.display());
    if (own.record.has_value()) *rec.mutable_value() = own.record.value();
    rec.set_unit(own.record.unit());
    if (!own.record.reference_range().empty()) rec.set_reference_range(own.record.reference_range());
    if (!own.record.abnormal_flag().empty()) rec.set_abnormal_flag(own.record.abnormal_flag());
    for (const auto& [field, origin] : own.origins) m.origins[field] = origin;
    std::string suffix = own.record.code().empty() ? absl::StrCat(k + 1) : own.record.code();
    if (!used.insert(suffix).second) suffix = absl::StrCat(suffix, "-", k + 1);
    rec.set_observation_id(absl::StrCat(id, "-", suffix));
    out.push_back(std::move(m));
  }
  Emit(i, std::move(out));
}

void Mapper::MapMedication(size_t i) {
  const Input& in = inputs_[i];
  const Json& mr = *in.resource;
  MappedEntry& entry = out_->entries[i];
  Mapped m;
  Record& r = m.record;
  r.set_kind("medication");
  RefuseRetraction(i);
  if (!Subject(i, o_.default_facility, &r, &m.origins)) return;
  r.set_medication_id(EventId(i, "medication_id", &m.origins));
  entry.id = r.medication_id();
  r.set_event_time(EventTime(i, {{in.path + ".authoredOn", mr.Find("authoredOn")}}, &m.origins));
  if (const Json* enc = mr.Find("encounter"); enc != nullptr) {
    r.set_encounter_id(EncounterIdOf(enc, i));
    m.origins["encounter_id"] = in.path + ".encounter";
  }

  // The drug: medicationCodeableConcept, or the Medication a reference
  // points to (in the Bundle or contained), else the reference's display.
  const Json* drug = mr.Find("medicationCodeableConcept");
  std::string drug_path = in.path + ".medication.ofType(CodeableConcept)";
  if (drug == nullptr) {
    const Json* ref = mr.Find("medicationReference");
    drug_path = in.path + ".medication.ofType(Reference)";
    Resolved target = Resolve(ref, i);
    if ((target.kind == Resolved::Kind::kEntry || target.kind == Resolved::Kind::kContained) &&
        target.type == "Medication") {
      drug = target.resource->Find("code");
    } else if (ref != nullptr && !Trim(ref->GetString("display")).empty()) {
      r.set_drug_name(Trim(ref->GetString("display")));
      m.origins["drug_name"] = drug_path + ".display";
    } else if (ref != nullptr) {
      entry.issues.push_back(MakeWarning(
          IssueType::kNotFound, drug_path,
          absl::StrCat(drug_path, " ", Quote(target.text),
                       " is neither in the Bundle nor contained and has no display: the drug is unknown")));
    }
  }
  if (drug != nullptr) {
    CodeChoice c = ChooseCoding(drug, "");
    r.set_drug_code(c.code);
    r.set_drug_name(Trim(drug->GetString("text")).empty() ? c.display : Trim(drug->GetString("text")));
    m.origins["drug_code"] = m.origins["drug_name"] = drug_path;
  }

  const std::vector<Json>& dosages = mr.GetArray("dosageInstruction");
  if (!dosages.empty()) {
    const Json& d = dosages[0];
    const std::string path = in.path + ".dosageInstruction[0]";
    const std::vector<Json>& rates = d.GetArray("doseAndRate");
    if (!rates.empty()) {
      if (const Json* q = rates[0].Find("doseQuantity"); q != nullptr) {
        r.set_dose(QuantityText(q));
      } else if (const Json* range = rates[0].Find("doseRange"); range != nullptr) {
        r.set_dose(RangeText(range->Find("low"), range->Find("high")));
      }
      m.origins["dose"] = path + ".doseAndRate[0]";
    }
    r.set_route(ConceptText(d.Find("route")));
    m.origins["route"] = path + ".route";
    if (const Json* timing = d.Find("timing"); timing != nullptr) {
      std::string frequency = ConceptText(timing->Find("code"));
      const Json* repeat = timing->Find("repeat");
      if (frequency.empty() && repeat != nullptr) {
        const Json* f = repeat->Find("frequency");
        const Json* p = repeat->Find("period");
        const std::string unit = repeat->GetString("periodUnit");
        if (f != nullptr && f->is_integer() && p != nullptr && p->is_number()) {
          static const char* const kDaily[] = {"", "qd", "bid", "tid", "qid"};
          if (unit == "d" && p->number() == 1 && f->integer() >= 1 && f->integer() <= 4) {
            frequency = kDaily[f->integer()];
          } else {
            frequency = absl::StrCat(f->integer(), "/", p->NumberText(), unit);
          }
        }
      }
      r.set_frequency(frequency);
      m.origins["frequency"] = path + ".timing";
    }
  }
  // days: the expected supply duration, in whole days.
  if (const Json* dispense = mr.Find("dispenseRequest"); dispense != nullptr) {
    if (const Json* duration = dispense->Find("expectedSupplyDuration"); duration != nullptr) {
      const Json* value = duration->Find("value");
      std::string unit = absl::AsciiStrToLower(Trim(duration->GetString("code")));
      if (unit.empty()) unit = absl::AsciiStrToLower(Trim(duration->GetString("unit")));
      double factor = 0;
      if (unit == "d" || unit == "day" || unit == "days" || unit == "天") factor = 1;
      if (unit == "wk" || unit == "week" || unit == "weeks" || unit == "周") factor = 7;
      const std::string path = in.path + ".dispenseRequest.expectedSupplyDuration";
      if (value != nullptr && value->is_number() && factor > 0 &&
          std::floor(value->number() * factor) == value->number() * factor &&
          value->number() * factor <= std::numeric_limits<int32_t>::max() &&
          value->number() * factor >= std::numeric_limits<int32_t>::min()) {
        r.set_days(static_cast<int32_t>(value->number() * factor));
        m.origins["days"] = path;
      } else {
        entry.issues.push_back(MakeWarning(
            IssueType::kValue, path,
            absl::StrCat(path, " is not a whole number of days or weeks (code d or wk); days is not recorded")));
      }
    }
  }
  std::vector<Mapped> out;
  out.push_back(std::move(m));
  Emit(i, std::move(out));
}

}  // namespace internal
}  // namespace hisbridge::fhir
