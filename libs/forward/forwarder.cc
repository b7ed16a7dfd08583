#include "libs/forward/forwarder.h"

#include <future>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/base/logging.h"

namespace hisbridge::forward {

using hisbridge::v1::RecordResult;
using hisbridge::v1::SubmitRequest;
using hisbridge::v1::SubmitResponse;

absl::StatusOr<std::unique_ptr<Forwarder>> Forwarder::Start(ForwarderOptions options,
                                                            std::unique_ptr<IngestClient> client) {
  auto spool = Spool::Open(options.spool);
  if (!spool.ok()) return spool.status();
  if ((*spool)->pending_entries() > 0) {
    log::Info("spool: forwarding what an earlier run accepted",
              {{"entries", (*spool)->pending_entries()}, {"bytes", (*spool)->pending_bytes()},
               {"dir", options.spool.dir}});
  }
  std::unique_ptr<Forwarder> f(new Forwarder(std::move(options), std::move(client), std::move(*spool)));
  f->thread_ = std::thread([p = f.get()] { p->Run(); });
  return f;
}

Forwarder::Forwarder(ForwarderOptions options, std::unique_ptr<IngestClient> client, std::unique_ptr<Spool> spool)
    : options_(std::move(options)), client_(std::move(client)), spool_(std::move(spool)),
      backoff_(options_.initial_backoff) {
  stats_.spool_pending = spool_->pending_entries();
}

Forwarder::~Forwarder() { Stop(); }

bool Forwarder::Retryable(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

void Forwarder::Submit(std::vector<hisbridge::v1::Record> records, std::string request_id,
                       std::function<void(Delivery)> done) {
  Unit unit;
  for (auto& r : records) *unit.request.add_records() = std::move(r);
  unit.request.set_request_id(std::move(request_id));
  unit.done = std::move(done);
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) {
    lock.unlock();
    Delivery d;
    d.status = absl::UnavailableError("the connector is shutting down");
    unit.done(std::move(d));
    return;
  }
  ++stats_.submitted_units;
  queue_.push_back(std::move(unit));
  cv_.notify_all();
}

Delivery Forwarder::SubmitAndWait(std::vector<hisbridge::v1::Record> records, std::string request_id) {
  std::promise<Delivery> promise;
  std::future<Delivery> future = promise.get_future();
  Submit(std::move(records), std::move(request_id), [&promise](Delivery d) { promise.set_value(std::move(d)); });
  return future.get();
}

void Forwarder::SpoolUnits(std::vector<Unit> units, std::unique_lock<std::mutex>* lock) {
  std::vector<std::string> payloads;
  payloads.reserve(units.size());
  for (const Unit& u : units) payloads.push_back(u.request.SerializeAsString());
  absl::Status status = spool_->Append(payloads);
  if (status.ok()) {
    stats_.spooled_units += static_cast<int64_t>(units.size());
  } else if (status.code() == absl::StatusCode::kResourceExhausted && units.size() > 1) {
    // Keep what fits, in order; the rest fail with "spool full".
    size_t fitted = 0;
    while (fitted < units.size() && spool_->Append({payloads[fitted]}).ok()) ++fitted;
    stats_.spooled_units += static_cast<int64_t>(fitted);
    stats_.failed_units += static_cast<int64_t>(units.size() - fitted);
    std::vector<Delivery> answers(units.size());
    for (size_t i = 0; i < units.size(); ++i) {
      answers[i].path = Delivery::Path::kSpool;
      if (i >= fitted) answers[i].status = status;
    }
    stats_.spool_pending = spool_->pending_entries();
    lock->unlock();
    for (size_t i = 0; i < units.size(); ++i) units[i].done(std::move(answers[i]));
    lock->lock();
    return;
  } else {
    stats_.failed_units += static_cast<int64_t>(units.size());
    log::Error("spool: cannot keep accepted messages", {{"error", status}, {"units", units.size()}});
  }
  stats_.spool_pending = spool_->pending_entries();
  lock->unlock();
  for (Unit& u : units) {
    Delivery d;
    d.path = Delivery::Path::kSpool;
    d.status = status;
    u.done(std::move(d));
  }
  lock->lock();
}

void Forwarder::SendDirect(std::vector<Unit> units) {
  SubmitRequest request;
  std::vector<std::string> ids;
  for (const Unit& u : units) {
    for (const auto& r : u.request.records()) *request.add_records() = r;
    ids.push_back(u.request.request_id());
  }
  request.set_request_id(absl::StrJoin(ids, ","));
  absl::StatusOr<SubmitResponse> response = client_->Submit(request, options_.rpc_deadline);
  bool unavailable = !response.ok() && Retryable(response.status());
  if (response.ok()) {
    if (response->results_size() != request.records_size()) {
      response = absl::InternalError(absl::StrCat("ingest answered ", response->results_size(), " results for ",
                                                  request.records_size(), " records"));
      unavailable = true;
    } else {
      for (const RecordResult& r : response->results()) {
        if (r.outcome() == hisbridge::v1::RECORD_OUTCOME_UNAVAILABLE ||
            r.outcome() == hisbridge::v1::RECORD_OUTCOME_UNSPECIFIED) {
          unavailable = true;
        }
      }
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  busy_ = false;
  if (unavailable) {
    // Ingest or Kafka is away: keep the whole batch (records already
    // accepted in it are harmless duplicates later) and everything queued
    // behind it, in order.
    log::Warning("ingest unreachable; accepting into the local spool",
                 {{"error", response.ok() ? absl::UnavailableError("a record was answered UNAVAILABLE")
                                          : response.status()},
                  {"units", units.size()}});
    for (Unit& u : queue_) units.push_back(std::move(u));
    queue_.clear();
    next_attempt_ = absl::Now() + backoff_;
    SpoolUnits(std::move(units), &lock);
    cv_.notify_all();
    return;
  }
  std::vector<Delivery> answers(units.size());
  if (!response.ok()) {
    stats_.failed_units += static_cast<int64_t>(units.size());
    for (Delivery& d : answers) d.status = response.status();
  } else {
    stats_.direct_units += static_cast<int64_t>(units.size());
    int index = 0;
    for (size_t i = 0; i < units.size(); ++i) {
      for (int k = 0; k < units[i].request.records_size(); ++k) answers[i].results.push_back(response->results(index++));
    }
  }
  lock.unlock();
  for (size_t i = 0; i < units.size(); ++i) units[i].done(std::move(answers[i]));
  lock.lock();
  drained_cv_.notify_all();
}

bool Forwarder::ForwardSpoolBatch(std::unique_lock<std::mutex>* lock) {
  std::vector<std::string> payloads;
  absl::Status status = spool_->Peek(static_cast<size_t>(options_.max_batch_units), 8 << 20, &payloads);
  SubmitRequest request;
  std::vector<std::string> ids;
  if (status.ok()) {
    for (const std::string& p : payloads) {
      SubmitRequest unit;
      if (!unit.ParseFromString(p)) {
        status = absl::DataLossError("spool: an entry is not a SubmitRequest");
        break;
      }
      if (request.records_size() > 0 && request.records_size() + unit.records_size() > options_.max_batch_records) {
        payloads.resize(ids.size());
        break;
      }
      for (auto& r : *unit.mutable_records()) *request.add_records() = std::move(r);
      ids.push_back(unit.request_id());
    }
  }
  if (!status.ok()) {
    log::Error("spool: cannot read; forwarding stops until this is fixed", {{"error", status}});
    next_attempt_ = absl::Now() + options_.max_backoff;
    return false;
  }
  request.set_request_id(absl::StrJoin(ids, ","));
  lock->unlock();
  absl::StatusOr<SubmitResponse> response = client_->Submit(request, options_.rpc_deadline);
  lock->lock();
  bool delivered = response.ok() && response->results_size() == request.records_size();
  if (delivered) {
    for (const RecordResult& r : response->results()) {
      if (r.outcome() == hisbridge::v1::RECORD_OUTCOME_UNAVAILABLE ||
          r.outcome() == hisbridge::v1::RECORD_OUTCOME_UNSPECIFIED) {
        delivered = false;
      } else if (r.outcome() == hisbridge::v1::RECORD_OUTCOME_REJECTED) {
        // Valid here, refused there (e.g. not authorised): ingest keeps it
        // on its rejects topic with the reason; say so loudly.
        log::Error("ingest rejected a spooled record; it is kept on the rejects topic",
                   {{"reason", hisbridge::v1::RejectReason_Name(r.reason())},
                    {"error", r.errors_size() > 0 ? r.errors(0).message() : std::string()}});
      }
    }
  } else if (response.ok()) {
    response = absl::InternalError("ingest answered a different number of results");
  }
  if (!delivered) {
    ++stats_.forward_attempts_failed;
    if (!response.ok() && !Retryable(response.status())) {
      log::Error("ingest refuses the spooled messages; retrying at the longest backoff",
                 {{"error", response.status()}});
      backoff_ = options_.max_backoff;
    }
    next_attempt_ = absl::Now() + backoff_;
    log::Debug("spool: ingest still unreachable", {{"retry_in", absl::FormatDuration(backoff_)}});
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    return false;
  }
  absl::Status committed = spool_->Commit(payloads.size());
  if (!committed.ok()) {
    log::Error("spool: cannot record forwarded entries (they will be sent again)", {{"error", committed}});
    next_attempt_ = absl::Now() + backoff_;
    return false;
  }
  stats_.forwarded_units += static_cast<int64_t>(payloads.size());
  stats_.spool_pending = spool_->pending_entries();
  backoff_ = options_.initial_backoff;
  if (spool_->empty()) log::Info("spool drained; forwarding directly again", {});
  return true;
}

void Forwarder::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_) break;
    if (!spool_->empty()) {
      // Spooling: new units go behind what is already spooled.
      if (!queue_.empty()) {
        std::vector<Unit> units;
        for (Unit& u : queue_) units.push_back(std::move(u));
        queue_.clear();
        SpoolUnits(std::move(units), &lock);
        continue;
      }
      const absl::Time now = absl::Now();
      if (now >= next_attempt_) {
        ForwardSpoolBatch(&lock);
        drained_cv_.notify_all();
        continue;
      }
      cv_.wait_for(lock, absl::ToChronoNanoseconds(next_attempt_ - now));
      continue;
    }
    if (queue_.empty()) {
      drained_cv_.notify_all();
      cv_.wait(lock);
      continue;
    }
    std::vector<Unit> units;
    int records = 0;
    while (!queue_.empty() && static_cast<int>(units.size()) < options_.max_batch_units &&
           (units.empty() || records + queue_.front().request.records_size() <= options_.max_batch_records)) {
      records += queue_.front().request.records_size();
      units.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    busy_ = true;
    lock.unlock();
    SendDirect(std::move(units));
    lock.lock();
  }
  // Stopping: what is accepted but not yet answered goes to the spool.
  if (!queue_.empty()) {
    std::vector<Unit> units;
    for (Unit& u : queue_) units.push_back(std::move(u));
    queue_.clear();
    SpoolUnits(std::move(units), &lock);
  }
  drained_cv_.notify_all();
}

void Forwarder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool Forwarder::WaitUntilDrained(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return drained_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout),
                              [&] { return queue_.empty() && !busy_ && spool_->empty(); });
}

ForwarderStats Forwarder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ForwarderStats stats = stats_;
  stats.spool_pending_bytes = spool_->pending_bytes();
  stats.spool_max_bytes = options_.spool.max_bytes;
  return stats;
}

}  // namespace hisbridge::forward
