#include "services/admin/admin_service.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/logging.h"

namespace hisbridge::admin {

// A unary reactor that notices its call being cancelled, so the worker can
// stop a report nobody waits for any more. gRPC calls OnDone only after
// Finish, so the worker may use the reactor until it finishes it.
class AdminService::ReportReactor final : public grpc::ServerUnaryReactor {
 public:
  void OnCancel() override { cancelled_.store(true, std::memory_order_relaxed); }
  void OnDone() override { delete this; }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct AdminService::ReportJob {
  ReportReactor* reactor = nullptr;
  hisbridge::v1::DataQualityReportRequest request;
  hisbridge::v1::DataQualityReport* response = nullptr;
  absl::Time deadline = absl::InfiniteFuture();
  std::string caller;
};

AdminService::AdminService(const security::Authorizer* authorizer, const security::AccessLog* access_log,
                           DataQualitySource data_quality, AdminServiceOptions options)
    : authorizer_(authorizer),
      access_log_(access_log),
      data_quality_(std::move(data_quality)),
      options_(options) {
  if (data_quality_) worker_ = std::thread([this] { RunReports(); });
}

AdminService::~AdminService() { Shutdown(); }

void AdminService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    stop_requested_.store(true);
  }
  work_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void AdminService::RunReports() {
  while (true) {
    std::unique_ptr<ReportJob> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    ReportReactor* reactor = job->reactor;
    report::ReportControl control;
    control.deadline = job->deadline;
    control.cancelled = [this, reactor] { return reactor->cancelled() || stop_requested_.load(); };
    const absl::Time started = absl::Now();
    absl::StatusOr<hisbridge::v1::DataQualityReport> built = data_quality_(job->request, control);
    if (!built.ok()) {
      absl::Status status = built.status();
      if (stop_requested_.load()) {
        status = absl::UnavailableError("the server is shutting down; ask again (another linker pod, or later)");
      }
      log::Warning("data-quality report failed",
                   {{"caller", job->caller}, {"region", job->request.region()}, {"error", status}});
      reactor->Finish(security::ToGrpcStatus(status));
      continue;
    }
    log::Info("data-quality report",
              {{"caller", job->caller},
               {"region", job->request.region()},
               {"facility", job->request.facility_id()},
               {"facilities", built->facilities_size()},
               {"seconds", absl::ToDoubleSeconds(absl::Now() - started)}});
    *job->response = std::move(*built);
    reactor->Finish(grpc::Status::OK);
  }
  // Stopping: nobody will build the waiting reports.
  std::deque<std::unique_ptr<ReportJob>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
  }
  for (const auto& job : left) {
    job->reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down; ask again"));
  }
}

grpc::ServerUnaryReactor* AdminService::GetDataQualityReport(grpc::CallbackServerContext* context,
                                                             const hisbridge::v1::DataQualityReportRequest* request,
                                                             hisbridge::v1::DataQualityReport* response) {
  auto* reactor = new ReportReactor();
  auto caller = authorizer_->Authorize(*context, security::Permission::kAdmin, "AdminService.GetDataQualityReport");
  if (!caller.ok()) {
    reactor->Finish(security::ToGrpcStatus(caller.status()));
    return reactor;
  }
  if (!data_quality_) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        "this process runs no linker role, so it holds no patient index: ask a linker (on Kubernetes the "
        "hisbridge-linker-N pods, each for the counties it links), or run `hisbridge report --data-dir` beside one"));
    return reactor;
  }
  auto job = std::make_unique<ReportJob>();
  job->reactor = reactor;
  job->request = *request;
  job->response = response;
  job->caller = caller->identity;
  const auto deadline = context->deadline();
  if (deadline != std::chrono::system_clock::time_point::max()) job->deadline = absl::FromChrono(deadline);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down; ask again"));
      return reactor;
    }
    if (static_cast<int>(queue_.size()) >= options_.max_queued_reports) {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   absl::StrCat(queue_.size(), " data-quality reports are already waiting for this "
                                                               "linker; retry in a minute")));
      return reactor;
    }
    queue_.push_back(std::move(job));
  }
  work_.notify_one();
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
