#include "libs/fhir/mapping.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/fhir/fhir_time.h"
#include "libs/fhir/json.h"
#include "libs/fhir/mapper.h"
#include "libs/fhir/schema.h"
#include "libs/records/validate.h"

namespace hisbridge::fhir {
namespace internal {

bool IsMappedType(absl::string_view t) {
  return t == "Patient" || t == "Encounter" || t == "Observation" || t == "MedicationRequest";
}
bool IsContextType(absl::string_view t) { return t == "Organization" || t == "Medication" || t == "Condition"; }

std::string Trim(absl::string_view s) { return std::string(absl::StripAsciiWhitespace(s)); }

std::string Quote(absl::string_view s) {
  if (s.size() > 80) return absl::StrCat("\"", s.substr(0, 77), "...\"");
  return absl::StrCat("\"", s, "\"");
}

// True when the text holds a CJK ideograph: Chinese names and addresses
// are written without separators.
bool HasHan(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    const size_t len = (b0 & 0xE0) == 0xC0 ? 2 : (b0 & 0xF0) == 0xE0 ? 3 : (b0 & 0xF8) == 0xF0 ? 4 : 1;
    if (len == 1 || i + len > text.size()) return false;
    char32_t cp = len == 2 ? b0 & 0x1F : len == 3 ? b0 & 0x0F : b0 & 0x07;
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    if ((cp >= 0x3400 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3134F)) {
      return true;
    }
    i += len;
  }
  return false;
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      int v = 0;
      (void)absl::SimpleHexAtoi(s.substr(i + 1, 2), &v);
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The human text of a CodeableConcept: text, else a coding's display, else
// its code.
std::string ConceptText(const Json* cc) {
  if (cc == nullptr) return "";
  if (std::string t = Trim(cc->GetString("text")); !t.empty()) return t;
  for (const Json& c : cc->GetArray("coding")) {
    if (std::string d = Trim(c.GetString("display")); !d.empty()) return d;
  }
  for (const Json& c : cc->GetArray("coding")) {
    if (std::string d = Trim(c.GetString("code")); !d.empty()) return d;
  }
  return "";
}

std::vector<std::string> ConceptCodes(const Json* cc) {
  std::vector<std::string> out;
  if (cc == nullptr) return out;
  for (const Json& c : cc->GetArray("coding")) {
    if (std::string code = Trim(c.GetString("code")); !code.empty()) out.push_back(code);
  }
  return out;
}

// The short name county records use for a code system URI.
std::string SystemName(absl::string_view uri) {
  const std::string lower = absl::AsciiStrToLower(uri);
  if (lower == "http://loinc.org" || lower == "urn:oid:2.16.840.1.113883.6.1") return "LOINC";
  if (lower == "http://snomed.info/sct" || lower == "urn:oid:2.16.840.1.113883.6.96") return "SNOMED CT";
  if (absl::StrContains(lower, "icd-10") || absl::StrContains(lower, "icd10") ||
      lower == "urn:oid:2.16.840.1.113883.6.3") {
    return "ICD-10";
  }
  if (absl::StrContains(lower, "icd-9") || absl::StrContains(lower, "icd9")) return "ICD-9";
  return std::string(uri);
}

// The coding of a CodeableConcept a county record keeps: the first one of a
// preferred system ("LOINC" for observations, "ICD-10" for diagnoses), else
// the first coding with a code; display from it or the concept's text.
CodeChoice ChooseCoding(const Json* cc, absl::string_view preferred) {
  CodeChoice out;
  if (cc == nullptr) return out;
  const Json* chosen = nullptr;
  for (const Json& c : cc->GetArray("coding")) {
    if (Trim(c.GetString("code")).empty()) continue;
    if (chosen == nullptr) chosen = &c;
    if (SystemName(c.GetString("system")) == preferred) {
      chosen = &c;
      break;
    }
  }
  if (chosen != nullptr) {
    out.code = Trim(chosen->GetString("code"));
    out.system = SystemName(Trim(chosen->GetString("system")));
    out.display = Trim(chosen->GetString("display"));
  }
  if (out.display.empty()) out.display = Trim(cc->GetString("text"));
  return out;
}

std::string QuantityText(const Json* q) {
  if (q == nullptr || !q->is_object()) return "";
  const Json* v = q->Find("value");
  std::string out = v != nullptr && v->is_number() ? v->NumberText() : "";
  std::string unit = Trim(q->GetString("unit"));
  if (unit.empty()) unit = Trim(q->GetString("code"));
  if (!unit.empty()) absl::StrAppend(&out, out.empty() ? "" : " ", unit);
  return absl::StrCat(Trim(q->GetString("comparator")), out);
}

std::string RangeText(const Json* low, const Json* high) {
  auto number = [](const Json* q) {
    const Json* v = q != nullptr ? q->Find("value") : nullptr;
    return v != nullptr && v->is_number() ? v->NumberText() : std::string();
  };
  const std::string lo = number(low), hi = number(high);
  std::string unit;
  for (const Json* q : {low, high}) {
    if (q == nullptr || !unit.empty()) continue;
    unit = Trim(q->GetString("unit"));
    if (unit.empty()) unit = Trim(q->GetString("code"));
  }
  std::string out;
  if (!lo.empty() && !hi.empty()) {
    out = absl::StrCat(lo, "-", hi);
  } else if (!lo.empty()) {
    out = absl::StrCat(">=", lo);
  } else if (!hi.empty()) {
    out = absl::StrCat("<=", hi);
  } else {
    return "";
  }
  if (!unit.empty()) absl::StrAppend(&out, " ", unit);
  return out;
}

// v3 ObservationInterpretation / v2 0078 -> the county's N, H, L, A.
std::string AbnormalFlag(const std::vector<Json>& interpretations) {
  for (const Json& cc : interpretations) {
    for (const std::string& code : ConceptCodes(&cc)) {
      const std::string c = absl::AsciiStrToUpper(code);
      if (c == "H" || c == "HH" || c == "HU" || c == ">") return "H";
      if (c == "L" || c == "LL" || c == "LU" || c == "<") return "L";
      if (c == "N") return "N";
      if (c == "A" || c == "AA") return "A";
      return code;  // kept; the validator reports it
    }
  }
  return "";
}

// "Patient/123", "http://x/fhir/Patient/123/_history/2" -> (Patient, 123).
bool SplitTypeAndId(absl::string_view ref, std::string* type, std::string* id) {
  std::vector<absl::string_view> parts = absl::StrSplit(ref, '/');
  if (parts.size() >= 4 && parts[parts.size() - 2] == "_history") parts.resize(parts.size() - 2);
  if (parts.size() < 2) return false;
  const absl::string_view t = parts[parts.size() - 2], i = parts.back();
  if (t.empty() || i.empty() || !std::isupper(static_cast<unsigned char>(t[0]))) return false;
  for (char c : t) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  *type = std::string(t);
  *id = PercentDecode(i);
  return true;
}

const IdentifierSystem* FindSystem(const MappingOptions& o, absl::string_view system) {
  if (system.empty()) return nullptr;
  for (const IdentifierSystem& s : o.identifier_systems) {
    if (s.system == system) return &s;
  }
  return nullptr;
}

TypeMeaning MeaningOfType(const Json* type) {
  TypeMeaning m;
  for (const std::string& raw : ConceptCodes(type)) {
    const std::string c = absl::AsciiStrToUpper(raw);
    m.known = true;
    if (c == "MR") return m.target = IdentifierTarget::kRecordId, m.record_rank = 1, m;
    if (c == "PI") return m.target = IdentifierTarget::kRecordId, m.record_rank = 2, m;
    if (c == "PT") return m.target = IdentifierTarget::kRecordId, m.record_rank = 3, m;
    if (c == "NNCHN" || c == "NI" || raw == "身份证") return m.id_type = "01", m;
    if (c == "PPN") return m.id_type = "03", m;
    if (c == "DL") return m.id_type = "05", m;
    if (c == "PRC") return m.id_type = "10", m;
    if (absl::StartsWith(c, "NN")) return m.id_type = "99", m;
    if (c == "MC" || c == "MA" || c == "SB") return m.target = IdentifierTarget::kInsuranceId, m;
    if (c == "HC") return m.target = IdentifierTarget::kHealthCardId, m;
    m.known = false;
  }
  return m;
}

bool HasErrorAt(const std::vector<Issue>& issues, const std::string& path) {
  for (const Issue& i : issues) {
    if (i.is_error() && i.expression == path) return true;
  }
  return false;
}

int ApplyOrder(const Record& r) {
  if (r.kind() == "patient") return r.op() == "delete" ? 0 : 1;
  if (r.kind() == "encounter") return 2;
  if (r.kind() == "observation") return 3;
  return 4;
}

namespace {

// Parses Bundle.entry.request.url: "Patient", "Patient/123",
// "Patient?identifier=...", or an absolute URL ending in one of those.
void ParseRequestUrl(absl::string_view url, std::string* type, std::string* id, bool* conditional) {
  const size_t q = url.find('?');
  *conditional = q != absl::string_view::npos;
  absl::string_view path = url.substr(0, q);
  if (absl::StartsWith(path, "http://") || absl::StartsWith(path, "https://")) {
    std::string t, i;
    if (SplitTypeAndId(path, &t, &i)) {
      *type = t;
      *id = i;
      return;
    }
    path = path.substr(path.rfind('/') + 1);
  }
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  *type = parts.empty() ? "" : parts[0];
  *id = parts.size() >= 2 ? PercentDecode(parts[1]) : "";
}

}  // namespace

void Mapper::AddInput(Input in) {
  MappedEntry e;
  e.index = in.index;
  e.method = in.method;
  e.path = in.path;
  if (in.resource != nullptr) e.resource_type = in.resource->GetString("resourceType");
  if (e.resource_type.empty()) e.resource_type = in.url_type;
  out_->entries.push_back(std::move(e));
  inputs_.push_back(std::move(in));
  referenced_.push_back(false);
  identities_.emplace_back();
}

void Mapper::Run(const Request& request) {
  const std::string method = absl::AsciiStrToUpper(request.method);
  if (method == "DELETE") {
    Input in;
    in.method = method;
    in.url_type = request.type;
    in.url_id = request.id;
    in.path = request.type;
    AddInput(std::move(in));
    MapInput(0);
    return;
  }
  auto parsed = ParseJson(request.body);
  if (!parsed.ok()) {
    out_->issues.push_back(Issue{Severity::kFatal, IssueType::kStructure, "", std::string(parsed.status().message())});
    return;
  }
  root_ = std::move(*parsed);
  if (!root_.is_object()) {
    out_->issues.push_back(Issue{Severity::kFatal, IssueType::kStructure, "",
                                 "the body must be a JSON object (a FHIR resource)"});
    return;
  }
  const Json* rt = root_.Find("resourceType");
  if (rt == nullptr || !rt->is_string() || rt->string().empty()) {
    const bool missing = rt == nullptr || (rt->is_string() && rt->string().empty());
    out_->issues.push_back(MakeError(
        missing ? IssueType::kRequired : IssueType::kStructure, "resourceType",
        missing ? absl::StrCat("the resource has ", rt == nullptr ? "no" : "an empty",
                               " resourceType; every FHIR resource names its type (e.g. \"Patient\")")
                : "resourceType must be a JSON string naming the resource type"));
    return;
  }
  const std::string type = rt->string();

  if (request.type.empty()) {
    // [base]: a transaction or batch Bundle.
    if (type != "Bundle") {
      out_->issues.push_back(MakeError(
          IssueType::kNotSupported, type,
          absl::StrCat("POST [base] takes a transaction or batch Bundle; this is a ", type,
                       IsMappedType(type) ? absl::StrCat(" (POST it to [base]/", type, ")") : "")));
      return;
    }
    const std::string& bundle_type = root_.GetString("type");
    if (bundle_type == "transaction") {
      out_->kind = RequestKind::kTransaction;
    } else if (bundle_type == "batch") {
      out_->kind = RequestKind::kBatch;
    } else if (bundle_type.empty()) {
      out_->issues.push_back(MakeError(IssueType::kRequired, "Bundle.type",
                                       "Bundle.type is required: POST [base] takes a transaction or batch Bundle"));
      return;
    } else {
      out_->issues.push_back(MakeError(
          IssueType::kNotSupported, "Bundle.type",
          absl::StrCat("Bundle.type ", Quote(bundle_type),
                       ": POST [base] takes a transaction or batch Bundle (a document, message or collection "
                       "is not stored as such; send its resources in a transaction)")));
      return;
    }
    out_->identifier = Trim(root_.Find("identifier") != nullptr ? root_.Find("identifier")->GetString("value") : "");
    std::vector<Issue> structure;
    ValidateResource(root_, "Bundle", &structure);
    const std::vector<Json>& entries = root_.GetArray("entry");
    for (size_t k = 0; k < entries.size(); ++k) {
      const Json& entry = entries[k];
      Input in;
      in.index = static_cast<int>(k);
      in.path = absl::StrCat("Bundle.entry[", k, "].resource");
      in.full_url = Trim(entry.GetString("fullUrl"));
      const Json* resource = entry.Find("resource");
      in.resource = resource != nullptr && resource->is_object() ? resource : nullptr;
      const Json* req = entry.Find("request");
      in.method = req != nullptr ? absl::AsciiStrToUpper(req->GetString("method")) : "";
      if (req != nullptr) ParseRequestUrl(Trim(req->GetString("url")), &in.url_type, &in.url_id, &in.conditional);
      AddInput(std::move(in));
      const size_t i = inputs_.size() - 1;
      if (req == nullptr) {
        IssuesOf(i).push_back(MakeError(IssueType::kRequired, absl::StrCat("Bundle.entry[", k, "].request"),
                                        absl::StrCat("Bundle.entry[", k, "].request is required in a ",
                                                     bundle_type, " (it says POST, PUT or DELETE)")));
      } else if (req->Find("ifMatch") != nullptr) {
        IssuesOf(i).push_back(MakeError(
            IssueType::kNotSupported, absl::StrCat("Bundle.entry[", k, "].request.ifMatch"),
            "versioned updates (ifMatch) are not supported: hisbridge keeps no FHIR resource versions; the "
            "newest event_time wins"));
      }
    }
    // Structure issues belong to the entry they are in.
    for (Issue& issue : structure) {
      size_t k = 0;
      absl::string_view rest = issue.expression;
      if (absl::ConsumePrefix(&rest, "Bundle.entry[")) {
        const size_t close = rest.find(']');
        if (close != absl::string_view::npos && absl::SimpleAtoi(rest.substr(0, close), &k) &&
            k < out_->entries.size()) {
          IssuesOf(k).push_back(std::move(issue));
          continue;
        }
      }
      out_->issues.push_back(std::move(issue));
    }
    if (entries.empty()) {
      out_->issues.push_back(MakeError(IssueType::kRequired, "Bundle.entry",
                                       absl::StrCat("the ", bundle_type, " Bundle has no entries")));
    }
  } else {
    if (type != request.type) {
      out_->issues.push_back(MakeError(
          IssueType::kInvalid, "resourceType",
          absl::StrCat("the body is a ", type, " but was sent to [base]/", request.type,
                       IsMappedType(type) ? absl::StrCat("; send it to [base]/", type) : "")));
      return;
    }
    if (!IsMappedType(type)) {
      out_->issues.push_back(MakeError(IssueType::kNotSupported, type,
                                       absl::StrCat("hisbridge stores Patient, Encounter, Observation and "
                                                    "MedicationRequest resources, not ", type)));
      return;
    }
    Input in;
    in.method = method;
    in.url_type = request.type;
    in.url_id = request.id;
    in.resource = &root_;
    in.path = type;
    AddInput(std::move(in));
    ValidateResource(root_, type, &IssuesOf(0));
    out_->identifier = Trim(root_.GetString("id"));
  }

  Index();
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (!IsContextType(out_->entries[i].resource_type)) MapInput(i);
  }
  // Context resources last: by now every reference to them was resolved.
  for (size_t i = 0; i < inputs_.size(); ++i) {
    if (IsContextType(out_->entries[i].resource_type)) MapInput(i);
  }
}

void Mapper::Index() {
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const Input& in = inputs_[i];
    if (!in.full_url.empty()) {
      auto [it, inserted] = by_url_.emplace(in.full_url, i);
      if (!inserted) {
        IssuesOf(i).push_back(MakeError(
            IssueType::kDuplicate, absl::StrCat("Bundle.entry[", in.index, "].fullUrl"),
            absl::StrCat("Bundle.entry[", in.index, "].fullUrl ", Quote(in.full_url), " is also the fullUrl of entry[",
                         inputs_[it->second].index, "]; every entry needs its own")));
      }
      std::string type, id;
      if (SplitTypeAndId(in.full_url, &type, &id)) by_url_.emplace(absl::StrCat(type, "/", id), i);
    }
    if (in.resource != nullptr) {
      const std::string id = Trim(in.resource->GetString("id"));
      if (!id.empty()) by_url_.emplace(absl::StrCat(out_->entries[i].resource_type, "/", id), i);
    }
  }
}

