#include "services/admin/admin_service.h"

#include <utility>

namespace hisbridge::admin {

grpc::ServerUnaryReactor* AdminService::GetDataQualityReport(grpc::CallbackServerContext* context,
                                                             const hisbridge::v1::DataQualityReportRequest*,
                                                             hisbridge::v1::DataQualityReport*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = authorizer_->Authorize(*context, security::Permission::kAdmin, "AdminService.GetDataQualityReport");
  if (!caller.ok()) {
    reactor->Finish(security::ToGrpcStatus(caller.status()));
    return reactor;
  }
  reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                               "AdminService.GetDataQualityReport is not implemented yet in this version "
                               "(it arrives with the data-quality report work); ListAccessLog is available"));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::GetPatientHistory(grpc::CallbackServerContext* context,
                                                          const hisbridge::v1::GetPatientHistoryRequest*,
                                                          hisbridge::v1::PatientHistory*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = authorizer_->Authorize(*context, security::Permission::kAdmin, "AdminService.GetPatientHistory");
  if (!caller.ok()) {
    reactor->Finish(security::ToGrpcStatus(caller.status()));
    return reactor;
  }
  reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                               "AdminService.GetPatientHistory is not implemented yet in this version "
                               "(it arrives with the patient audit history work); ListAccessLog is available"));
  return reactor;
}

grpc::ServerUnaryReactor* AdminService::ListAccessLog(grpc::CallbackServerContext* context,
                                                      const hisbridge::v1::ListAccessLogRequest* request,
                                                      hisbridge::v1::ListAccessLogResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto caller = authorizer_->Authorize(*context, security::Permission::kAdmin, "AdminService.ListAccessLog");
  if (!caller.ok()) {
    reactor->Finish(security::ToGrpcStatus(caller.status()));
    return reactor;
  }
  if (access_log_ == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                 "this process runs no query role, so it keeps no access log; ask a query replica"));
    return reactor;
  }
  // A bounded local RocksDB scan (at most one page).
  auto listed = access_log_->List(*request);
  if (!listed.ok()) {
    reactor->Finish(security::ToGrpcStatus(listed.status()));
    return reactor;
  }
  *response = std::move(*listed);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace hisbridge::admin
