// gRPC QueryService on the callback API, served from this replica's
// materialised views.
//
// Calls carrying ReadConsistency wait, without blocking any thread, until
// the replica reflects the given inbox positions or the call's deadline
// (capped at kMaxConsistencyWait) passes, then answer or fail with
// DEADLINE_EXCEEDED naming the position that is not yet reflected.
//
// Thread safety: gRPC calls it from many threads; the materializer must
// outlive the service.
#ifndef HISBRIDGE_SERVICES_QUERY_QUERY_SERVICE_H_
#define HISBRIDGE_SERVICES_QUERY_QUERY_SERVICE_H_

#include "absl/time/time.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "libs/view/view_materializer.h"

namespace hisbridge::query {

inline constexpr absl::Duration kMaxConsistencyWait = absl::Seconds(30);

class QueryService final : public hisbridge::v1::QueryService::CallbackService {
 public:
  explicit QueryService(view::ViewMaterializer* views) : views_(views) {}

  grpc::ServerUnaryReactor* GetPatient(grpc::CallbackServerContext* context,
                                       const hisbridge::v1::GetPatientRequest* request,
                                       hisbridge::v1::Patient* response) override;
  grpc::ServerUnaryReactor* LookupBySource(grpc::CallbackServerContext* context,
                                           const hisbridge::v1::LookupBySourceRequest* request,
                                           hisbridge::v1::Patient* response) override;

 private:
  view::ViewMaterializer* views_;
};

}  // namespace hisbridge::query

#endif  // HISBRIDGE_SERVICES_QUERY_QUERY_SERVICE_H_
