// gRPC IngestService on the callback API: a thin adapter from RPCs to the
// Ingestor. Never blocks a reactor: answers are sent from the producer's
// delivery callbacks.
//
// Thread safety: gRPC calls it from many threads; the Ingestor is
// thread-safe. The Ingestor must outlive the service.
#ifndef HISBRIDGE_SERVICES_INGEST_INGEST_SERVICE_H_
#define HISBRIDGE_SERVICES_INGEST_INGEST_SERVICE_H_

#include "hisbridge/v1/ingest.grpc.pb.h"
#include "libs/security/authorizer.h"
#include "services/ingest/ingestor.h"

namespace hisbridge::ingest {

class IngestService final : public hisbridge::v1::IngestService::CallbackService {
 public:
  // `authorizer` (null: allow everything, as in plaintext development)
  // decides who may submit, and for which facilities; it must outlive the
  // service.
  explicit IngestService(Ingestor* ingestor, const security::Authorizer* authorizer = nullptr)
      : ingestor_(ingestor), authorizer_(authorizer) {}

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context, const hisbridge::v1::SubmitRequest* request,
                                   hisbridge::v1::SubmitResponse* response) override;
  grpc::ServerReadReactor<hisbridge::v1::SubmitRequest>* Stream(grpc::CallbackServerContext* context,
                                                                hisbridge::v1::SubmitResponse* response) override;

 private:
  Ingestor* ingestor_;
  const security::Authorizer* authorizer_;
};

}  // namespace hisbridge::ingest

#endif  // HISBRIDGE_SERVICES_INGEST_INGEST_SERVICE_H_
