// gRPC AdminService on the callback API: what county IT and auditors use.
//
//   ListAccessLog         this query replica's access log (who read which
//                         patient, when and why), admins only
//   GetDataQualityReport  UNIMPLEMENTED until the data-quality issue
//   GetPatientHistory     UNIMPLEMENTED until the audit-history issue
//
// Thread safety: gRPC calls it from many threads; the authorizer and the
// access log must outlive the service.
#ifndef HISBRIDGE_SERVICES_ADMIN_ADMIN_SERVICE_H_
#define HISBRIDGE_SERVICES_ADMIN_ADMIN_SERVICE_H_

#include "hisbridge/v1/admin.grpc.pb.h"
#include "libs/security/access_log.h"
#include "libs/security/authorizer.h"

namespace hisbridge::admin {

class AdminService final : public hisbridge::v1::AdminService::CallbackService {
 public:
  AdminService(const security::Authorizer* authorizer, const security::AccessLog* access_log)
      : authorizer_(authorizer), access_log_(access_log) {}

  grpc::ServerUnaryReactor* GetDataQualityReport(grpc::CallbackServerContext* context,
                                                 const hisbridge::v1::DataQualityReportRequest* request,
                                                 hisbridge::v1::DataQualityReport* response) override;
  grpc::ServerUnaryReactor* ListAccessLog(grpc::CallbackServerContext* context,
                                          const hisbridge::v1::ListAccessLogRequest* request,
                                          hisbridge::v1::ListAccessLogResponse* response) override;
  grpc::ServerUnaryReactor* GetPatientHistory(grpc::CallbackServerContext* context,
                                              const hisbridge::v1::GetPatientHistoryRequest* request,
                                              hisbridge::v1::PatientHistory* response) override;

 private:
  const security::Authorizer* authorizer_;
  const security::AccessLog* access_log_;
};

}  // namespace hisbridge::admin

#endif  // HISBRIDGE_SERVICES_ADMIN_ADMIN_SERVICE_H_
