#include "services/ingest/ingestor.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"
#include "libs/base/time_format.h"
#include "libs/records/record_json.h"
#include "libs/records/validate.h"

namespace hisbridge::ingest {

using hisbridge::v1::FieldIssue;
using hisbridge::v1::Record;
using hisbridge::v1::RecordResult;

Ingestor::Ingestor(kafka::Producer* producer, const records::FacilityDirectory* facilities, kafka::TopicNames topics,
                   Clock* clock)
    : producer_(producer), facilities_(facilities), topics_(std::move(topics)), clock_(clock) {
  std::random_device rd;
  instance_ = absl::StrCat(absl::Hex(rd(), absl::kZeroPad8), absl::Hex(getpid(), absl::kZeroPad4));
}

int64_t Ingestor::rejected(hisbridge::v1::RejectReason reason) const {
  const int slot = static_cast<int>(reason);
  if (slot < 0 || slot >= kReasonSlots) return 0;
  return rejected_by_reason_[slot].load();
}

std::string Ingestor::NextEventId() { return absl::StrCat(instance_, "-", sequence_.fetch_add(1)); }

std::shared_ptr<PendingResponse> Ingestor::Begin(hisbridge::v1::IngestMeta meta,
                                                 std::function<void(hisbridge::v1::SubmitResponse)> done,
                                                 FacilityCheck facility_check) {
  if (meta.received_at().empty()) meta.set_received_at(FormatRfc3339(clock_->Now()));
  return std::shared_ptr<PendingResponse>(
      new PendingResponse(this, std::move(meta), std::move(done), std::move(facility_check)));
}

PendingResponse::PendingResponse(Ingestor* ingestor, hisbridge::v1::IngestMeta meta,
                                 std::function<void(hisbridge::v1::SubmitResponse)> done, FacilityCheck facility_check)
    : ingestor_(ingestor), meta_(std::move(meta)), done_(std::move(done)), facility_check_(std::move(facility_check)) {}

void PendingResponse::Add(const hisbridge::v1::SubmitRequest& request) {
  if (!request.request_id().empty() && meta_.request_id().empty()) meta_.set_request_id(request.request_id());
  for (const Record& record : request.records()) AddRecord(record, nullptr, 0, nullptr, nullptr);
  if (request.json_lines_size() > 0) {
    thread_local records::RecordJsonParser parser;
    records::ParsedRecord parsed;
    int64_t line_number = request.first_line_number();
    for (const std::string& line : request.json_lines()) {
      parser.Parse(line, &parsed);
      AddRecord(parsed.record, &line, line_number, &parsed.errors, &parsed.findings);
      if (line_number > 0) ++line_number;
    }
  }
}

void PendingResponse::AddRecord(const Record& record, const std::string* raw_line, int64_t line_number,
                                const std::vector<FieldIssue>* parse_errors,
                                const std::vector<FieldIssue>* parse_findings) {
  int index;
  {
    std::lock_guard<std::mutex> lock(mu_);
    index = next_index_++;
    RecordResult* result = response_.add_results();
    result->set_index(index);
    if (parse_findings != nullptr) {
      for (const FieldIssue& f : *parse_findings) *result->add_findings() = f;
    }
  }
  auto raw = [&]() { return raw_line != nullptr ? *raw_line : records::RecordToJson(record); };
  if (parse_errors != nullptr && !parse_errors->empty()) {
    Reject(index, raw(), line_number, record.facility_id(), hisbridge::v1::REJECT_REASON_MALFORMED, *parse_errors);
    return;
  }
  if (facility_check_ != nullptr) {
    std::string refusal = facility_check_(record.facility_id());
    if (!refusal.empty()) {
      bool first;
      {
        std::lock_guard<std::mutex> lock(mu_);
        first = refused_facilities_.insert(record.facility_id()).second;
      }
      if (first) {
        log::Warning("ingest: record refused by the policy",
                     {{"submitter", meta_.submitter()}, {"facility_id", record.facility_id()}, {"rule", refusal}});
      }
      FieldIssue issue;
      issue.set_field("facility_id");
      issue.set_rule("permission.facility");
      issue.set_message(std::move(refusal));
      Reject(index, raw(), line_number, record.facility_id(), hisbridge::v1::REJECT_REASON_PERMISSION_DENIED, {issue});
      return;
    }
  }
  records::ValidationResult validation = records::ValidateRecord(record);
  {
    std::lock_guard<std::mutex> lock(mu_);
    RecordResult* result = response_.mutable_results(index);
    for (const FieldIssue& f : validation.findings) *result->add_findings() = f;
  }
  if (!validation.ok()) {
    Reject(index, raw(), line_number, record.facility_id(), validation.reason, std::move(validation.errors));
    return;
  }
  hisbridge::v1::InboxEvent event;
  event.set_event_id(ingestor_->NextEventId());
  event.set_region(ingestor_->facilities_->RegionOf(record.facility_id()));
  *event.mutable_meta() = meta_;
  *event.mutable_record() = record;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++outstanding_;
  }
  auto self = shared_from_this();
  ingestor_->producer_->Produce(
      ingestor_->topics_.inbox, event.region(), event.SerializeAsString(), [self, index](const kafka::Delivery& d) {
        {
          std::lock_guard<std::mutex> lock(self->mu_);
          RecordResult* result = self->response_.mutable_results(index);
          if (d.status.ok()) {
            result->set_outcome(hisbridge::v1::RECORD_OUTCOME_ACCEPTED);
            result->mutable_position()->set_topic(d.topic);
            result->mutable_position()->set_partition(d.partition);
            result->mutable_position()->set_offset(d.offset);
            self->ingestor_->accepted_++;
          } else {
            result->set_outcome(hisbridge::v1::RECORD_OUTCOME_UNAVAILABLE);
            auto* e = result->add_errors();
            e->set_rule("broker.unavailable");
            e->set_message(absl::StrCat("the record is valid but could not be stored: ", d.status.message(),
                                        "; it is safe to submit it again"));
            self->ingestor_->unavailable_++;
          }
        }
        self->Finished();
      });
}

