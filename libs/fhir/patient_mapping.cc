// The Patient: demographics, identity (facility, record number) and
// merges; and the Patient of $match.
#include <algorithm>
#include <limits>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/fhir/json.h"
#include "libs/fhir/mapper.h"
#include "libs/fhir/schema.h"

namespace hisbridge::fhir {
namespace internal {

void Mapper::PatientFields(const Json& p, const std::string& path, Record* r, Origins* origins,
                           std::vector<Issue>* issues, std::vector<std::pair<int, std::string>>* record_ids) {
  // Identifiers.
  std::string id_number_path;
  const std::vector<Json>& identifiers = p.GetArray("identifier");
  for (size_t k = 0; k < identifiers.size(); ++k) {
    const Json& id = identifiers[k];
    const std::string value = Trim(id.GetString("value"));
    const std::string value_path = absl::StrCat(path, ".identifier[", k, "].value");
    if (value.empty()) continue;
    if (id.GetString("use") == "old") continue;
    const std::string system = Trim(id.GetString("system"));
    const IdentifierSystem* row = FindSystem(o_, system);
    TypeMeaning meaning;
    if (row != nullptr) {
      meaning.known = true;
      meaning.target = row->target;
      meaning.id_type = row->id_type;
      meaning.record_rank = 0;
    } else {
      meaning = MeaningOfType(id.Find("type"));
    }
    if (!meaning.known) {
      issues->push_back(MakeInformation(
          value_path, absl::StrCat(path, ".identifier[", k, "] (system ", Quote(system.empty() ? "none" : system),
                                   ") is not a known identifier system and has no known type; it is not kept "
                                   "(the connector's --identifier-systems table says which systems mean what)")));
      continue;
    }
    switch (meaning.target) {
      case IdentifierTarget::kRecordId:
        if (record_ids != nullptr) record_ids->emplace_back(meaning.record_rank, value);
        // Where each candidate came from; MapPatient keeps the chosen one.
        origins->emplace(absl::StrCat("record_id#", value), value_path);
        break;
      case IdentifierTarget::kIdNumber: {
        const std::string type = meaning.id_type.empty() ? "01" : meaning.id_type;
        // One identity document per record: a resident id card wins.
        if (r->id_number().empty() || (type == "01" && r->id_type() != "01")) {
          if (!r->id_number().empty()) {
            issues->push_back(MakeInformation(
                id_number_path, absl::StrCat(id_number_path, " (id_type ", r->id_type(),
                                             ") is not kept: a county record carries one identity document, and "
                                             "the resident identity card is preferred")));
          }
          r->set_id_number(value);
          r->set_id_type(type);
          id_number_path = value_path;
          (*origins)["id_number"] = value_path;
          (*origins)["id_type"] = absl::StrCat(path, ".identifier[", k, "]");
        } else {
          issues->push_back(MakeInformation(
              value_path, absl::StrCat(value_path, " (id_type ", type,
                                       ") is not kept: a county record carries one identity document")));
        }
        break;
      }
      case IdentifierTarget::kInsuranceId:
        if (r->insurance_id().empty()) {
          r->set_insurance_id(value);
          (*origins)["insurance_id"] = value_path;
        }
        break;
      case IdentifierTarget::kHealthCardId:
        if (r->health_card_id().empty()) {
          r->set_health_card_id(value);
          (*origins)["health_card_id"] = value_path;
        }
        break;
    }
  }

  // Name: official, else usual, else one without use; never old or maiden.
  {
    const std::vector<Json>& names = p.GetArray("name");
    auto rank = [](const std::string& use) {
      if (use == "official") return 0;
      if (use == "usual") return 1;
      if (use.empty()) return 2;
      if (use == "old" || use == "maiden") return 9;
      return 3;
    };
    int best = 9;
    size_t chosen = names.size();
    for (size_t k = 0; k < names.size(); ++k) {
      const int rk = rank(names[k].GetString("use"));
      if (rk < best) best = rk, chosen = k;
    }
    if (chosen < names.size()) {
      const Json& n = names[chosen];
      std::string name = Trim(n.GetString("text"));
      std::string origin = absl::StrCat(path, ".name[", chosen, "].text");
      if (name.empty()) {
        const std::string family = Trim(n.GetString("family"));
        std::vector<std::string> given;
        for (const Json& g : n.GetArray("given")) {
          if (std::string v = Trim(g.string()); !v.empty()) given.push_back(v);
        }
        const bool han = HasHan(family) || std::any_of(given.begin(), given.end(), HasHan);
        std::vector<std::string> parts;
        if (!family.empty()) parts.push_back(family);
        parts.insert(parts.end(), given.begin(), given.end());
        name = absl::StrJoin(parts, han ? "" : " ");
        origin = absl::StrCat(path, ".name[", chosen, "]");
      }
      if (!name.empty()) {
        r->set_name(name);
        (*origins)["name"] = origin;
      }
    }
  }

  // Gender -> GB/T 2261.1.
  if (const std::string& gender = p.GetString("gender"); !gender.empty()) {
    if (gender == "male") r->set_sex("1");
    else if (gender == "female") r->set_sex("2");
    else if (gender == "other") r->set_sex("9");
    else if (gender == "unknown") r->set_sex("0");
    else r->set_sex(gender);  // already reported by the structure check
    (*origins)["sex"] = path + ".gender";
  }

  if (std::string birth = Trim(p.GetString("birthDate")); !birth.empty()) {
    r->set_birth_date(birth);  // partial dates (YYYY, YYYY-MM) are kept for the normaliser to report
    (*origins)["birth_date"] = path + ".birthDate";
  }

  // Phone: by rank, then mobile, home, no use, work, temp; never old.
  {
    const std::vector<Json>& telecom = p.GetArray("telecom");
    auto use_rank = [](const std::string& use) {
      if (use == "mobile") return 0;
      if (use == "home") return 1;
      if (use.empty()) return 2;
      if (use == "work") return 3;
      return 4;
    };
    std::tuple<int64_t, int, size_t> best{std::numeric_limits<int64_t>::max(), 9, telecom.size()};
    for (size_t k = 0; k < telecom.size(); ++k) {
      const Json& t = telecom[k];
      const std::string& system = t.GetString("system");
      if ((system != "phone" && system != "sms") || Trim(t.GetString("value")).empty()) continue;
      if (t.GetString("use") == "old") continue;
      const Json* rank = t.Find("rank");
      const int64_t r =
          rank != nullptr && rank->is_integer() ? rank->integer() : std::numeric_limits<int64_t>::max() - 1;
      std::tuple<int64_t, int, size_t> key{r, use_rank(t.GetString("use")), k};
      if (key < best) best = key;
    }
    const size_t k = std::get<2>(best);
    if (k < telecom.size()) {
      r->set_phone(Trim(telecom[k].GetString("value")));
      (*origins)["phone"] = absl::StrCat(path, ".telecom[", k, "].value");
    }
  }

  // Address: home, else no use, temp, work; never old or billing.
  {
    const std::vector<Json>& addresses = p.GetArray("address");
    auto rank = [](const std::string& use) {
      if (use == "home") return 0;
      if (use.empty()) return 1;
      if (use == "temp") return 2;
      if (use == "work") return 3;
      return 9;
    };
    int best = 9;
    size_t chosen = addresses.size();
    for (size_t k = 0; k < addresses.size(); ++k) {
      const int rk = rank(addresses[k].GetString("use"));
      if (rk < best) best = rk, chosen = k;
    }
    if (chosen < addresses.size()) {
      const Json& a = addresses[chosen];
      std::string text = Trim(a.GetString("text"));
      std::string origin = absl::StrCat(path, ".address[", chosen, "].text");
      if (text.empty()) {
        std::vector<std::string> lines;
        for (const Json& l : a.GetArray("line")) {
          if (std::string v = Trim(l.string()); !v.empty()) lines.push_back(v);
        }
        const std::string state = Trim(a.GetString("state")), city = Trim(a.GetString("city")),
                          district = Trim(a.GetString("district")), postal = Trim(a.GetString("postalCode")),
                          country = Trim(a.GetString("country"));
        const bool han = HasHan(state) || HasHan(city) || HasHan(district) ||
                         std::any_of(lines.begin(), lines.end(), HasHan);
        if (han) {
          // 省 市 县/区 then 乡镇, 村 and the rest as the lines give them.
          text = absl::StrCat(state, city, district, absl::StrJoin(lines, ""));
        } else {
          std::vector<std::string> parts = lines;
          for (const std::string& part : {city, district}) {
            if (!part.empty()) parts.push_back(part);
          }
          std::string region = absl::StrJoin(std::vector<std::string>{state, postal}, " ");
          region = Trim(region);
          if (!region.empty()) parts.push_back(region);
          if (!country.empty()) parts.push_back(country);
          text = absl::StrJoin(parts, ", ");
        }
        origin = absl::StrCat(path, ".address[", chosen, "]");
      }
      if (!text.empty()) {
        r->set_address(text);
        (*origins)["address"] = origin;
      }
      const std::vector<Json>& extensions = a.GetArray("extension");
      for (size_t k = 0; k < extensions.size(); ++k) {
        if (extensions[k].GetString("url") != kAddressCodeExtension) continue;
        std::string code = Trim(extensions[k].GetString("valueCode"));
        if (code.empty()) code = Trim(extensions[k].GetString("valueString"));
        if (!code.empty()) {
          r->set_address_code(code);
          (*origins)["address_code"] = absl::StrCat(path, ".address[", chosen, "].extension[", k, "]");
        }
      }
    }
  }

  // Ethnicity (GB/T 3304) from one of the configured extensions.
  const std::vector<Json>& extensions = p.GetArray("extension");
  for (size_t k = 0; k < extensions.size(); ++k) {
    const Json& ext = extensions[k];
    if (std::find(o_.ethnicity_extensions.begin(), o_.ethnicity_extensions.end(), ext.GetString("url")) ==
        o_.ethnicity_extensions.end()) {
      continue;
    }
    std::string code = Trim(ext.GetString("valueCode"));
    if (code.empty()) code = Trim(ext.GetString("valueString"));
    if (code.empty() && ext.Find("valueCoding") != nullptr) code = Trim(ext.Find("valueCoding")->GetString("code"));
    if (code.empty()) {
      std::vector<std::string> codes = ConceptCodes(ext.Find("valueCodeableConcept"));
      if (!codes.empty()) code = codes.front();
    }
    if (!code.empty()) {
      r->set_ethnicity(code);
      (*origins)["ethnicity"] = absl::StrCat(path, ".extension[", k, "]");
      break;
    }
  }
}

Mapper::Identity Mapper::PatientIdentity(size_t i) {
  Identity& id = identities_[i];
  if (id.done || id.busy) return id;
  id.busy = true;
  const Input& in = inputs_[i];
  const std::string& path = in.path;
  std::vector<Issue>& issues = IssuesOf(i);
  const Json* p = in.resource;

  // facility_id: managingOrganization, else the request default.
  std::string facility;
  std::string facility_origin;
  if (p != nullptr) {
    if (const Json* org = p->Find("managingOrganization"); org != nullptr) {
      facility = FacilityOfReference(org, i);
      facility_origin = path + ".managingOrganization";
    }
  }
  if (facility.empty()) facility = o_.default_facility;

  // record_id: an identifier of a record-id system or type, else the
  // resource's own id (a FHIR server's logical id is its patient number).
  std::string record;
  if (p != nullptr) {
    Record scratch;
    Origins origins;
    std::vector<Issue> ignored;
    std::vector<std::pair<int, std::string>> candidates;
    PatientFields(*p, path, &scratch, &origins, &ignored, &candidates);
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    if (!candidates.empty()) record = candidates.front().second;
  }
  if (record.empty()) {
    std::string own_id = p != nullptr ? Trim(p->GetString("id")) : "";
    if (own_id.empty()) own_id = in.url_id;
    std::string f, rec;
    if (SplitSourceIdentity(own_id, &f, &rec)) {
      // "Patient/<facility>|<record>": the identity the facade hands out.
      facility = f;
      record = rec;
    } else {
      record = own_id;
    }
  }

  if (facility.empty()) {
    issues.push_back(MakeError(
        IssueType::kRequired, facility_origin.empty() ? path + ".managingOrganization" : facility_origin,
        absl::StrCat(path, ": no facility is known for this patient: give managingOrganization an identifier "
                     "(the facility code, 机构代码) or point it to an Organization in the Bundle, send the "
                     "X-Hisbridge-Facility header, or start the connector with --facility")));
  }
  if (record.empty()) {
    std::vector<std::string> seen;
    const Json empty;
    for (const Json& ident : (p != nullptr ? *p : empty).GetArray("identifier")) {
      const Json* value = ident.Find("value");
      seen.push_back(absl::StrCat(value != nullptr ? WriteJson(*value) : "no value", " (system ",
                                  Quote(ident.GetString("system")), ")"));
    }
    issues.push_back(MakeError(
        IssueType::kRequired, path + ".identifier",
        absl::StrCat(path, ": no identifier is the facility's patient number (record_id): give it a system from the "
                     "identifier table (record_id) or the type MR, or give the Patient an id",
                     seen.empty() ? "; the Patient has no identifier"
                                  : absl::StrCat("; the Patient has ", absl::StrJoin(seen, ", ")))));
  }
  id.facility = facility;
  id.record = record;
  id.ok = !facility.empty() && !record.empty();
  id.done = true;
  id.busy = false;
  return id;
}

void Mapper::MapPatient(size_t i) {
  const Input& in = inputs_[i];
  MappedEntry& entry = out_->entries[i];
  Identity id = PatientIdentity(i);
  Mapped base;
  Record& r = base.record;
  r.set_kind("patient");
  r.set_facility_id(id.facility);
  r.set_record_id(id.record);
  std::vector<std::pair<int, std::string>> candidates;
  PatientFields(*in.resource, in.path, &r, &base.origins, &entry.issues, &candidates);
  base.origins["facility_id"] = in.path + ".managingOrganization";
  auto chosen = base.origins.find(absl::StrCat("record_id#", id.record));
  base.origins["record_id"] = chosen != base.origins.end() ? chosen->second : in.path + ".id";
  for (auto it = base.origins.begin(); it != base.origins.end();) {
    it = absl::StartsWith(it->first, "record_id#") ? base.origins.erase(it) : std::next(it);
  }
  r.set_event_time(EventTime(i, {}, &base.origins));
  entry.id = SourceIdentity(id.facility, id.record);
  if (!id.ok) return;

  // link.type "replaces": the records it names were merged into this one.
  std::vector<Mapped> out;
  const std::vector<Json>& links = in.resource->GetArray("link");
  for (size_t k = 0; k < links.size(); ++k) {
    const std::string link_path = absl::StrCat(in.path, ".link[", k, "]");
    const std::string& type = links[k].GetString("type");
    if (type == "replaced-by") {
      entry.issues.push_back(MakeError(
          IssueType::kNotSupported, link_path + ".type",
          absl::StrCat(link_path, ".type \"replaced-by\": send the surviving Patient with link.type \"replaces\" "
                       "pointing to this one instead (a merge is applied to the survivor)")));
      continue;
    }
    if (type != "replaces") continue;  // refer / seealso: nothing to apply
    Resolved other = Resolve(links[k].Find("other"), i);
    std::string facility = id.facility, merged;
    if (other.kind == Resolved::Kind::kEntry && other.type == "Patient") {
      Identity o = PatientIdentity(other.entry);
      facility = o.facility;
      merged = o.record;
    } else if (other.kind == Resolved::Kind::kExternal && other.type == "Patient") {
      if (!SplitSourceIdentity(other.id, &facility, &merged)) merged = other.id;
    } else if (other.kind == Resolved::Kind::kLogical) {
      merged = Trim(other.identifier->GetString("value"));
    }
    if (merged.empty()) {
      entry.issues.push_back(MakeError(IssueType::kNotFound, link_path + ".other",
                                       absl::StrCat(link_path, ".other ", Quote(other.text),
                                                    " does not name a patient record of this facility")));
      continue;
    }
    if (facility != id.facility) {
      entry.issues.push_back(MakeError(
          IssueType::kNotSupported, link_path + ".other",
          absl::StrCat(link_path, ".other is a record of facility ", Quote(facility), ", not ", Quote(id.facility),
                       "; a facility merges only its own records (patients of different facilities are linked by "
                       "hisbridge)")));
      continue;
    }
    Mapped merge = base;
    merge.record.set_op("merge");
    merge.record.set_merged_record_id(merged);
    merge.origins["merged_record_id"] = link_path + ".other";
    out.push_back(std::move(merge));
  }
  if (out.empty()) out.push_back(std::move(base));
  Emit(i, std::move(out));
}

}  // namespace internal

using internal::Mapper;
using internal::Origins;
using internal::Quote;
using internal::Record;

MatchQuery MapMatchParameters(absl::string_view body, const MappingOptions& options) {
  MatchQuery q;
  auto parsed = ParseJson(body);
  if (!parsed.ok()) {
    q.issues.push_back(Issue{Severity::kFatal, IssueType::kStructure, "", std::string(parsed.status().message())});
    return q;
  }
  const Json& root = *parsed;
  const std::string& type = root.GetString("resourceType");
  const Json* patient = nullptr;
  std::string patient_path;
  if (type == "Parameters") {
    ValidateResource(root, "Parameters", &q.issues);
    const std::vector<Json>& params = root.GetArray("parameter");
    for (size_t k = 0; k < params.size(); ++k) {
      const std::string path = absl::StrCat("Parameters.parameter[", k, "]");
      const std::string& name = params[k].GetString("name");
      if (name == "resource") {
        const Json* r = params[k].Find("resource");
        if (r == nullptr || r->GetString("resourceType") != "Patient") {
          q.issues.push_back(MakeError(IssueType::kInvalid, path + ".resource",
                                       absl::StrCat(path, ": the \"resource\" parameter must carry a Patient")));
          continue;
        }
        patient = r;
        patient_path = path + ".resource";
      } else if (name == "count") {
        const Json* v = params[k].Find("valueInteger");
        if (v == nullptr) v = params[k].Find("valuePositiveInt");
        if (v == nullptr || !v->is_integer() || v->integer() < 1) {
          q.issues.push_back(MakeError(IssueType::kValue, path,
                                       absl::StrCat(path, ": \"count\" needs a valueInteger of at least 1")));
          continue;
        }
        q.count = static_cast<int>(std::min<int64_t>(v->integer(), 100));
        if (v->integer() > 100) {
          q.issues.push_back(MakeInformation(path, "count is capped at 100 candidates"));
        }
      } else if (name == "onlyCertainMatches") {
        const Json* v = params[k].Find("valueBoolean");
        if (v == nullptr || !v->is_bool()) {
          q.issues.push_back(MakeError(IssueType::kValue, path,
                                       absl::StrCat(path, ": \"onlyCertainMatches\" needs a valueBoolean")));
          continue;
        }
        q.only_certain = v->bool_value();
      } else {
        q.issues.push_back(MakeError(
            IssueType::kNotSupported, path + ".name",
            absl::StrCat(path, ".name ", Quote(name),
                         " is not a parameter of Patient/$match (resource, count, onlyCertainMatches)")));
      }
    }
  } else if (type == "Patient") {
    ValidateResource(root, "Patient", &q.issues);
    patient = &root;
    patient_path = "Patient";
  } else {
    q.issues.push_back(MakeError(IssueType::kInvalid, "resourceType",
                                 absl::StrCat("Patient/$match takes a Parameters resource (or a Patient), not ",
                                              type.empty() ? "a body without resourceType" : type)));
    return q;
  }
  if (patient == nullptr) {
    if (!HasErrors(q.issues)) {
      q.issues.push_back(MakeError(IssueType::kRequired, "Parameters.parameter",
                                   "Patient/$match needs a \"resource\" parameter with the Patient to match"));
    }
    return q;
  }
  MappedRequest scratch;
  Mapper mapper(options, &scratch);
  Record r;
  Origins origins;
  std::vector<Issue> ignored;
  mapper.PatientFields(*patient, patient_path, &r, &origins, &ignored, nullptr);
  hisbridge::v1::Demographics& d = q.demographics;
  d.set_name(r.name());
  d.set_sex(r.sex());
  d.set_birth_date(r.birth_date());
  d.set_id_type(r.id_type());
  d.set_id_number(r.id_number());
  d.set_insurance_id(r.insurance_id());
  d.set_health_card_id(r.health_card_id());
  d.set_phone(r.phone());
  d.set_address(r.address());
  d.set_address_code(r.address_code());
  d.set_ethnicity(r.ethnicity());
  if (d.name().empty() && d.id_number().empty() && d.phone().empty() && d.birth_date().empty() &&
      d.insurance_id().empty() && d.health_card_id().empty()) {
    q.issues.push_back(MakeError(IssueType::kRequired, patient_path,
                                 absl::StrCat(patient_path, " gives nothing to match on: give at least a name, "
                                              "an identifier, a birthDate or a phone")));
  }
  return q;
}

}  // namespace hisbridge::fhir