Resolved Mapper::Resolve(const Json* reference, size_t from) {
  Resolved r;
  if (reference == nullptr || !reference->is_object()) return r;
  const std::string ref = Trim(reference->GetString("reference"));
  r.text = ref;
  if (ref.empty()) {
    const Json* identifier = reference->Find("identifier");
    if (identifier != nullptr && identifier->is_object()) {
      r.kind = Resolved::Kind::kLogical;
      r.identifier = identifier;
    }
    return r;
  }
  if (ref[0] == '#') {
    const Json* root = inputs_[from].resource;
    const Json empty;
    for (const Json& c : (root != nullptr ? *root : empty).GetArray("contained")) {
      if (c.GetString("id") == ref.substr(1)) {
        r.kind = Resolved::Kind::kContained;
        r.resource = &c;
        r.type = c.GetString("resourceType");
        return r;
      }
    }
    r.kind = Resolved::Kind::kUnresolved;
    return r;
  }
  if (ref.find('?') != std::string::npos) {
    r.kind = Resolved::Kind::kConditional;
    return r;
  }
  auto entry = [&](size_t i) {
    if (inputs_[i].resource == nullptr) {
      // An entry without a resource (a DELETE, or a broken entry the
      // structure check reported): nothing to refer to.
      r.kind = Resolved::Kind::kUnresolved;
      return r;
    }
    r.kind = Resolved::Kind::kEntry;
    r.entry = i;
    r.resource = inputs_[i].resource;
    r.type = out_->entries[i].resource_type;
    referenced_[i] = true;
    return r;
  };
  if (auto it = by_url_.find(ref); it != by_url_.end()) return entry(it->second);
  if (absl::StartsWith(ref, "urn:")) {
    r.kind = Resolved::Kind::kUnresolved;
    return r;
  }
  std::string type, id;
  if (!SplitTypeAndId(ref, &type, &id)) {
    r.kind = Resolved::Kind::kUnresolved;
    return r;
  }
  if (auto it = by_url_.find(absl::StrCat(type, "/", id)); it != by_url_.end()) return entry(it->second);
  r.kind = Resolved::Kind::kExternal;
  r.type = type;
  r.id = id;
  return r;
}

