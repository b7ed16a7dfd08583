// What hisbridge says about a FHIR request: OperationOutcome issues.
//
// Every problem found in a request (JSON syntax, FHIR structure, a missing
// required element, a value that cannot become a county record, ...) is
// one Issue with a severity, a FHIR issue type (the IssueType value set),
// the FHIRPath-like expression of the element ("Patient.birthDate",
// "Bundle.entry[2].resource.subject") and a diagnostics text that names
// the element, the rule and the value. OperationOutcomeJson turns a list
// into the resource the facade returns for every error.
//
// Thread safety: plain values and pure functions.
#ifndef HISBRIDGE_LIBS_FHIR_OUTCOME_H_
#define HISBRIDGE_LIBS_FHIR_OUTCOME_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "libs/fhir/json.h"

namespace hisbridge::fhir {

enum class Severity { kFatal, kError, kWarning, kInformation };

// The FHIR R4 IssueType codes hisbridge uses.
enum class IssueType {
  kInvalid,        // "invalid": content invalid against the specification
  kStructure,      // "structure": not JSON, wrong JSON type, unknown element
  kRequired,       // "required": a required element is missing
  kValue,          // "value": an element's value is not valid for its type
  kInvariant,      // "invariant": a rule across elements is violated
  kCodeInvalid,    // "code-invalid": a code outside its required value set
  kNotSupported,   // "not-supported": valid FHIR that hisbridge does not handle
  kDuplicate,      // "duplicate": e.g. two Bundle entries with one fullUrl
  kNotFound,       // "not-found"
  kProcessing,     // "processing": cannot be turned into county records
  kTooCostly,      // "too-costly": the request is too large
  kTransient,      // "transient": try again later (spool full, query away)
  kTimeout,        // "timeout"
  kForbidden,      // "forbidden": the caller may not do this
  kException,      // "exception": an unexpected failure
  kInformational,  // "informational"
};

absl::string_view SeverityCode(Severity severity);
absl::string_view IssueTypeCode(IssueType type);

struct Issue {
  Severity severity = Severity::kError;
  IssueType type = IssueType::kInvalid;
  // FHIRPath-like location of the element; empty for the whole request.
  std::string expression;
  std::string diagnostics;

  bool is_error() const { return severity == Severity::kError || severity == Severity::kFatal; }
};

Issue MakeError(IssueType type, std::string expression, std::string diagnostics);
Issue MakeWarning(IssueType type, std::string expression, std::string diagnostics);
Issue MakeInformation(std::string expression, std::string diagnostics);

bool HasErrors(const std::vector<Issue>& issues);

// An OperationOutcome resource with one issue per entry; an empty list
// gives one informational "OK" issue (an OperationOutcome needs one).
Json OperationOutcomeJson(const std::vector<Issue>& issues);

// "Patient.birthDate: ..." lines, for logs and the reject log.
std::string DescribeIssues(const std::vector<Issue>& issues);

}  // namespace hisbridge::fhir

#endif  // HISBRIDGE_LIBS_FHIR_OUTCOME_H_
