// Fuzzes the FHIR mapping end to end: whatever the bytes, MapRequest (as a
// Bundle to [base], a Patient and an Observation to their endpoints) and
// MapMatchParameters must return without crashing or hanging; a request
// without errors must only hold records that pass ingest's validation
// again; and every OperationOutcome built from the issues must itself
// parse back as JSON.
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "libs/fhir/json.h"
#include "libs/fhir/mapping.h"
#include "libs/fhir/outcome.h"
#include "libs/records/validate.h"

namespace {

void Check(const hisbridge::fhir::MappedRequest& mapped) {
  if (mapped.ok()) {
    for (const hisbridge::v1::Record& r : mapped.OrderedRecords()) {
      if (!hisbridge::records::ValidateRecord(r).ok()) __builtin_trap();
    }
  }
  const std::string outcome = hisbridge::fhir::WriteJson(hisbridge::fhir::OperationOutcomeJson(mapped.AllIssues()));
  if (!hisbridge::fhir::ParseJson(outcome).ok()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  hisbridge::fhir::MappingOptions options;
  options.default_facility = "450321-WS-003";
  options.now = absl::FromUnixSeconds(1772325000);
  for (const char* type : {"", "Patient", "Observation"}) {
    hisbridge::fhir::Request request;
    request.type = type;
    request.body = body;
    Check(hisbridge::fhir::MapRequest(request, options));
  }
  hisbridge::fhir::MatchQuery match = hisbridge::fhir::MapMatchParameters(body, options);
  if (!hisbridge::fhir::ParseJson(hisbridge::fhir::WriteJson(hisbridge::fhir::OperationOutcomeJson(match.issues)))
           .ok()) {
    __builtin_trap();
  }
  return 0;
}
