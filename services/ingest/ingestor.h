// Ingest: validates submitted records and appends the valid ones to the
// inbox topic, durably, before answering.
//
// Each record gets its own answer: ACCEPTED with its inbox position once
// the broker confirmed it (acks=all, idempotent producer); REJECTED with
// every validation error (the record is kept on the rejects topic with its
// reasons); or UNAVAILABLE when the broker could not take it (safe to
// retry). A bad record never affects its neighbours. Records are keyed by
// their facility's region so every record of a county lands in one inbox
// partition, in submission order.
//
// Thread safety: Ingestor is thread-safe. A PendingResponse may receive
// Add() from one thread at a time (a gRPC stream reads sequentially);
// completion callbacks run on the producer's delivery thread.
#ifndef HISBRIDGE_SERVICES_INGEST_INGESTOR_H_
#define HISBRIDGE_SERVICES_INGEST_INGESTOR_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/ingest.pb.h"
#include "libs/base/clock.h"
#include "libs/kafka/kafka_config.h"
#include "libs/kafka/producer.h"
#include "libs/records/facility_directory.h"

namespace hisbridge::ingest {

// Most records one Submit call may carry.
inline constexpr int kMaxRecordsPerSubmit = 10000;

class Ingestor;

// Authorisation of each record's facility (security::Authorizer's
// FacilityRefusal for the caller): "" when the caller may submit for the
// facility, otherwise the refusal naming the policy rule. The record is
// then REJECTED with REJECT_REASON_PERMISSION_DENIED (and kept on the
// rejects topic); the other records of the call are unaffected.
using FacilityCheck = std::function<std::string(const std::string& facility_id)>;

// The answer to one Submit call or one whole Stream, assembled as
// deliveries are confirmed.
class PendingResponse : public std::enable_shared_from_this<PendingResponse> {
 public:
  // Adds the request's records (or JSON lines) to the response.
  void Add(const hisbridge::v1::SubmitRequest& request);
  // No more Add() calls; `done` runs once every record is answered.
  void Close();

 private:
  friend class Ingestor;
  PendingResponse(Ingestor* ingestor, hisbridge::v1::IngestMeta meta,
                  std::function<void(hisbridge::v1::SubmitResponse)> done, FacilityCheck facility_check);
  void AddRecord(const hisbridge::v1::Record& record, const std::string* raw_line, int64_t line_number,
                 const std::vector<hisbridge::v1::FieldIssue>* parse_errors,
                 const std::vector<hisbridge::v1::FieldIssue>* parse_findings);
  void Reject(int index, const std::string& raw, int64_t line_number, const std::string& facility_id,
              hisbridge::v1::RejectReason reason, std::vector<hisbridge::v1::FieldIssue> errors);
  // One outstanding delivery finished.
  void Finished();
  void MaybeComplete();

  Ingestor* ingestor_;
  hisbridge::v1::IngestMeta meta_;
  std::function<void(hisbridge::v1::SubmitResponse)> done_;
  FacilityCheck facility_check_;
  std::mutex mu_;
  // Facilities refused in this call (each refusal is logged once per call).
  std::set<std::string> refused_facilities_;
  hisbridge::v1::SubmitResponse response_;
  int next_index_ = 0;
  int outstanding_ = 0;
  bool closed_ = false;
  bool completed_ = false;
};

class Ingestor {
 public:
  Ingestor(kafka::Producer* producer, const records::FacilityDirectory* facilities, kafka::TopicNames topics,
           Clock* clock = RealClock());

  // Starts a response; add requests to it, then Close() it.
  std::shared_ptr<PendingResponse> Begin(hisbridge::v1::IngestMeta meta,
                                         std::function<void(hisbridge::v1::SubmitResponse)> done,
                                         FacilityCheck facility_check = nullptr);

  // Counters for metrics and summaries.
  int64_t accepted() const { return accepted_.load(); }
  int64_t rejected() const { return rejected_.load(); }
  int64_t unavailable() const { return unavailable_.load(); }
  // Rejected records with this reason (sums to rejected()).
  int64_t rejected(hisbridge::v1::RejectReason reason) const;

 private:
  friend class PendingResponse;
  std::string NextEventId();

  kafka::Producer* producer_;
  const records::FacilityDirectory* facilities_;
  kafka::TopicNames topics_;
  Clock* clock_;
  std::string instance_;
  std::atomic<uint64_t> sequence_{0};
  std::atomic<int64_t> accepted_{0}, rejected_{0}, unavailable_{0};
  // Indexed by RejectReason; the last slot takes any reason added later
  // beyond the array.
  static constexpr int kReasonSlots = 16;
  std::array<std::atomic<int64_t>, kReasonSlots> rejected_by_reason_{};
};

}  // namespace hisbridge::ingest

#endif  // HISBRIDGE_SERVICES_INGEST_INGESTOR_H_
