#include "libs/fhir/schema.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/fhir/fhir_time.h"

namespace hisbridge::fhir {
namespace {

// ---------------------------------------------------------------------------
// The element definitions (FHIR R4 4.0.1), written as compact tables.

enum class Card { kOpt, kReq, kMany, kReqMany };
// kBackbone: BackboneElement and the datatypes derived from it (Timing,
// Dosage), which allow modifierExtension.
enum class Kind { kDatatype, kBackbone, kResource, kDomainResource };

struct ElementDef {
  ElementDef(std::string n, std::string t, Card c = Card::kOpt, std::string cs = "")
      : name(std::move(n)), types(std::move(t)), card(c), codes(std::move(cs)) {}
  std::string name;   // "status", or "value[x]" for a choice
  std::string types;  // "code", "Quantity|string", "*" = every Extension value type
  Card card;
  std::string codes;  // a required binding: "male|female|other|unknown"
};

struct StructDef {
  std::string name;
  Kind kind;
  std::vector<ElementDef> elements;
};

constexpr Card kOpt = Card::kOpt, kReq = Card::kReq, kMany = Card::kMany, kReqMany = Card::kReqMany;

// Everything an Extension (or a Parameters parameter) value may be.
constexpr const char* kAnyValueTypes =
    "base64Binary|boolean|canonical|code|date|dateTime|decimal|id|instant|integer|markdown|oid|positiveInt|"
    "string|time|unsignedInt|uri|url|uuid|Address|Age|Annotation|Attachment|CodeableConcept|Coding|"
    "ContactPoint|Count|Distance|Duration|HumanName|Identifier|Money|Period|Quantity|Range|Ratio|Reference|"
    "SampledData|Signature|Timing|ContactDetail|Contributor|DataRequirement|Expression|ParameterDefinition|"
    "RelatedArtifact|TriggerDefinition|UsageContext|Dosage|Meta";

constexpr const char* kObservationValueTypes =
    "Quantity|CodeableConcept|string|boolean|integer|Range|Ratio|SampledData|time|dateTime|Period";
constexpr const char* kEncounterStatus =
    "planned|arrived|triaged|in-progress|onleave|finished|cancelled|entered-in-error|unknown";

const std::vector<StructDef>& Definitions() {
  static const auto* defs = new std::vector<StructDef>{
      // --- datatypes
      {"Identifier", Kind::kDatatype,
       {{"use", "code", kOpt, "usual|official|temp|secondary|old"},
        {"type", "CodeableConcept"},
        {"system", "uri"},
        {"value", "string"},
        {"period", "Period"},
        {"assigner", "Reference"}}},
      {"HumanName", Kind::kDatatype,
       {{"use", "code", kOpt, "usual|official|temp|nickname|anonymous|old|maiden"},
        {"text", "string"},
        {"family", "string"},
        {"given", "string", kMany},
        {"prefix", "string", kMany},
        {"suffix", "string", kMany},
        {"period", "Period"}}},
      {"ContactPoint", Kind::kDatatype,
       {{"system", "code", kOpt, "phone|fax|email|pager|url|sms|other"},
        {"value", "string"},
        {"use", "code", kOpt, "home|work|temp|old|mobile"},
        {"rank", "positiveInt"},
        {"period", "Period"}}},
      {"Address", Kind::kDatatype,
       {{"use", "code", kOpt, "home|work|temp|old|billing"},
        {"type", "code", kOpt, "postal|physical|both"},
        {"text", "string"},
        {"line", "string", kMany},
        {"city", "string"},
        {"district", "string"},
        {"state", "string"},
        {"postalCode", "string"},
        {"country", "string"},
        {"period", "Period"}}},
      {"CodeableConcept", Kind::kDatatype, {{"coding", "Coding", kMany}, {"text", "string"}}},
      {"Coding", Kind::kDatatype,
       {{"system", "uri"},
        {"version", "string"},
        {"code", "code"},
        {"display", "string"},
        {"userSelected", "boolean"}}},
      {"Period", Kind::kDatatype, {{"start", "dateTime"}, {"end", "dateTime"}}},
      {"Reference", Kind::kDatatype,
       {{"reference", "string"}, {"type", "uri"}, {"identifier", "Identifier"}, {"display", "string"}}},
      {"Quantity", Kind::kDatatype,
       {{"value", "decimal"},
        {"comparator", "code", kOpt, "<|<=|>=|>"},
        {"unit", "string"},
        {"system", "uri"},
        {"code", "code"}}},
      {"Range", Kind::kDatatype, {{"low", "Quantity"}, {"high", "Quantity"}}},
      {"Ratio", Kind::kDatatype, {{"numerator", "Quantity"}, {"denominator", "Quantity"}}},
      {"Money", Kind::kDatatype, {{"value", "decimal"}, {"currency", "code"}}},
      {"SampledData", Kind::kDatatype,
       {{"origin", "Quantity", kReq},
        {"period", "decimal", kReq},
        {"factor", "decimal"},
        {"lowerLimit", "decimal"},
        {"upperLimit", "decimal"},
        {"dimensions", "positiveInt", kReq},
        {"data", "string"}}},
      {"Attachment", Kind::kDatatype,
       {{"contentType", "code"},
        {"language", "code"},
        {"data", "base64Binary"},
        {"url", "url"},
        {"size", "unsignedInt"},
        {"hash", "base64Binary"},
        {"title", "string"},
        {"creation", "dateTime"}}},
      {"Annotation", Kind::kDatatype,
       {{"author[x]", "Reference|string"}, {"time", "dateTime"}, {"text", "markdown", kReq}}},
      {"Meta", Kind::kDatatype,
       {{"versionId", "id"},
        {"lastUpdated", "instant"},
        {"source", "uri"},
        {"profile", "canonical", kMany},
        {"security", "Coding", kMany},
        {"tag", "Coding", kMany}}},
      {"Narrative", Kind::kDatatype,
       {{"status", "code", kReq, "generated|extensions|additional|empty"}, {"div", "xhtml", kReq}}},
      {"Extension", Kind::kDatatype, {{"url", "uri", kReq}, {"value[x]", "*"}}},
      {"Timing", Kind::kBackbone,
       {{"event", "dateTime", kMany}, {"repeat", "Timing.repeat"}, {"code", "CodeableConcept"}}},
      {"Timing.repeat", Kind::kDatatype,
       {{"bounds[x]", "Duration|Range|Period"},
        {"count", "positiveInt"},
        {"countMax", "positiveInt"},
        {"duration", "decimal"},
        {"durationMax", "decimal"},
        {"durationUnit", "code", kOpt, "s|min|h|d|wk|mo|a"},
        {"frequency", "positiveInt"},
        {"frequencyMax", "positiveInt"},
        {"period", "decimal"},
        {"periodMax", "decimal"},
        {"periodUnit", "code", kOpt, "s|min|h|d|wk|mo|a"},
        {"dayOfWeek", "code", kMany, "mon|tue|wed|thu|fri|sat|sun"},
        {"timeOfDay", "time", kMany},
        {"when", "code", kMany},
        {"offset", "unsignedInt"}}},
      {"Dosage", Kind::kBackbone,
       {{"sequence", "integer"},
        {"text", "string"},
        {"additionalInstruction", "CodeableConcept", kMany},
        {"patientInstruction", "string"},
        {"timing", "Timing"},
        {"asNeeded[x]", "boolean|CodeableConcept"},
        {"site", "CodeableConcept"},
        {"route", "CodeableConcept"},
        {"method", "CodeableConcept"},
        {"doseAndRate", "Dosage.doseAndRate", kMany},
        {"maxDosePerPeriod", "Ratio"},
        {"maxDosePerAdministration", "Quantity"},
        {"maxDosePerLifetime", "Quantity"}}},
      {"Dosage.doseAndRate", Kind::kDatatype,
       {{"type", "CodeableConcept"}, {"dose[x]", "Range|Quantity"}, {"rate[x]", "Ratio|Range|Quantity"}}},

      // --- Patient
      {"Patient", Kind::kDomainResource,
       {{"identifier", "Identifier", kMany},
        {"active", "boolean"},
        {"name", "HumanName", kMany},
        {"telecom", "ContactPoint", kMany},
        {"gender", "code", kOpt, "male|female|other|unknown"},
        {"birthDate", "date"},
        {"deceased[x]", "boolean|dateTime"},
        {"address", "Address", kMany},
        {"maritalStatus", "CodeableConcept"},
        {"multipleBirth[x]", "boolean|integer"},
        {"photo", "Attachment", kMany},
        {"contact", "Patient.contact", kMany},
        {"communication", "Patient.communication", kMany},
        {"generalPractitioner", "Reference", kMany},
        {"managingOrganization", "Reference"},
        {"link", "Patient.link", kMany}}},
      {"Patient.contact", Kind::kBackbone,
       {{"relationship", "CodeableConcept", kMany},
        {"name", "HumanName"},
        {"telecom", "ContactPoint", kMany},
        {"address", "Address"},
        {"gender", "code", kOpt, "male|female|other|unknown"},
        {"organization", "Reference"},
        {"period", "Period"}}},
      {"Patient.communication", Kind::kBackbone,
       {{"language", "CodeableConcept", kReq}, {"preferred", "boolean"}}},
      {"Patient.link", Kind::kBackbone,
       {{"other", "Reference", kReq}, {"type", "code", kReq, "replaced-by|replaces|refer|seealso"}}},

      // --- Encounter
      {"Encounter", Kind::kDomainResource,
       {{"identifier", "Identifier", kMany},
        {"status", "code", kReq, kEncounterStatus},
        {"statusHistory", "Encounter.statusHistory", kMany},
        {"class", "Coding", kReq},
        {"classHistory", "Encounter.classHistory", kMany},
        {"type", "CodeableConcept", kMany},
        {"serviceType", "CodeableConcept"},
        {"priority", "CodeableConcept"},
        {"subject", "Reference"},
        {"episodeOfCare", "Reference", kMany},
        {"basedOn", "Reference", kMany},
        {"participant", "Encounter.participant", kMany},
        {"appointment", "Reference", kMany},
        {"period", "Period"},
        {"length", "Duration"},
        {"reasonCode", "CodeableConcept", kMany},
        {"reasonReference", "Reference", kMany},
        {"diagnosis", "Encounter.diagnosis", kMany},
        {"account", "Reference", kMany},
        {"hospitalization", "Encounter.hospitalization"},
        {"location", "Encounter.location", kMany},
        {"serviceProvider", "Reference"},
        {"partOf", "Reference"}}},
      {"Encounter.statusHistory", Kind::kBackbone,
       {{"status", "code", kReq, kEncounterStatus}, {"period", "Period", kReq}}},
      {"Encounter.classHistory", Kind::kBackbone, {{"class", "Coding", kReq}, {"period", "Period", kReq}}},
      {"Encounter.participant", Kind::kBackbone,
       {{"type", "CodeableConcept", kMany}, {"period", "Period"}, {"individual", "Reference"}}},
      {"Encounter.diagnosis", Kind::kBackbone,
       {{"condition", "Reference", kReq}, {"use", "CodeableConcept"}, {"rank", "positiveInt"}}},
      {"Encounter.hospitalization", Kind::kBackbone,
       {{"preAdmissionIdentifier", "Identifier"},
        {"origin", "Reference"},
        {"admitSource", "CodeableConcept"},
        {"reAdmission", "CodeableConcept"},
        {"dietPreference", "CodeableConcept", kMany},
        {"specialCourtesy", "CodeableConcept", kMany},
        {"specialArrangement", "CodeableConcept", kMany},
        {"destination", "Reference"},
        {"dischargeDisposition", "CodeableConcept"}}},
      {"Encounter.location", Kind::kBackbone,
       {{"location", "Reference", kReq},
        {"status", "code", kOpt, "planned|active|reserved|completed"},
        {"physicalType", "CodeableConcept"},
        {"period", "Period"}}},

      // --- Observation
      {"Observation", Kind::kDomainResource,
       {{"identifier", "Identifier", kMany},
        {"basedOn", "Reference", kMany},
        {"partOf", "Reference", kMany},
        {"status", "code", kReq,
         "registered|preliminary|final|amended|corrected|cancelled|entered-in-error|unknown"},
        {"category", "CodeableConcept", kMany},
        {"code", "CodeableConcept", kReq},
        {"subject", "Reference"},
        {"focus", "Reference", kMany},
        {"encounter", "Reference"},
        {"effective[x]", "dateTime|Period|Timing|instant"},
        {"issued", "instant"},
        {"performer", "Reference", kMany},
        {"value[x]", kObservationValueTypes},
        {"dataAbsentReason", "CodeableConcept"},
        {"interpretation", "CodeableConcept", kMany},
        {"note", "Annotation", kMany},
        {"bodySite", "CodeableConcept"},
        {"method", "CodeableConcept"},
        {"specimen", "Reference"},
        {"device", "Reference"},
        {"referenceRange", "Observation.referenceRange", kMany},
        {"hasMember", "Reference", kMany},
        {"derivedFrom", "Reference", kMany},
        {"component", "Observation.component", kMany}}},
      {"Observation.referenceRange", Kind::kBackbone,
       {{"low", "Quantity"},
        {"high", "Quantity"},
        {"type", "CodeableConcept"},
        {"appliesTo", "CodeableConcept", kMany},
        {"age", "Range"},
        {"text", "string"}}},
      {"Observation.component", Kind::kBackbone,
       {{"code", "CodeableConcept", kReq},
        {"value[x]", kObservationValueTypes},
        {"dataAbsentReason", "CodeableConcept"},
        {"interpretation", "CodeableConcept", kMany},
        {"referenceRange", "Observation.referenceRange", kMany}}},

      // --- MedicationRequest
      {"MedicationRequest", Kind::kDomainResource,
       {{"identifier", "Identifier", kMany},
        {"status", "code", kReq, "active|on-hold|cancelled|completed|entered-in-error|stopped|draft|unknown"},
        {"statusReason", "CodeableConcept"},
        {"intent", "code", kReq,
         "proposal|plan|order|original-order|reflex-order|filler-order|instance-order|option"},
        {"category", "CodeableConcept", kMany},
        {"priority", "code", kOpt, "routine|urgent|asap|stat"},
        {"doNotPerform", "boolean"},
        {"reported[x]", "boolean|Reference"},
        {"medication[x]", "CodeableConcept|Reference", kReq},
        {"subject", "Reference", kReq},
        {"encounter", "Reference"},
        {"supportingInformation", "Reference", kMany},
        {"authoredOn", "dateTime"},
        {"requester", "Reference"},
        {"performer", "Reference"},
        {"performerType", "CodeableConcept"},
        {"recorder", "Reference"},
        {"reasonCode", "CodeableConcept", kMany},
        {"reasonReference", "Reference", kMany},
        {"instantiatesCanonical", "canonical", kMany},
        {"instantiatesUri", "uri", kMany},
        {"basedOn", "Reference", kMany},
        {"groupIdentifier", "Identifier"},
        {"courseOfTherapyType", "CodeableConcept"},
        {"insurance", "Reference", kMany},
        {"note", "Annotation", kMany},
        {"dosageInstruction", "Dosage", kMany},
        {"dispenseRequest", "MedicationRequest.dispenseRequest"},
        {"substitution", "MedicationRequest.substitution"},
        {"priorPrescription", "Reference"},
        {"detectedIssue", "Reference", kMany},
        {"eventHistory", "Reference", kMany}}},
      {"MedicationRequest.dispenseRequest", Kind::kBackbone,
       {{"initialFill", "MedicationRequest.dispenseRequest.initialFill"},
        {"dispenseInterval", "Duration"},
        {"validityPeriod", "Period"},
        {"numberOfRepeatsAllowed", "unsignedInt"},
        {"quantity", "Quantity"},
        {"expectedSupplyDuration", "Duration"},
        {"performer", "Reference"}}},
      {"MedicationRequest.dispenseRequest.initialFill", Kind::kBackbone,
       {{"quantity", "Quantity"}, {"duration", "Duration"}}},
      {"MedicationRequest.substitution", Kind::kBackbone,
       {{"allowed[x]", "boolean|CodeableConcept", kReq}, {"reason", "CodeableConcept"}}},

      // --- resources read only to resolve references
      {"Organization", Kind::kDomainResource,
       {{"identifier", "Identifier", kMany},
        {"active", "boolean"},
        {"type", "CodeableConcept", kMany},
        {"name", "string"},
        {"alias", "string", kMany},
        {"telecom", "ContactPoint", kMany},
        {"address", "Address", kMany},
        {"partOf", "Reference"},
        {"contact", "Organization.contact", kMany},
        {"endpoint", "Reference", kMany}}},
      {"Organization.contact", Kind::kBackbone,
       {{"purpose", "CodeableConcept"},
        {"name", "HumanName"},
        {"telecom", "ContactPoint", kMany},
        {"address", "Address"}}},
      {"Medication", Kind::kDomainResource,
       {{"identifier", "Identifier", kMany},
        {"code", "CodeableConcept"},
        {"status", "code", kOpt, "active|inactive|entered-in-error"},
        {"manufacturer", "Reference"},
        {"form", "CodeableConcept"},
        {"amount", "Ratio"},
        {"ingredient", "Medication.ingredient", kMany},
        {"batch", "Medication.batch"}}},
      {"Medication.ingredient", Kind::kBackbone,
       {{"item[x]", "CodeableConcept|Reference", kReq}, {"isActive", "boolean"}, {"strength", "Ratio"}}},
      {"Medication.batch", Kind::kBackbone, {{"lotNumber", "string"}, {"expirationDate", "dateTime"}}},
      {"Condition", Kind::kDomainResource,
       {{"identifier", "Identifier", kMany},
        {"clinicalStatus", "CodeableConcept"},
        {"verificationStatus", "CodeableConcept"},
        {"category", "CodeableConcept", kMany},
        {"severity", "CodeableConcept"},
        {"code", "CodeableConcept"},
        {"bodySite", "CodeableConcept", kMany},
        {"subject", "Reference", kReq},
        {"encounter", "Reference"},
        {"onset[x]", "dateTime|Age|Period|Range|string"},
        {"abatement[x]", "dateTime|Age|Period|Range|string"},
        {"recordedDate", "dateTime"},
        {"recorder", "Reference"},
        {"asserter", "Reference"},
        {"stage", "Condition.stage", kMany},
        {"evidence", "Condition.evidence", kMany},
        {"note", "Annotation", kMany}}},
      {"Condition.stage", Kind::kBackbone,
       {{"summary", "CodeableConcept"}, {"assessment", "Reference", kMany}, {"type", "CodeableConcept"}}},
      {"Condition.evidence", Kind::kBackbone,
       {{"code", "CodeableConcept", kMany}, {"detail", "Reference", kMany}}},
      {"OperationOutcome", Kind::kDomainResource, {{"issue", "OperationOutcome.issue", kReqMany}}},
      {"OperationOutcome.issue", Kind::kBackbone,
       {{"severity", "code", kReq, "fatal|error|warning|information"},
        {"code", "code", kReq},
        {"details", "CodeableConcept"},
        {"diagnostics", "string"},
        {"location", "string", kMany},
        {"expression", "string", kMany}}},

      // --- Bundle and Parameters (Resource, not DomainResource)
      {"Bundle", Kind::kResource,
       {{"identifier", "Identifier"},
        {"type", "code", kReq,
         "document|message|transaction|transaction-response|batch|batch-response|history|searchset|collection"},
        {"timestamp", "instant"},
        {"total", "unsignedInt"},
        {"link", "Bundle.link", kMany},
        {"entry", "Bundle.entry", kMany},
        {"signature", "Signature"}}},
      {"Bundle.link", Kind::kBackbone, {{"relation", "string", kReq}, {"url", "uri", kReq}}},
      {"Bundle.entry", Kind::kBackbone,
       {{"link", "Bundle.link", kMany},
        {"fullUrl", "uri"},
        {"resource", "Resource"},
        {"search", "Bundle.entry.search"},
        {"request", "Bundle.entry.request"},
        {"response", "Bundle.entry.response"}}},
      {"Bundle.entry.search", Kind::kBackbone,
       {{"mode", "code", kOpt, "match|include|outcome"}, {"score", "decimal"}}},
      {"Bundle.entry.request", Kind::kBackbone,
       {{"method", "code", kReq, "GET|HEAD|POST|PUT|DELETE|PATCH"},
        {"url", "uri", kReq},
        {"ifNoneMatch", "string"},
        {"ifModifiedSince", "instant"},
        {"ifMatch", "string"},
        {"ifNoneExist", "string"}}},
      {"Bundle.entry.response", Kind::kBackbone,
       {{"status", "string", kReq},
        {"location", "uri"},
        {"etag", "string"},
        {"lastModified", "instant"},
        {"outcome", "Resource"}}},
      {"Parameters", Kind::kResource, {{"parameter", "Parameters.parameter", kMany}}},
      {"Parameters.parameter", Kind::kBackbone,
       {{"name", "string", kReq},
        {"value[x]", "*"},
        {"resource", "Resource"},
        {"part", "Parameters.parameter", kMany}}},
  };
  return *defs;
}

const std::set<std::string>& PrimitiveTypes() {
  static const auto* s = new std::set<std::string>{
      "boolean", "integer", "positiveInt", "unsignedInt", "decimal",  "string", "code",
      "id",      "uri",     "url",         "canonical",   "oid",      "uuid",   "markdown",
      "base64Binary", "xhtml", "date",     "dateTime",    "instant",  "time"};
  return *s;
}

const std::set<std::string>& ResourceTypes() {
  static const auto* s = new std::set<std::string>{
      "Patient",      "Encounter", "Observation", "MedicationRequest", "Organization",
      "Medication",   "Condition", "OperationOutcome", "Bundle",        "Parameters"};
  return *s;
}

// Quantity profiles share Quantity's structure.
std::string Canonical(const std::string& type) {
  if (type == "SimpleQuantity" || type == "Age" || type == "Duration" || type == "Count" || type == "Distance" ||
      type == "MoneyQuantity") {
    return "Quantity";
  }
  return type;
}

// ---------------------------------------------------------------------------
// The definitions compiled for lookups.

struct Element {
  std::string name;  // without "[x]"
  bool choice = false;
  std::vector<std::string> types;
  bool array = false;
  bool required = false;
  std::vector<std::string> codes;
};

struct Struct {
  std::string name;
  Kind kind = Kind::kDatatype;
  std::vector<Element> elements;
};

Element Compile(const ElementDef& d) {
  Element e;
  e.name = d.name;
  if (absl::EndsWith(e.name, "[x]")) {
    e.choice = true;
    e.name.resize(e.name.size() - 3);
  }
  e.types = absl::StrSplit(d.types == "*" ? kAnyValueTypes : d.types, '|');
  e.array = d.card == kMany || d.card == kReqMany;
  e.required = d.card == kReq || d.card == kReqMany;
  if (!d.codes.empty()) e.codes = absl::StrSplit(d.codes, '|');
  return e;
}

const std::map<std::string, Struct>& Structs() {
  static const auto* structs = [] {
    auto* out = new std::map<std::string, Struct>();
    for (const StructDef& def : Definitions()) {
      Struct s;
      s.name = def.name;
      s.kind = def.kind;
      std::vector<ElementDef> base;
      switch (def.kind) {
        case Kind::kDatatype: base = {{"id", "string"}, {"extension", "Extension", kMany}}; break;
        case Kind::kBackbone:
          base = {{"id", "string"}, {"extension", "Extension", kMany}, {"modifierExtension", "Extension", kMany}};
          break;
        case Kind::kResource:
          base = {{"id", "id"}, {"meta", "Meta"}, {"implicitRules", "uri"}, {"language", "code"}};
          break;
        case Kind::kDomainResource:
          base = {{"id", "id"},
                  {"meta", "Meta"},
                  {"implicitRules", "uri"},
                  {"language", "code"},
                  {"text", "Narrative"},
                  {"contained", "Resource", kMany},
                  {"extension", "Extension", kMany},
                  {"modifierExtension", "Extension", kMany}};
          break;
      }
      for (const ElementDef& d : base) s.elements.push_back(Compile(d));
      for (const ElementDef& d : def.elements) s.elements.push_back(Compile(d));
      (*out)[s.name] = std::move(s);
    }
    return out;
  }();
  return *structs;
}

const Struct* FindStruct(const std::string& type) {
  const auto& structs = Structs();
  auto it = structs.find(Canonical(type));
  return it == structs.end() ? nullptr : &it->second;
}

bool IsPrimitive(const std::string& type) { return PrimitiveTypes().count(type) > 0; }

std::string UpperFirst(const std::string& s) {
  std::string out = s;
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

struct Match {
  const Element* element = nullptr;
  std::string type;
};

// The element a JSON member name stands for: "birthDate", or a choice
// variant "valueQuantity" -> value[x] of type Quantity.
Match FindElement(const Struct& s, absl::string_view name) {
  for (const Element& e : s.elements) {
    if (!e.choice) {
      if (e.name == name) return {&e, e.types.front()};
      continue;
    }
    if (!absl::StartsWith(name, e.name)) continue;
    absl::string_view suffix = name.substr(e.name.size());
    for (const std::string& t : e.types) {
      if (suffix == UpperFirst(t)) return {&e, t};
    }
  }
  return {};
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t subst = prev[j - 1] + (absl::ascii_tolower(static_cast<unsigned char>(a[i - 1])) ==
                                                  absl::ascii_tolower(static_cast<unsigned char>(b[j - 1]))
                                              ? 0
                                              : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The closest element name, if one is close enough to be a typo.
std::string Suggest(const Struct& s, absl::string_view name) {
  if (name.size() > 64) return "";
  std::string best;
  size_t best_distance = 3;
  for (const Element& e : s.elements) {
    std::vector<std::string> candidates;
    if (e.choice) {
      for (const std::string& t : e.types) candidates.push_back(e.name + UpperFirst(t));
    } else {
      candidates.push_back(e.name);
    }
    for (const std::string& c : candidates) {
      const size_t d = EditDistance(name, c);
      if (d < best_distance && d * 3 <= std::max<size_t>(c.size(), 3)) {
        best_distance = d;
        best = c;
      }
    }
  }
  return best;
}

std::string Quote(absl::string_view value) {
  std::string out = "\"";
  if (value.size() > 60) {
    size_t cut = 60;
    while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;  // whole characters
    out.append(value.data(), cut);
    out.append("...");
  } else {
    out.append(value.data(), value.size());
  }
  out.push_back('"');
  return out;
}

std::string Describe(const Json& v) {
  switch (v.type()) {
    case Json::Type::kNull: return "null";
    case Json::Type::kBool: return v.bool_value() ? "the boolean true" : "the boolean false";
    case Json::Type::kNumber: return absl::StrCat("the number ", v.NumberText());
    case Json::Type::kString: return absl::StrCat("the string ", Quote(v.string()));
    case Json::Type::kArray: return "an array";
    case Json::Type::kObject: return "an object";
  }
  return "a value";
}

bool AllChars(absl::string_view s, bool (*ok)(unsigned char)) {
  for (char c : s) {
    if (!ok(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsIdChar(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.'; }
bool IsNotSpace(unsigned char c) { return !std::isspace(c); }
bool IsBase64Char(unsigned char c) { return std::isalnum(c) || c == '+' || c == '/' || c == '=' || std::isspace(c); }

bool IsCode(absl::string_view s) {
  // [^\s]+(\s[^\s]+)*: no leading, trailing or doubled whitespace.
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back()))) {
    return false;
  }
  for (size_t i = 1; i < s.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(s[i])) && std::isspace(static_cast<unsigned char>(s[i - 1]))) {
      return false;
    }
  }
  return true;
}

bool IsOid(absl::string_view s) {
  if (!absl::ConsumePrefix(&s, "urn:oid:") || s.empty()) return false;
  if (s[0] < '0' || s[0] > '2') return false;
  for (absl::string_view arc : absl::StrSplit(s, '.')) {
    if (arc.empty() || !AllChars(arc, [](unsigned char c) { return std::isdigit(c) != 0; })) return false;
    if (arc.size() > 1 && arc[0] == '0') return false;
  }
  return true;
}

bool IsUuid(absl::string_view s) {
  if (!absl::ConsumePrefix(&s, "urn:uuid:") || s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool HasControlCharacters(absl::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && u != '\t' && u != '\n' && u != '\r') return true;
  }
  return false;
}

// ---------------------------------------------------------------------------

class Checker {
 public:
  explicit Checker(std::vector<Issue>* issues) : issues_(issues) {}

  void Resource(const Json& r, const std::string& path, bool contained) {
    if (!r.is_object()) {
      Error(IssueType::kStructure, path, absl::StrCat(path, " must be a JSON object (a resource), not ", Describe(r)));
      return;
    }
    const Json* type = r.Find("resourceType");
    if (type == nullptr) {
      Error(IssueType::kRequired, path, absl::StrCat(path, " has no resourceType; every resource names its type"));
      return;
    }
    if (!type->is_string() || type->string().empty()) {
      Error(IssueType::kStructure, path + ".resourceType",
            absl::StrCat(path, ".resourceType must be a string naming the type, not ", Describe(*type)));
      return;
    }
    const Struct* s = ResourceTypes().count(type->string()) ? FindStruct(type->string()) : nullptr;
    if (s == nullptr) return;  // not ours to check; the mapping decides what to do with it
    if (contained && r.Find("contained") != nullptr) {
      Error(IssueType::kInvariant, path + ".contained",
            absl::StrCat(path, ": a contained resource cannot contain other resources (dom-2)"));
    }
    Object(r, *s, path, /*is_resource=*/true);
  }

 private:
  void Error(IssueType type, std::string path, std::string text) {
    issues_->push_back(MakeError(type, std::move(path), std::move(text)));
  }

  void Object(const Json& obj, const Struct& s, const std::string& path, bool is_resource) {
    if (!is_resource && obj.members().empty()) {
      Error(IssueType::kStructure, path,
            absl::StrCat(path, " is an empty object; FHIR JSON leaves out elements that have no content"));
      return;
    }
    std::set<std::string> seen;
    std::map<const Element*, std::string> choice_used;
    std::set<const Element*> present;
    for (const Json::Member& m : obj.members()) {
      const std::string& key = m.first;
      if (key == "resourceType" && is_resource) continue;
      if (!seen.insert(key).second) {
        Error(IssueType::kStructure, path + "." + key,
              absl::StrCat(path, ".", key, " is given twice; a JSON object may name each element once"));
        continue;
      }
      const bool underscore = !key.empty() && key[0] == '_';
      const absl::string_view name = underscore ? absl::string_view(key).substr(1) : absl::string_view(key);
      const Match match = FindElement(s, name);
      if (match.element == nullptr) {
        Unknown(s, key, path, is_resource);
        continue;
      }
      const Element& e = *match.element;
      const std::string element_path =
          e.choice ? absl::StrCat(path, ".", e.name, ".ofType(", match.type, ")") : absl::StrCat(path, ".", name);
      if (e.choice) {
        auto [it, inserted] = choice_used.emplace(&e, std::string(name));
        if (!inserted && it->second != name) {
          Error(IssueType::kInvariant, absl::StrCat(path, ".", e.name),
                absl::StrCat(path, ".", e.name, "[x] takes one type, but both ", it->second, " and ", name,
                             " are given"));
          continue;
        }
      }
      present.insert(&e);
      if (underscore) {
        if (!IsPrimitive(match.type)) {
          Error(IssueType::kStructure, path + "." + key,
                absl::StrCat(path, ".", key, ": \"_", name,
                             "\" carries the id and extensions of a primitive value, but ", name, " is a ",
                             match.type));
          continue;
        }
        PrimitiveExtension(m.second, e.array, element_path);
        continue;
      }
      if (e.name == "modifierExtension" || e.name == "implicitRules") {
        NotUnderstood(m.second, e.name, element_path);
      }
      const Json& value = m.second;
      if (value.is_null()) {
        Error(IssueType::kStructure, element_path,
              absl::StrCat(element_path, " is null; FHIR JSON leaves out elements that have no value"));
        continue;
      }
      if (e.array) {
        if (!value.is_array()) {
          Error(IssueType::kStructure, element_path,
                absl::StrCat(element_path, " must be a JSON array (it repeats: 0..*), even for one value; got ",
                             Describe(value)));
          continue;
        }
        if (value.items().empty()) {
          Error(IssueType::kStructure, element_path,
                absl::StrCat(element_path, " is an empty array; FHIR JSON leaves out elements that have no value"));
          continue;
        }
        const Json* extensions = obj.Find("_" + std::string(name));
        for (size_t i = 0; i < value.items().size(); ++i) {
          const Json& item = value.items()[i];
          const std::string item_path = absl::StrCat(element_path, "[", i, "]");
          if (item.is_null()) {
            // Allowed only where "_name" gives that repetition its extensions.
            const bool has_extension = extensions != nullptr && extensions->is_array() &&
                                       i < extensions->items().size() && !extensions->items()[i].is_null();
            if (!has_extension || !IsPrimitive(match.type)) {
              Error(IssueType::kStructure, item_path,
                    absl::StrCat(item_path, " is null; null is allowed in an array only where \"_", name,
                                 "\" gives that repetition its extensions"));
            }
            continue;
          }
          Value(item, match.type, e, item_path);
        }
      } else {
        if (value.is_array()) {
          Error(IssueType::kStructure, element_path,
                absl::StrCat(element_path, " takes a single value (0..1), not an array"));
          continue;
        }
        Value(value, match.type, e, element_path);
      }
    }
    for (const Element& e : s.elements) {
      if (e.required && present.count(&e) == 0) {
        const std::string element_path = absl::StrCat(path, ".", e.name);
        Error(IssueType::kRequired, element_path,
              absl::StrCat(element_path, " is required (", e.array ? "1..*" : "1..1", ") in ",
                           s.kind == Kind::kResource || s.kind == Kind::kDomainResource ? "a " : "", s.name,
                           e.choice ? absl::StrCat("; give one of ", e.name, UpperFirst(e.types.front()), ", ...")
                                    : ""));
      }
    }
    if (s.name == "Extension") {
      const bool has_value = std::any_of(s.elements.begin(), s.elements.end(), [&](const Element& e) {
        return e.name == "value" && present.count(&e) > 0;
      });
      const bool has_children = !obj.GetArray("extension").empty();
      if (has_value == has_children) {
        Error(IssueType::kInvariant, path,
              absl::StrCat(path, " (", Quote(obj.GetString("url")), ") must have either a value[x] or nested "
                           "extensions, not ", has_value ? "both" : "neither", " (ext-1)"));
      }
    }
  }

  void Unknown(const Struct& s, const std::string& key, const std::string& path, bool is_resource) {
    const std::string element_path = absl::StrCat(path, ".", key);
    const std::string suggestion = Suggest(s, absl::StripPrefix(key, "_"));
    std::string text = absl::StrCat(element_path, ": \"", key, "\" is not an element of ", s.name,
                                    is_resource ? " in FHIR R4" : "");
    if (!suggestion.empty()) absl::StrAppend(&text, " (did you mean \"", suggestion, "\"?)");
    absl::StrAppend(&text,
                    "; unknown elements are rejected so that no data is silently lost (extensions carry "
                    "additional data)");
    Error(IssueType::kStructure, element_path, std::move(text));
  }

  void NotUnderstood(const Json& value, const std::string& name, const std::string& path) {
    if (name == "implicitRules") {
      if (value.is_string()) {
        Error(IssueType::kNotSupported, path,
              absl::StrCat(path, " ", Quote(value.string()),
                           ": hisbridge does not know these rules, and FHIR forbids processing a resource whose "
                           "implicitRules are not understood"));
      }
      return;
    }
    for (size_t i = 0; i < value.items().size(); ++i) {
      Error(IssueType::kNotSupported, absl::StrCat(path, "[", i, "]"),
            absl::StrCat(path, "[", i, "] ", Quote(value.items()[i].GetString("url")),
                         ": hisbridge does not know this modifier extension, and FHIR forbids processing an "
                         "element whose modifier extensions are not understood"));
    }
  }

  // "_birthDate": {"extension": [...]} or, for repeating primitives, an
  // array of such objects and nulls.
  void PrimitiveExtension(const Json& value, bool array, const std::string& path) {
    static const Struct* element = [] {
      auto* s = new Struct();
      s->name = "Element";
      s->elements = {Compile({"id", "string"}), Compile({"extension", "Extension", kMany})};
      return s;
    }();
    if (array) {
      if (!value.is_array()) {
        Error(IssueType::kStructure, path,
              absl::StrCat(path, ": the \"_\" sibling of a repeating primitive must be an array"));
        return;
      }
      for (size_t i = 0; i < value.items().size(); ++i) {
        if (value.items()[i].is_null()) continue;
        if (!value.items()[i].is_object()) {
          Error(IssueType::kStructure, absl::StrCat(path, "[", i, "]"),
                absl::StrCat(path, "[", i, "]: must be an object with id and extension, or null"));
          continue;
        }
        Object(value.items()[i], *element, absl::StrCat(path, "[", i, "]"), false);
      }
      return;
    }
    if (!value.is_object()) {
      Error(IssueType::kStructure, path,
            absl::StrCat(path, ": the \"_\" sibling of a primitive must be an object with id and extension"));
      return;
    }
    Object(value, *element, path, false);
  }

  void Value(const Json& v, const std::string& type, const Element& e, const std::string& path) {
    if (IsPrimitive(type)) {
      Primitive(v, type, e, path);
      return;
    }
    if (type == "Resource") {
      Resource(v, path, /*contained=*/e.name == "contained");
      return;
    }
    if (!v.is_object()) {
      Error(IssueType::kStructure, path,
            absl::StrCat(path, " must be a JSON object (a ", Canonical(type) == type ? type : type + " (Quantity)",
                         "), not ", Describe(v)));
      return;
    }
    const Struct* s = FindStruct(type);
    if (s == nullptr) {
      // A datatype hisbridge never reads (Signature, Expression, ...): any
      // non-empty object.
      if (v.members().empty()) {
        Error(IssueType::kStructure, path, absl::StrCat(path, " is an empty object"));
      }
      return;
    }
    Object(v, *s, path, false);
  }

  void Primitive(const Json& v, const std::string& type, const Element& e, const std::string& path) {
    auto wrong = [&](absl::string_view expected) {
      Error(IssueType::kValue, path,
            absl::StrCat(path, " must be ", expected, " (FHIR ", type, "), not ", Describe(v)));
    };
    if (type == "boolean") {
      if (!v.is_bool()) wrong("true or false (a JSON boolean)");
      return;
    }
    if (type == "integer" || type == "positiveInt" || type == "unsignedInt") {
      if (!v.is_integer()) {
        wrong("a JSON integer without fraction or quotes");
        return;
      }
      const int64_t n = v.integer();
      const int64_t min = type == "positiveInt" ? 1 : type == "unsignedInt" ? 0 : -2147483648LL;
      if (n < min || n > 2147483647LL) {
        Error(IssueType::kValue, path,
              absl::StrCat(path, " is ", n, "; a FHIR ", type, " lies between ", min, " and 2147483647"));
      }
      return;
    }
    if (type == "decimal") {
      if (!v.is_number()) wrong("a JSON number without quotes");
      return;
    }
    if (!v.is_string()) {
      wrong("a JSON string");
      return;
    }
    const std::string& s = v.string();
    if (s.empty()) {
      Error(IssueType::kStructure, path,
            absl::StrCat(path, " is an empty string; FHIR JSON leaves out elements that have no value"));
      return;
    }
    if (type != "xhtml" && type != "markdown" && HasControlCharacters(s)) {
      Error(IssueType::kValue, path, absl::StrCat(path, " contains control characters"));
      return;
    }
    bool ok = true;
    std::string expected;
    if (type == "id") {
      ok = s.size() <= 64 && AllChars(s, IsIdChar);
      expected = "1 to 64 letters, digits, '-' and '.'";
    } else if (type == "code") {
      ok = IsCode(s);
      expected = "a code without leading, trailing or repeated spaces";
    } else if (type == "uri" || type == "url" || type == "canonical") {
      ok = AllChars(s, IsNotSpace);
      expected = "a URI without spaces";
    } else if (type == "oid") {
      ok = IsOid(s);
      expected = "urn:oid: followed by an OID such as 2.16.156.10011.1.1";
    } else if (type == "uuid") {
      ok = IsUuid(s);
      expected = "urn:uuid: followed by a lower- or upper-case UUID";
    } else if (type == "base64Binary") {
      ok = AllChars(s, IsBase64Char);
      expected = "base64 text";
    } else if (type == "date") {
      ok = IsFhirDate(s);
      expected = "YYYY, YYYY-MM or YYYY-MM-DD with a real month and day";
    } else if (type == "dateTime") {
      ok = IsFhirDateTime(s);
      expected = "a date, or YYYY-MM-DDThh:mm:ss with a zone (e.g. 2026-03-01T08:30:00+08:00)";
    } else if (type == "instant") {
      ok = IsFhirInstant(s);
      expected = "YYYY-MM-DDThh:mm:ss with a zone (e.g. 2026-03-01T08:30:00+08:00)";
    } else if (type == "time") {
      ok = IsFhirTime(s);
      expected = "hh:mm:ss";
    }
    if (!ok) {
      Error(IssueType::kValue, path,
            absl::StrCat(path, " ", Quote(s), " is not a valid FHIR ", type, ": expected ", expected));
      return;
    }
    if (!e.codes.empty() && std::find(e.codes.begin(), e.codes.end(), s) == e.codes.end()) {
      Error(IssueType::kCodeInvalid, path,
            absl::StrCat(path, " ", Quote(s), " is not in its required value set: one of ",
                         absl::StrJoin(e.codes, ", ")));
    }
  }

  std::vector<Issue>* issues_;
};

}  // namespace

bool IsKnownResourceType(absl::string_view resource_type) {
  return ResourceTypes().count(std::string(resource_type)) > 0;
}

void ValidateResource(const Json& resource, const std::string& path, std::vector<Issue>* issues) {
  Checker(issues).Resource(resource, path, /*contained=*/false);
}

}  // namespace hisbridge::fhir