std::string Mapper::FacilityOfOrganization(const Json& org) {
  for (const Json& id : org.GetArray("identifier")) {
    const std::string value = Trim(id.GetString("value"));
    if (value.empty()) continue;
    if (o_.facility_systems.empty() ||
        std::find(o_.facility_systems.begin(), o_.facility_systems.end(), id.GetString("system")) !=
            o_.facility_systems.end()) {
      return value;
    }
  }
  return "";
}

// The facility an Organization reference names: its logical identifier,
// or the identifier of the Organization it points to in the Bundle or in
// `contained`. Empty when it cannot be known.
std::string Mapper::FacilityOfReference(const Json* reference, size_t from) {
  Resolved r = Resolve(reference, from);
  switch (r.kind) {
    case Resolved::Kind::kLogical: {
      const std::string value = Trim(r.identifier->GetString("value"));
      const std::string& system = r.identifier->GetString("system");
      if (o_.facility_systems.empty() ||
          std::find(o_.facility_systems.begin(), o_.facility_systems.end(), system) != o_.facility_systems.end()) {
        return value;
      }
      return "";
    }
    case Resolved::Kind::kEntry:
    case Resolved::Kind::kContained:
      if (r.type == "Organization" && r.resource != nullptr) return FacilityOfOrganization(*r.resource);
      return "";
    default: return "";
  }
}

