#include "libs/fhir/patient_resource.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/fhir/fhir_time.h"

namespace hisbridge::fhir {
namespace {

Json Str(absl::string_view s) { return Json::String(std::string(s)); }

Json TypeConcept(absl::string_view code, absl::string_view text) {
  Json cc = Json::Object();
  Json coding = Json::Object();
  coding.Set("system", Str("http://terminology.hl7.org/CodeSystem/v2-0203"));
  coding.Set("code", Str(code));
  cc.Set("coding", Json::Array()).Append(std::move(coding));
  if (!text.empty()) cc.Set("text", Str(text));
  return cc;
}

// v2-0203 code for a CV02.01.101 document type.
absl::string_view DocumentTypeCode(absl::string_view id_type) {
  if (id_type.empty() || id_type == "01" || id_type == "02") return "NNCHN";
  if (id_type == "03") return "PPN";
  if (id_type == "05") return "DL";
  if (id_type == "10") return "PRC";
  return "";
}

std::string DocumentSystem(const ResourceOptions& o, absl::string_view id_type) {
  const std::string type = id_type.empty() ? "01" : std::string(id_type);
  for (const IdentifierSystem& s : o.identifier_systems) {
    if (s.target == IdentifierTarget::kIdNumber && s.id_type == type) return s.system;
  }
  return "";
}

Json Identifier(absl::string_view use, Json type, absl::string_view system, absl::string_view value) {
  Json id = Json::Object();
  if (!use.empty()) id.Set("use", Str(use));
  if (!type.is_null()) id.Set("type", std::move(type));
  if (!system.empty()) id.Set("system", Str(system));
  id.Set("value", Str(value));
  return id;
}

}  // namespace

Json PatientResource(const hisbridge::v1::Patient& patient, const ResourceOptions& options) {
  const hisbridge::v1::Demographics& d = patient.demographics();
  Json p = Json::Object();
  p.Set("resourceType", Str("Patient"));
  p.Set("id", Str(patient.patient_id()));
  Json meta = Json::Object();
  meta.Set("versionId", Str(absl::StrCat(patient.version())));
  if (std::string updated = Rfc3339ToFhirInstant(patient.updated_at()); !updated.empty()) {
    meta.Set("lastUpdated", Str(updated));
  }
  p.Set("meta", std::move(meta));
  if (!d.ethnicity().empty() && !options.ethnicity_extension.empty()) {
    Json ext = Json::Object();
    ext.Set("url", Str(options.ethnicity_extension));
    ext.Set("valueCode", Str(d.ethnicity()));
    p.Set("extension", Json::Array()).Append(std::move(ext));
  }

  Json identifiers = Json::Array();
  if (!d.id_number().empty()) {
    const absl::string_view code = DocumentTypeCode(d.id_type());
    const std::string type_text = absl::StrCat("CV02.01.101 ", d.id_type().empty() ? "01" : d.id_type());
    identifiers.Append(Identifier("official", code.empty() ? Json() : TypeConcept(code, type_text),
                                  DocumentSystem(options, d.id_type()), d.id_number()));
  }
  if (!d.insurance_id().empty()) {
    identifiers.Append(Identifier("secondary", TypeConcept("MC", "医保号"), "", d.insurance_id()));
  }
  if (!d.health_card_id().empty()) {
    identifiers.Append(Identifier("secondary", TypeConcept("HC", "居民健康卡号"), "", d.health_card_id()));
  }
  for (const hisbridge::v1::SourceIdentity& s : patient.sources()) {
    Json id = Identifier("usual", TypeConcept("MR", ""), absl::StrCat(options.record_system_prefix, s.facility_id()),
                         s.record_id());
    Json assigner = Json::Object();
    assigner.Set("identifier", Json::Object()).Set("value", Str(s.facility_id()));
    id.Set("assigner", std::move(assigner));
    identifiers.Append(std::move(id));
  }
  if (identifiers.size() > 0) p.Set("identifier", std::move(identifiers));

  p.Set("active", Json::Bool(patient.status() == hisbridge::v1::PATIENT_STATUS_ACTIVE));
  if (!d.name().empty()) {
    Json name = Json::Object();
    name.Set("use", Str("official"));
    name.Set("text", Str(d.name()));
    p.Set("name", Json::Array()).Append(std::move(name));
  }
  if (!d.phone().empty()) {
    Json t = Json::Object();
    t.Set("system", Str("phone"));
    t.Set("value", Str(d.phone()));
    p.Set("telecom", Json::Array()).Append(std::move(t));
  }
  const std::string& sex = d.sex();
  if (sex == "1") p.Set("gender", Str("male"));
  else if (sex == "2") p.Set("gender", Str("female"));
  else if (sex == "9") p.Set("gender", Str("other"));
  else if (sex == "0") p.Set("gender", Str("unknown"));
  if (IsFhirDate(d.birth_date())) p.Set("birthDate", Str(d.birth_date()));
  if (!d.address().empty() || !d.address_code().empty()) {
    Json a = Json::Object();
    if (!d.address_code().empty()) {
      Json ext = Json::Object();
      ext.Set("url", Str(kAddressCodeExtension));
      ext.Set("valueCode", Str(d.address_code()));
      a.Set("extension", Json::Array()).Append(std::move(ext));
    }
    if (!d.address().empty()) a.Set("text", Str(d.address()));
    p.Set("address", Json::Array()).Append(std::move(a));
  }
  if (patient.status() == hisbridge::v1::PATIENT_STATUS_MERGED && !patient.merged_into().empty()) {
    Json link = Json::Object();
    link.Set("other", Json::Object()).Set("reference", Str(absl::StrCat("Patient/", patient.merged_into())));
    link.Set("type", Str("replaced-by"));
    p.Set("link", Json::Array()).Append(std::move(link));
  }
  return p;
}

double MatchScore(double score, hisbridge::v1::MatchGrade grade, const MatchThresholds& t) {
  using hisbridge::v1::MatchGrade;
  if (grade == MatchGrade::MATCH_GRADE_CERTAINLY_NOT) return 0;
  double p;
  if (std::isinf(score)) {
    p = score > 0 ? 1 : 0;
  } else if (std::isnan(score)) {
    p = 0;
  } else {
    const double span = t.upper > t.lower ? t.upper - t.lower : 1;
    p = 1 / (1 + std::exp(-std::log(9.0) * (score - t.lower) / span));
  }
  switch (grade) {
    case MatchGrade::MATCH_GRADE_CERTAIN: p = std::max(p, 0.9); break;
    case MatchGrade::MATCH_GRADE_PROBABLE: p = std::min(std::max(p, 0.5), 0.8999); break;
    case MatchGrade::MATCH_GRADE_POSSIBLE: p = std::min(std::max(p, 0.0001), 0.4999); break;
    default: break;
  }
  return std::round(p * 10000) / 10000;
}

absl::string_view MatchGradeCode(hisbridge::v1::MatchGrade grade) {
  switch (grade) {
    case hisbridge::v1::MATCH_GRADE_CERTAIN: return "certain";
    case hisbridge::v1::MATCH_GRADE_PROBABLE: return "probable";
    case hisbridge::v1::MATCH_GRADE_POSSIBLE: return "possible";
    case hisbridge::v1::MATCH_GRADE_CERTAINLY_NOT: return "certainly-not";
    default: return "";
  }
}

Json MatchBundle(const hisbridge::v1::MatchResponse& response, int count, bool only_certain,
                 const ResourceOptions& options, const MatchThresholds& thresholds) {
  Json bundle = Json::Object();
  bundle.Set("resourceType", Str("Bundle"));
  bundle.Set("type", Str("searchset"));
  Json entries = Json::Array();
  for (const hisbridge::v1::MatchCandidate& c : response.candidates()) {
    if (static_cast<int>(entries.size()) >= count) break;
    if (only_certain && c.grade() != hisbridge::v1::MATCH_GRADE_CERTAIN) continue;
    Json entry = Json::Object();
    entry.Set("fullUrl", Str(absl::StrCat(options.base_url, "/Patient/", c.patient().patient_id())));
    entry.Set("resource", PatientResource(c.patient(), options));
    Json search = Json::Object();
    if (absl::string_view grade = MatchGradeCode(c.grade()); !grade.empty()) {
      Json ext = Json::Object();
      ext.Set("url", Str(kMatchGradeExtension));
      ext.Set("valueCode", Str(grade));
      search.Set("extension", Json::Array()).Append(std::move(ext));
    }
    search.Set("mode", Str("match"));
    search.Set("score", Json::Number(MatchScore(c.score(), c.grade(), thresholds)));
    entry.Set("search", std::move(search));
    entries.Append(std::move(entry));
  }
  bundle.Set("total", Json::Integer(static_cast<int64_t>(entries.size())));
  if (entries.size() > 0) bundle.Set("entry", std::move(entries));
  return bundle;
}

}  // namespace hisbridge::fhir
