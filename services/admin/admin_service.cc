#include "services/admin/admin_service.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/base/logging.h"
#include "services/admin/patient_history.h"

namespace hisbridge::admin {

// A unary reactor that notices its call being cancelled, so a worker can
// stop (or skip) work nobody waits for any more. gRPC calls OnDone only
// after Finish, so the worker may use the reactor until it finishes it.
class AdminService::CancellableReactor final : public grpc::ServerUnaryReactor {
 public:
  void OnCancel() override { cancelled_.store(true, std::memory_order_relaxed); }
  void OnDone() override { delete this; }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

struct AdminService::ReportJob {
  CancellableReactor* reactor = nullptr;
  hisbridge::v1::DataQualityReportRequest request;
  hisbridge::v1::DataQualityReport* response = nullptr;
  absl::Time deadline = absl::InfiniteFuture();
  std::string caller;
};

struct AdminService::HistoryJob {
  CancellableReactor* reactor = nullptr;
  std::string patient_id;
  hisbridge::v1::PatientHistory* response = nullptr;
  absl::Time deadline = absl::InfiniteFuture();
  security::Caller caller;
};

namespace {

constexpr char kHistoryMethod[] = "AdminService.GetPatientHistory";

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  return deadline == std::chrono::system_clock::time_point::max() ? absl::InfiniteFuture() : absl::FromChrono(deadline);
}

}  // namespace

AdminService::AdminService(const security::Authorizer* authorizer, const security::AccessLog* access_log,
                           DataQualitySource data_quality, PatientHistorySource history, AdminServiceOptions options)
    : authorizer_(authorizer),
      access_log_(access_log),
      data_quality_(std::move(data_quality)),
      history_(std::move(history)),
      options_(options) {
  if (data_quality_) worker_ = std::thread([this] { RunReports(); });
  if (history_) history_worker_ = std::thread([this] { RunHistories(); });
}

AdminService::~AdminService() { Shutdown(); }

void AdminService::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    stop_requested_.store(true);
  }
  work_.notify_all();
  history_work_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (history_worker_.joinable()) history_worker_.join();
  log_reads_.Stop();
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
    CancellableReactor* reactor = job->reactor;
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
  auto* reactor = new CancellableReactor();
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
  job->deadline = DeadlineOf(*context);
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

void AdminService::RunHistories() {
  while (true) {
    std::unique_ptr<HistoryJob> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      history_work_.wait(lock, [this] { return stopping_ || !history_queue_.empty(); });
      if (stopping_) break;
      job = std::move(history_queue_.front());
      history_queue_.pop_front();
    }
    CancellableReactor* reactor = job->reactor;
    if (reactor->cancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the caller cancelled the history read"));
      continue;
    }
    if (absl::Now() >= job->deadline) {
      reactor->Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                                   "the call's deadline passed while the history read waited its turn"));
      continue;
    }
    const absl::Time started = absl::Now();
    absl::StatusOr<hisbridge::v1::PatientHistory> history = history_(job->patient_id);
    if (!history.ok()) {
      // NOT_FOUND and the like are answers, not faults of this process.
      if (absl::IsUnavailable(history.status()) || absl::IsInternal(history.status()) ||
          absl::IsDataLoss(history.status())) {
        log::Warning("patient history failed", {{"caller", job->caller.identity},
                                                {"patient", job->patient_id},
                                                {"error", history.status()}});
      }
      reactor->Finish(security::ToGrpcStatus(history.status()));
      continue;
    }
    // Recorded before the answer leaves, like every read of patient data.
    if (absl::Status recorded = authorizer_->RecordAccess(job->caller, kHistoryMethod, {job->patient_id});
        !recorded.ok()) {
      reactor->Finish(security::ToGrpcStatus(recorded));
      continue;
    }
    log::Debug("patient history", {{"caller", job->caller.identity},
                                   {"patient", job->patient_id},
                                   {"entries", history->entries_size()},
                                   {"seconds", absl::ToDoubleSeconds(absl::Now() - started)}});
    *job->response = std::move(*history);
    reactor->Finish(grpc::Status::OK);
  }
  std::deque<std::unique_ptr<HistoryJob>> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(history_queue_);
  }
  for (const auto& job : left) {
    job->reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down; ask again"));
  }
}

grpc::ServerUnaryReactor* AdminService::GetPatientHistory(grpc::CallbackServerContext* context,
                                                          const hisbridge::v1::GetPatientHistoryRequest* request,
                                                          hisbridge::v1::PatientHistory* response) {
  auto* reactor = new CancellableReactor();
  auto caller = authorizer_->Authorize(*context, security::Permission::kAdmin, kHistoryMethod);
  if (!caller.ok()) {
    reactor->Finish(security::ToGrpcStatus(caller.status()));
    return reactor;
  }
  absl::Status valid = RegionOfPatientId(request->patient_id()).status();
  if (!valid.ok()) {
    reactor->Finish(security::ToGrpcStatus(valid));
    return reactor;
  }
  if (!history_) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::FAILED_PRECONDITION,
        "this process runs no linker role, so it holds no patient index and no audit trail: ask the linker of the "
        "patient's county (on Kubernetes a hisbridge-linker-N pod, each for the counties it links), or run "
        "`hisbridge history --data-dir` beside one"));
    return reactor;
  }
  auto job = std::make_unique<HistoryJob>();
  job->reactor = reactor;
  job->patient_id = request->patient_id();
  job->response = response;
  job->deadline = DeadlineOf(*context);
  job->caller = *std::move(caller);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down; ask again"));
      return reactor;
    }
    if (static_cast<int>(history_queue_.size()) >= options_.max_queued_histories) {
      reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                   absl::StrCat(history_queue_.size(), " history reads are already waiting for this "
                                                                       "linker; retry in a few seconds")));
      return reactor;
    }
    history_queue_.push_back(std::move(job));
  }
  history_work_.notify_one();
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
                                 "this process runs neither the query nor the linker role, so it keeps no access "
                                 "log; ask a query replica (reads of views) or a linker (reads of audit histories)"));
    return reactor;
  }
  // A bounded local RocksDB scan (at most one page), which may wait for
  // the disk.
  const bool queued = log_reads_.Submit([this, reactor, request, response] {
    auto listed = access_log_->List(*request);
    if (!listed.ok()) {
      reactor->Finish(security::ToGrpcStatus(listed.status()));
      return;
    }
    *response = std::move(*listed);
    reactor->Finish(grpc::Status::OK);
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "this process is shutting down; ask again (another replica, or after its restart)"));
  }
  return reactor;
}

}  // namespace hisbridge::admin