void PendingResponse::Reject(int index, const std::string& raw, int64_t line_number, const std::string& facility_id,
                             hisbridge::v1::RejectReason reason, std::vector<FieldIssue> errors) {
  hisbridge::v1::RejectedRecord rejected;
  *rejected.mutable_meta() = meta_;
  rejected.set_raw(raw);
  rejected.set_line(line_number);
  rejected.set_facility_id(facility_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    RecordResult* result = response_.mutable_results(index);
    result->set_outcome(hisbridge::v1::RECORD_OUTCOME_REJECTED);
    result->set_reason(reason);
    for (FieldIssue& e : errors) {
      if (line_number > 0) e.set_message(absl::StrCat("line ", line_number, ": ", e.message()));
      *rejected.add_errors() = e;
      *result->add_errors() = std::move(e);
    }
    ++outstanding_;
  }
  ingestor_->rejected_++;
  const int slot = std::clamp(static_cast<int>(reason), 0, Ingestor::kReasonSlots - 1);
  ingestor_->rejected_by_reason_[slot]++;
  auto self = shared_from_this();
  // Rejected records are kept, with their reasons, on the rejects topic.
  ingestor_->producer_->Produce(ingestor_->topics_.rejects, facility_id, rejected.SerializeAsString(),
                                [self](const kafka::Delivery& d) {
                                  if (!d.status.ok()) {
                                    log::Error("could not keep a rejected record on the rejects topic",
                                               {{"error", d.status}});
                                  }
                                  self->Finished();
                                });
}

void PendingResponse::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  MaybeComplete();
}

void PendingResponse::Finished() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --outstanding_;
  }
  MaybeComplete();
}

void PendingResponse::MaybeComplete() {
  hisbridge::v1::SubmitResponse response;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_ || outstanding_ > 0 || completed_) return;
    completed_ = true;
    std::map<std::pair<std::string, int32_t>, int64_t> highest;
    for (const RecordResult& r : response_.results()) {
      switch (r.outcome()) {
        case hisbridge::v1::RECORD_OUTCOME_ACCEPTED: {
          response_.set_accepted(response_.accepted() + 1);
          auto key = std::make_pair(r.position().topic(), r.position().partition());
          auto [it, inserted] = highest.emplace(key, r.position().offset());
          if (!inserted) it->second = std::max(it->second, r.position().offset());
          break;
        }
        case hisbridge::v1::RECORD_OUTCOME_REJECTED: response_.set_rejected(response_.rejected() + 1); break;
        default: response_.set_unavailable(response_.unavailable() + 1); break;
      }
    }
    for (const auto& [key, offset] : highest) {
      auto* p = response_.add_positions();
      p->set_topic(key.first);
      p->set_partition(key.second);
      p->set_offset(offset);
    }
    response = std::move(response_);
  }
  done_(std::move(response));
}

}  // namespace hisbridge::ingest