void Mapper::MapInput(size_t i) {
  Input& in = inputs_[i];
  MappedEntry& entry = out_->entries[i];
  const std::string& type = entry.resource_type;
  const std::string where = in.index >= 0 ? absl::StrCat("Bundle.entry[", in.index, "].request") : in.path;

  if (in.method == "DELETE") {
    if (in.url_type != "Patient" || in.url_id.empty() || in.conditional) {
      entry.issues.push_back(MakeError(
          IssueType::kNotSupported, where,
          absl::StrCat("DELETE is supported for Patient/<id> only (a patient delete); not ",
                       Quote(absl::StrCat(in.url_type, in.url_id.empty() ? "" : "/", in.url_id,
                                          in.conditional ? "?..." : "")))));
      return;
    }
    Mapped m;
    Record& r = m.record;
    r.set_kind("patient");
    r.set_op("delete");
    std::string facility, record;
    if (!SplitSourceIdentity(in.url_id, &facility, &record)) {
      facility = o_.default_facility;
      record = in.url_id;
    }
    r.set_facility_id(facility);
    r.set_record_id(record);
    r.set_event_time(absl::FormatTime("%Y-%m-%dT%H:%M:%E3S%Ez", o_.now, o_.default_zone));
    m.origins["facility_id"] = where;
    m.origins["record_id"] = where;
    m.origins["event_time"] = where;
    if (facility.empty()) {
      entry.issues.push_back(MakeError(IssueType::kRequired, where,
                                       absl::StrCat(where, ": the facility of Patient/", in.url_id,
                                                    " is unknown: send X-Hisbridge-Facility, start the connector "
                                                    "with --facility or DELETE Patient/<facility_id>|<record_id>")));
      return;
    }
    entry.id = SourceIdentity(facility, record);
    std::vector<Mapped> out;
    out.push_back(std::move(m));
    Emit(i, std::move(out));
    return;
  }
  if (in.method != "POST" && in.method != "PUT") {
    if (in.index >= 0 && !in.method.empty()) {
      entry.issues.push_back(MakeError(IssueType::kNotSupported, where + ".method",
                                       absl::StrCat(where, ".method ", Quote(in.method),
                                                    ": the facade stores data; only POST, PUT and DELETE entries "
                                                    "are supported")));
    }
    return;
  }
  if (in.resource == nullptr) {
    entry.issues.push_back(MakeError(
        IssueType::kRequired, in.path, absl::StrCat(in.path, " is required for ", in.method)));
    return;
  }
  if (in.index >= 0) {
    if (in.url_type != type) {
      entry.issues.push_back(MakeError(
          IssueType::kInvalid, where + ".url",
          absl::StrCat(where, ".url ", Quote(absl::StrCat(in.url_type, in.url_id.empty() ? "" : "/", in.url_id)),
                       " does not name the entry's ", type, "; expected \"", type, "\" (POST) or \"", type,
                       "/<id>\" (PUT)")));
      return;
    }
  }
  if (in.method == "PUT" && !in.conditional) {
    const std::string id = Trim(in.resource->GetString("id"));
    if (in.url_id.empty() || (!id.empty() && id != in.url_id)) {
      entry.issues.push_back(MakeError(
          IssueType::kInvalid, in.path + ".id",
          in.url_id.empty() ? absl::StrCat("PUT needs ", type, "/<id>")
                            : absl::StrCat(in.path, ".id ", Quote(id), " must equal the id of PUT ", type, "/",
                                           in.url_id)));
    }
  }
  if (IsContextType(type)) {
    if (referenced_[i]) {
      entry.context_only = true;
      entry.issues.push_back(MakeInformation(
          in.path, absl::StrCat("the ", type, " is read where other entries refer to it; hisbridge does not store ",
                                type, " resources of their own")));
    } else {
      entry.issues.push_back(MakeError(
          IssueType::kNotSupported, in.path,
          absl::StrCat("hisbridge stores a ", type, " only as part of what refers to it (",
                       type == "Organization" ? "a patient's managingOrganization, an encounter's serviceProvider"
                       : type == "Medication" ? "a MedicationRequest's medicationReference"
                                              : "an Encounter's diagnosis",
                       "), and no entry of this Bundle refers to it")));
    }
    return;
  }
  if (!IsMappedType(type)) {
    entry.issues.push_back(MakeError(
        IssueType::kNotSupported, in.path,
        absl::StrCat("hisbridge stores Patient, Encounter, Observation and MedicationRequest resources (plus the "
                     "Organization, Medication and Condition they refer to); a ",
                     type.empty() ? "resource without resourceType" : type, " cannot be stored")));
    return;
  }
  if (type == "Patient") MapPatient(i);
  if (type == "Encounter") MapEncounter(i);
  if (type == "Observation") MapObservation(i);
  if (type == "MedicationRequest") MapMedication(i);
}

