// Internal to libs/fhir: the request mapper shared by mapping.cc (requests,
// Bundles, references, validation), patient_mapping.cc and event_mapping.cc.
// Not part of the library's API; include mapping.h instead.
//
// A Mapper maps one request: it holds the parsed body, one Input per
// resource (a Bundle entry or the resource posted alone), the Bundle's
// fullUrl index for references, and writes into a MappedRequest.
#ifndef HISBRIDGE_LIBS_FHIR_MAPPER_H_
#define HISBRIDGE_LIBS_FHIR_MAPPER_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/fhir/json.h"
#include "libs/fhir/mapping.h"
#include "libs/fhir/outcome.h"

namespace hisbridge::fhir::internal {

using Record = hisbridge::v1::Record;

// Record field -> the FHIRPath it came from.
using Origins = std::map<std::string, std::string>;

bool IsMappedType(absl::string_view t);
bool IsContextType(absl::string_view t);
std::string Trim(absl::string_view s);
// "\"value\"", shortened past 80 bytes.
std::string Quote(absl::string_view s);
// True when the text holds a CJK ideograph: Chinese names and addresses
// are written without separators.
bool HasHan(absl::string_view text);
std::string PercentDecode(absl::string_view s);

// The human text of a CodeableConcept: text, else a coding's display, else
// its code.
std::string ConceptText(const Json* cc);
std::vector<std::string> ConceptCodes(const Json* cc);
// The short name county records use for a code system URI ("LOINC",
// "ICD-10", "SNOMED CT"; others unchanged).
std::string SystemName(absl::string_view uri);

struct CodeChoice {
  std::string code, system, display;
};

// The coding of a CodeableConcept a county record keeps: the first one of a
// preferred system ("LOINC" for observations, "ICD-10" for diagnoses), else
// the first coding with a code; display from it or the concept's text.
CodeChoice ChooseCoding(const Json* cc, absl::string_view preferred);
// "20 mg", "<5 mg/L".
std::string QuantityText(const Json* q);
// "90-139 mmHg", ">=3.1", "<=5.2".
std::string RangeText(const Json* low, const Json* high);
// v3 ObservationInterpretation / v2 0078 -> the county's N, H, L, A.
std::string AbnormalFlag(const std::vector<Json>& interpretations);

// What a Reference points to.
struct Resolved {
  enum class Kind { kNone, kEntry, kContained, kExternal, kLogical, kUnresolved, kConditional };
  Kind kind = Kind::kNone;
  size_t entry = 0;
  const Json* resource = nullptr;    // kEntry, kContained
  std::string type, id;              // kExternal (and the entry's type)
  const Json* identifier = nullptr;  // kLogical
  std::string text;                  // the reference as written
};

// "Patient/123", "http://x/fhir/Patient/123/_history/2" -> (Patient, 123).
bool SplitTypeAndId(absl::string_view ref, std::string* type, std::string* id);
const IdentifierSystem* FindSystem(const MappingOptions& o, absl::string_view system);

// What an Identifier.type code says an identifier is (v2-0203 and the
// codes Chinese HIS use).
struct TypeMeaning {
  bool known = false;
  IdentifierTarget target = IdentifierTarget::kIdNumber;
  std::string id_type;
  int record_rank = 0;  // for record ids: MR before PI before PT
};

TypeMeaning MeaningOfType(const Json* type);
bool HasErrorAt(const std::vector<Issue>& issues, const std::string& path);
// Deletes, patients, encounters, observations, medications.
int ApplyOrder(const Record& r);

class Mapper {
 public:
  Mapper(const MappingOptions& options, MappedRequest* out) : o_(options), out_(out) {}

  void Run(const Request& request);
  // Fills the demographics of a Patient; also used for $match.
  void PatientFields(const Json& p, const std::string& path, Record* r, Origins* origins,
                     std::vector<Issue>* issues, std::vector<std::pair<int, std::string>>* record_ids);

 private:
  struct Input {
    int index = -1;
    std::string method;
    std::string url_type, url_id;
    bool conditional = false;
    const Json* resource = nullptr;
    std::string path;
    std::string full_url;
  };
  struct Identity {
    bool done = false, busy = false, ok = false;
    std::string facility, record;
  };
  struct Mapped {
    Record record;
    Origins origins;
  };

  std::vector<Issue>& IssuesOf(size_t i) { return out_->entries[i].issues; }
  void AddInput(Input in);
  void Index();
  void MapInput(size_t i);
  void MapPatient(size_t i);
  void MapEncounter(size_t i);
  void MapObservation(size_t i);
  void MapMedication(size_t i);
  void Emit(size_t i, std::vector<Mapped> mapped);
  // An error on an event whose status says it was entered in error or
  // cancelled: the county format cannot retract one.
  void RefuseRetraction(size_t i);

  Resolved Resolve(const Json* reference, size_t from);
  Identity PatientIdentity(size_t i);
  // The (facility, record) of the patient an event's `subject` names.
  bool Subject(size_t i, const std::string& event_facility, Record* r, Origins* origins);
  std::string FacilityOfOrganization(const Json& org);
  std::string FacilityOfReference(const Json* reference, size_t from);
  std::string EventId(size_t i, const std::string& field, Origins* origins);
  std::string EncounterIdOf(const Json* reference, size_t from);
  std::string EventTime(size_t i, const std::vector<std::pair<std::string, const Json*>>& candidates,
                        Origins* origins);
  std::vector<hisbridge::v1::Diagnosis> Diagnoses(size_t i, Origins* origins);

  const MappingOptions& o_;
  MappedRequest* out_;
  Json root_;
  std::vector<Input> inputs_;
  std::map<std::string, size_t> by_url_;
  std::vector<bool> referenced_;
  std::vector<Identity> identities_;
};

}  // namespace hisbridge::fhir::internal

#endif  // HISBRIDGE_LIBS_FHIR_MAPPER_H_
