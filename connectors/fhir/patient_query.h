// What the FHIR facade reads from QueryService: a patient by unified id or
// by source record, and ranked Match candidates.
//
// An interface so the facade can be tested against a fake; NewGrpcPatientQuery
// talks to a real QueryService with a deadline on every call and converts
// gRPC statuses to absl::Status here, once (NOT_FOUND for an unknown patient,
// UNAVAILABLE when the query role is unreachable, DEADLINE_EXCEEDED,
// UNIMPLEMENTED while a method is not served yet, PERMISSION_DENIED).
//
// Thread safety: implementations are thread-safe.
#ifndef HISBRIDGE_CONNECTORS_FHIR_PATIENT_QUERY_H_
#define HISBRIDGE_CONNECTORS_FHIR_PATIENT_QUERY_H_

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/query.pb.h"

namespace hisbridge::connectors::fhir {

// Per call: the purpose of use the reader declared (QueryService checks it
// for reads of patient data) and the facade's own caller (the certificate
// identity of the HTTPS client, "" on plaintext), which QueryService
// records in its access log beside the facade's identity.
struct QueryContext {
  std::string purpose;
  std::string on_behalf_of;
};

class PatientQuery {
 public:
  virtual ~PatientQuery() = default;
  // The patient itself even when it was merged away (its merged_into
  // names the survivor); clinical events left out.
  virtual absl::StatusOr<hisbridge::v1::Patient> GetPatient(const std::string& patient_id,
                                                            const QueryContext& context) = 0;
  virtual absl::StatusOr<hisbridge::v1::Patient> LookupBySource(const std::string& facility_id,
                                                                const std::string& record_id,
                                                                const QueryContext& context) = 0;
  virtual absl::StatusOr<hisbridge::v1::MatchResponse> Match(const hisbridge::v1::MatchRequest& request,
                                                             const QueryContext& context) = 0;
};

struct GrpcQueryOptions {
  // host:port of a query role (QueryService).
  std::string target;
  absl::Duration deadline = absl::Seconds(5);
  // TLS to the query role (as for ingest); null for plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

std::unique_ptr<PatientQuery> NewGrpcPatientQuery(const GrpcQueryOptions& options);

}  // namespace hisbridge::connectors::fhir

#endif  // HISBRIDGE_CONNECTORS_FHIR_PATIENT_QUERY_H_
