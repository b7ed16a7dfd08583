// The unified patient (hisbridge.v1.Patient) and Match candidates as FHIR
// R4 resources: what GET [base]/Patient/{id} and Patient/$match return.
//
// PatientResource: Patient.id is the unified patient id; identifier holds
// the golden identity document (system from the identifier table, type
// v2-0203), the insurance and health card numbers, and one identifier per
// source record (type MR, system "<record_system_prefix><facility_id>",
// value the record id, assigner the facility); name.text, gender (GB/T
// 2261.1 1/2/9/0 -> male/female/other/unknown), birthDate, telecom,
// address.text, the ethnicity extension; meta.versionId/lastUpdated from
// the patient's version and update time. A merged-away patient is
// active=false with link {other: the survivor, type: replaced-by}.
//
// MatchBundle: a searchset Bundle, one entry per candidate in the order
// QueryService ranked them: resource = the Patient, search.mode = match,
// search.score = MatchScore(), and the match-grade extension
// (http://hl7.org/fhir/StructureDefinition/match-grade) on entry.search.
//
// Thread safety: pure functions.
#ifndef HISBRIDGE_LIBS_FHIR_PATIENT_RESOURCE_H_
#define HISBRIDGE_LIBS_FHIR_PATIENT_RESOURCE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/query.pb.h"
#include "libs/fhir/json.h"
#include "libs/fhir/mapping.h"

namespace hisbridge::fhir {

inline constexpr char kMatchGradeExtension[] = "http://hl7.org/fhir/StructureDefinition/match-grade";

struct ResourceOptions {
  // The facade's absolute base, e.g. "http://hisbridge-fhir:8080/fhir".
  std::string base_url;
  // Systems for the golden identity document, by id_type (the same table
  // the mapping reads).
  std::vector<IdentifierSystem> identifier_systems = DefaultIdentifierSystems();
  std::string record_system_prefix = "urn:hisbridge:facility:";
  std::string ethnicity_extension = kEthnicityExtension;
};

Json PatientResource(const hisbridge::v1::Patient& patient, const ResourceOptions& options);

// The decision thresholds of the matcher (log-likelihood ratios, log2).
struct MatchThresholds {
  double upper = 24;
  double lower = 16;
};

// search.score in 0..1 for a candidate's score (a log2 likelihood ratio):
// a logistic curve through 0.5 at the lower threshold and 0.9 at the upper
// one, p = 1 / (1 + exp(-ln 9 * (score - lower) / (upper - lower))), then
// kept inside the band of the candidate's grade so that score and grade
// never disagree: certain [0.9, 1], probable [0.5, 0.9), possible (0, 0.5),
// certainly-not 0. Infinite scores (decisive rules) give 1 and 0.
double MatchScore(double score, hisbridge::v1::MatchGrade grade, const MatchThresholds& thresholds);

// "certain", "probable", "possible", "certainly-not"; "" for unspecified.
absl::string_view MatchGradeCode(hisbridge::v1::MatchGrade grade);

// With `only_certain`, candidates graded anything but certain are left
// out; at most `count` entries.
Json MatchBundle(const hisbridge::v1::MatchResponse& response, int count, bool only_certain,
                 const ResourceOptions& options, const MatchThresholds& thresholds);

}  // namespace hisbridge::fhir

#endif  // HISBRIDGE_LIBS_FHIR_PATIENT_RESOURCE_H_