// Validates the records with ingest's rules and keeps them on the entry.
void Mapper::Emit(size_t i, std::vector<Mapped> mapped) {
  MappedEntry& entry = out_->entries[i];
  for (Mapped& m : mapped) {
    records::ValidationResult v = records::ValidateRecord(m.record);
    auto origin = [&](const std::string& field) {
      auto it = m.origins.find(field);
      if (it != m.origins.end() && !it->second.empty()) return it->second;
      return entry.path;
    };
    for (const auto& e : v.errors) {
      const std::string path = origin(e.field());
      // The structure check already named the element (e.g. an invalid
      // meta.lastUpdated that became an invalid event_time).
      if (HasErrorAt(entry.issues, path)) continue;
      entry.issues.push_back(MakeError(
          e.rule() == "required" ? IssueType::kRequired : IssueType::kValue, path,
          absl::StrCat(path, " (", e.field().empty() ? "record" : e.field(), "): ", e.message(), " [", e.rule(), "]")));
    }
    for (const auto& f : v.findings) {
      const std::string path = origin(f.field());
      entry.issues.push_back(MakeWarning(
          IssueType::kValue, path,
          absl::StrCat(path, " (", f.field().empty() ? "record" : f.field(), "): ", f.message(), " [", f.rule(), "]")));
    }
    entry.records.push_back(std::move(m.record));
  }
}

}  // namespace internal

