// The connectors' wire to ingest: one blocking Submit with a deadline.
//
// An interface so that the Forwarder can be tested against a fake ingest
// and benchmarked without a broker; NewGrpcIngestClient talks to a real
// IngestService. Transport failures are the returned Status with gRPC's code
// (UNAVAILABLE when nothing listens, DEADLINE_EXCEEDED when the answer did
// not come in time); per-record outcomes are in the SubmitResponse.
//
// Thread safety: implementations are thread-safe.
#ifndef HISBRIDGE_LIBS_FORWARD_INGEST_CLIENT_H_
#define HISBRIDGE_LIBS_FORWARD_INGEST_CLIENT_H_

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hisbridge/v1/ingest.pb.h"

namespace hisbridge::forward {

class IngestClient {
 public:
  virtual ~IngestClient() = default;
  virtual absl::StatusOr<hisbridge::v1::SubmitResponse> Submit(const hisbridge::v1::SubmitRequest& request,
                                                               absl::Duration deadline) = 0;
};

struct GrpcIngestOptions {
  // host:port of an ingest (IngestService).
  std::string target;
  // Sent as x-hisbridge-channel ("hl7v2", "file", "fhir"): ingest records it
  // in every inbox event's metadata.
  std::string channel;
  // Upper bound of gRPC's reconnect backoff, so a returning ingest is found
  // quickly.
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
  // TLS to ingest (security::GrpcClientCredentials, with this connector's
  // client certificate); null for plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

std::unique_ptr<IngestClient> NewGrpcIngestClient(const GrpcIngestOptions& options);

}  // namespace hisbridge::forward

#endif  // HISBRIDGE_LIBS_FORWARD_INGEST_CLIENT_H_
