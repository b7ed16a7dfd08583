// gRPC AdminService on the callback API: what county IT and auditors use.
//
//   ListAccessLog         this query replica's access log (who read which
//                         patient, when and why), admins only
//   GetDataQualityReport  the per-clinic data-quality report
//                         (libs/report/data_quality.h), admins only;
//                         served by the role that holds the patient index
//                         (the linker), for the counties it links now.
//                         Elsewhere FAILED_PRECONDITION says where to ask.
//   GetPatientHistory     one patient's audit trail (patient_history.h):
//                         automatic decisions with model version, score
//                         and explanation, steward actions with actor and
//                         reason; admins only, recorded in the access log.
//                         Served by the linker role like the report.
//
// A history read blocks on RocksDB (the linker's index as a secondary
// instance, caught up before each read), so it runs on a second worker
// thread of the service, one at a time, never behind a report; a few more
// wait (then RESOURCE_EXHAUSTED), and one whose deadline passed while it
// waited is not read.
//
// ListAccessLog reads one page of the access log (a local RocksDB) on a
// thread of the service's own, so that a read that waits for the disk does
// not hold up gRPC's callback threads.
//
// A report scans a county's whole index (and reads the rejects topic), so
// it never runs on a gRPC thread: one worker thread of the service builds
// reports one at a time, a few more wait their turn, and beyond that the
// call is RESOURCE_EXHAUSTED. A report stops when its call's deadline
// passes, the caller cancels, or the service shuts down.
//
// Thread safety: gRPC calls it from many threads; the authorizer, the
// access log and whatever the report and history sources use must outlive
// the service.
#ifndef HISBRIDGE_SERVICES_ADMIN_ADMIN_SERVICE_H_
#define HISBRIDGE_SERVICES_ADMIN_ADMIN_SERVICE_H_

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "hisbridge/v1/admin.grpc.pb.h"
#include "libs/base/blocking_pool.h"
#include "libs/report/data_quality.h"
#include "libs/security/access_log.h"
#include "libs/security/authorizer.h"

namespace hisbridge::admin {

// Builds a data-quality report (report::BuildIndexReport over the linker's
// index); runs on the service's worker thread.
using DataQualitySource = std::function<absl::StatusOr<hisbridge::v1::DataQualityReport>(
    const hisbridge::v1::DataQualityReportRequest& request, const report::ReportControl& control)>;

// One patient's audit history (LinkerHistoryReader::Read over the linker's
// index); runs on the service's history worker thread, one call at a time.
using PatientHistorySource =
    std::function<absl::StatusOr<hisbridge::v1::PatientHistory>(const std::string& patient_id)>;

struct AdminServiceOptions {
  // Reports waiting for the worker beyond the one it builds.
  int max_queued_reports = 4;
  // History reads waiting for their worker beyond the one it reads.
  int max_queued_histories = 16;
};

class AdminService final : public hisbridge::v1::AdminService::CallbackService {
 public:
  // `data_quality` / `history` null: this process holds no patient index
  // (no linker role) and refuses reports / histories, naming who serves
  // them. A history read is recorded through the authorizer's access log.
  AdminService(const security::Authorizer* authorizer, const security::AccessLog* access_log,
               DataQualitySource data_quality = nullptr, PatientHistorySource history = nullptr,
               AdminServiceOptions options = {});
  ~AdminService() override;
  AdminService(const AdminService&) = delete;
  AdminService& operator=(const AdminService&) = delete;

  // Stops the report in progress, answers waiting reports and history
  // reads UNAVAILABLE and refuses new ones (a history read in progress
  // ends first: it is short; so do access-log pages already asked for).
  // Call before the gRPC server shuts down (its Wait() waits for calls in
  // progress). Idempotent.
  void Shutdown();

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
  class CancellableReactor;
  struct ReportJob;
  struct HistoryJob;
  void RunReports();
  void RunHistories();

  const security::Authorizer* authorizer_;
  const security::AccessLog* access_log_;
  DataQualitySource data_quality_;
  PatientHistorySource history_;
  AdminServiceOptions options_;

  std::mutex mu_;
  std::condition_variable work_;
  std::deque<std::unique_ptr<ReportJob>> queue_;
  std::condition_variable history_work_;
  std::deque<std::unique_ptr<HistoryJob>> history_queue_;
  bool stopping_ = false;
  // Read by the report in progress between items (no lock).
  std::atomic<bool> stop_requested_{false};
  std::thread worker_;
  std::thread history_worker_;
  BlockingWorkPool log_reads_{1, "access-log-read"};
};

}  // namespace hisbridge::admin

#endif  // HISBRIDGE_SERVICES_ADMIN_ADMIN_SERVICE_H_