using internal::ApplyOrder;
using internal::Mapper;
using internal::Quote;
using internal::Record;

std::vector<IdentifierSystem> DefaultIdentifierSystems() {
  return {
      {kResidentIdSystem, IdentifierTarget::kIdNumber, "01"},
      {"http://www.moi.gov.tw", IdentifierTarget::kIdNumber, "99"},
      {"http://www.immigration.gov.tw", IdentifierTarget::kIdNumber, "99"},
  };
}

absl::StatusOr<std::vector<IdentifierSystem>> ParseIdentifierSystems(absl::string_view text) {
  std::vector<IdentifierSystem> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<std::string> parts;
    for (absl::string_view p : absl::StrSplit(line, ',')) parts.emplace_back(absl::StripAsciiWhitespace(p));
    if (parts.size() < 2 || parts.size() > 3 || parts[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": expected \"system,field[,id_type]\", got \"", line, "\""));
    }
    IdentifierSystem s;
    s.system = parts[0];
    const std::string& field = parts[1];
    if (field == "record_id") s.target = IdentifierTarget::kRecordId;
    else if (field == "id_number") s.target = IdentifierTarget::kIdNumber;
    else if (field == "insurance_id") s.target = IdentifierTarget::kInsuranceId;
    else if (field == "health_card_id") s.target = IdentifierTarget::kHealthCardId;
    else {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": field \"", field,
                                                     "\" is not one of record_id, id_number, insurance_id, "
                                                     "health_card_id"));
    }
    if (parts.size() == 3) {
      if (s.target != IdentifierTarget::kIdNumber) {
        return absl::InvalidArgumentError(
            absl::StrCat("line ", line_number, ": an id_type belongs only to id_number rows"));
      }
      s.id_type = parts[2];
    } else if (s.target == IdentifierTarget::kIdNumber) {
      s.id_type = "01";
    }
    out.push_back(std::move(s));
  }
  return out;
}

