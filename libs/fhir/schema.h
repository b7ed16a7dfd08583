// Strict FHIR R4 JSON structure checks for the resources hisbridge reads.
//
// ValidateResource walks a resource against the R4 element definitions of
// its type and reports, as OperationOutcome issues with the element's
// FHIRPath:
//
//   structure     a member that is not an element of its type ("name1" in a
//                 Patient; with a suggestion when it is close to one), a
//                 member given twice, an array where one value belongs or
//                 one value where FHIR requires an array, an object where a
//                 primitive belongs, null, "", [] or {} (FHIR JSON has no
//                 empty values), a "_element" sibling of a non-primitive
//   value         a primitive of the wrong JSON type (a number for a string,
//                 "true" for a boolean, 5.0 for an integer) or format (an
//                 invalid date, dateTime, instant, id, code, uri, oid, ...)
//   code-invalid  a code outside a required value set (Patient.gender "M")
//   required      a required element is missing (Observation.code)
//   invariant     two variants of one choice (valueQuantity + valueString);
//                 an Extension with both a value and nested extensions
//   not-supported a modifierExtension or implicitRules (which a system that
//                 does not understand them must not process)
//
// Known resource types: Patient, Encounter, Observation, MedicationRequest
// (mapped to county records), Organization, Medication, Condition (read to
// resolve references), Bundle, Parameters, OperationOutcome. Resources of
// other types inside a Bundle or `contained` are checked only for a
// resourceType; what to do with them is the mapping's decision.
//
// Unknown elements are errors, not warnings: an unknown element means data
// the clinic believes it sent would be lost (a Patient whose "name1" is
// ignored arrives without a name), and FHIR lets a server reject content it
// does not recognise. docs/connectors.md explains the choice.
//
// Thread safety: pure functions over immutable tables.
#ifndef HISBRIDGE_LIBS_FHIR_SCHEMA_H_
#define HISBRIDGE_LIBS_FHIR_SCHEMA_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "libs/fhir/json.h"
#include "libs/fhir/outcome.h"

namespace hisbridge::fhir {

// Whether the structure of `resource_type` is known (see above).
bool IsKnownResourceType(absl::string_view resource_type);

// Checks `resource`, which must be a JSON object with a known
// resourceType, and appends one issue per problem. `path` is the FHIRPath
// of the resource itself ("Patient", "Bundle.entry[3].resource").
void ValidateResource(const Json& resource, const std::string& path, std::vector<Issue>* issues);

}  // namespace hisbridge::fhir

#endif  // HISBRIDGE_LIBS_FHIR_SCHEMA_H_