bool MappedRequest::ok() const {
  if (HasErrors(issues)) return false;
  for (const MappedEntry& e : entries) {
    if (!e.ok()) return false;
  }
  return true;
}

std::vector<Issue> MappedRequest::AllIssues() const {
  std::vector<Issue> out = issues;
  for (const MappedEntry& e : entries) out.insert(out.end(), e.issues.begin(), e.issues.end());
  return out;
}

std::vector<Record> MappedRequest::OrderedRecords(std::vector<size_t>* entry_of) const {
  std::vector<std::pair<size_t, const Record*>> all;
  for (size_t i = 0; i < entries.size(); ++i) {
    for (const Record& r : entries[i].records) all.emplace_back(i, &r);
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return ApplyOrder(*a.second) < ApplyOrder(*b.second); });
  std::vector<Record> out;
  if (entry_of != nullptr) entry_of->clear();
  for (const auto& [i, r] : all) {
    out.push_back(*r);
    if (entry_of != nullptr) entry_of->push_back(i);
  }
  return out;
}

MappedRequest MapRequest(const Request& request, const MappingOptions& options) {
  MappedRequest out;
  Mapper(options, &out).Run(request);
  return out;
}

std::string SourceIdentity(absl::string_view facility_id, absl::string_view record_id) {
  return absl::StrCat(facility_id, "|", record_id);
}

bool SplitSourceIdentity(absl::string_view id, std::string* facility_id, std::string* record_id) {
  const size_t bar = id.find('|');
  if (bar == absl::string_view::npos || bar == 0 || bar + 1 == id.size()) return false;
  *facility_id = std::string(id.substr(0, bar));
  *record_id = std::string(id.substr(bar + 1));
  return true;
}

}  // namespace hisbridge::fhir
