#include "services/query/review_service.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/base/time_format.h"
#include "libs/index/kv_store.h"
#include "libs/match/match_record.h"
#include "libs/view/view_store.h"

namespace hisbridge::query {
namespace {

using hisbridge::v1::Patient;

constexpr int kDefaultReviewPageSize = 20;
constexpr int kMaxReviewPageSize = 200;
constexpr size_t kMaxReviewScan = 20000;

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}
grpc::Status Invalid(const std::string& message) { return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message); }
grpc::Status NotFound(const std::string& message) { return grpc::Status(grpc::StatusCode::NOT_FOUND, message); }
grpc::Status Precondition(const std::string& message) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, message);
}

std::string RegionOfPatient(absl::string_view patient_id) {
  const size_t dash = patient_id.rfind("-P");
  return dash == absl::string_view::npos ? "" : std::string(patient_id.substr(0, dash));
}

absl::string_view StatusName(hisbridge::v1::PatientStatus status) {
  switch (status) {
    case hisbridge::v1::PATIENT_STATUS_ACTIVE:
      return "active";
    case hisbridge::v1::PATIENT_STATUS_MERGED:
      return "merged";
    case hisbridge::v1::PATIENT_STATUS_RETIRED:
      return "retired (no live records)";
    default:
      return "unknown";
  }
}

// Loads a patient named in field `field`; NOT_FOUND when this replica does
// not have it.
grpc::Status LoadPatient(const view::ViewStore& store, const std::string& field, const std::string& patient_id,
                         Patient* out) {
  if (patient_id.empty()) return Invalid(absl::StrCat(field, " is required"));
  auto patient = store.GetPatient(patient_id);
  if (!patient.ok()) return ToGrpc(patient.status());
  if (!patient->has_value()) return NotFound(absl::StrCat(field, ": no patient ", patient_id));
  *out = std::move(**patient);
  return grpc::Status::OK;
}

// The patient a live source record belongs to; NOT_FOUND naming the record
// when this replica has no such record.
grpc::Status LoadRecordOwner(const view::ViewStore& store, const std::string& facility_id,
                             const std::string& record_id, Patient* owner) {
  auto current = store.PatientIdOfSource(facility_id, record_id);
  if (!current.ok()) return ToGrpc(current.status());
  if (!current->has_value()) {
    return NotFound(absl::StrCat("no live record ", record_id, " of facility ", facility_id));
  }
  return LoadPatient(store, "record's patient", **current, owner);
}

// The patient must still be one (not merged away, not retired).
grpc::Status RequireActive(const std::string& field, const Patient& p) {
  if (p.status() == hisbridge::v1::PATIENT_STATUS_MERGED) {
    return Precondition(absl::StrCat(field, ": patient ", p.patient_id(), " was merged into ", p.merged_into(),
                                     "; use ", p.merged_into()));
  }
  if (!view::IsActive(p.status())) {
    return Precondition(absl::StrCat(field, ": patient ", p.patient_id(), " is ", StatusName(p.status())));
  }
  return grpc::Status::OK;
}

std::string RegionOf(const Patient& p) { return p.region().empty() ? RegionOfPatient(p.patient_id()) : p.region(); }

grpc::Status RequireSameRegion(const Patient& a, const Patient& b) {
  if (RegionOf(a) != RegionOf(b)) {
    return Precondition(absl::StrCat("patients ", a.patient_id(), " (county ", RegionOf(a), ") and ", b.patient_id(),
                                     " (county ", RegionOf(b), ") belong to different counties; linking across "
                                     "counties is not supported"));
  }
  return grpc::Status::OK;
}

grpc::Status CheckSteward(const hisbridge::v1::StewardContext& steward) {
  if (steward.actor().empty()) {
    return Invalid("context.actor is required: who decides, for the audit trail");
  }
  return grpc::Status::OK;
}

absl::Time CallDeadline(grpc::CallbackServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

std::string ReviewPageToken(uint64_t fingerprint, absl::string_view last_key) {
  return absl::WebSafeBase64Escape(index::EncodeUint64(fingerprint) + std::string(last_key));
}

// With mutual TLS the certificate identity is the actor (StewardContext:
// "the certificate identity takes precedence"); the actor given in the
// request is kept beside it when it differs.
hisbridge::v1::StewardContext Certified(const hisbridge::v1::StewardContext& given, const security::Caller& caller) {
  hisbridge::v1::StewardContext out = given;
  if (caller.plaintext || caller.identity.empty()) return out;
  out.set_actor(given.actor().empty() || given.actor() == caller.identity
                    ? caller.identity
                    : absl::StrCat(caller.identity, " (as ", given.actor(), ")"));
  return out;
}

// Stewards only (docs/security.md); refusals are logged by the authorizer.
grpc::Status AdmitSteward(const security::Authorizer* authorizer, grpc::CallbackServerContext* context,
                          security::Permission permission, const char* method, security::Caller* caller) {
  if (authorizer == nullptr) return grpc::Status::OK;
  auto admitted = authorizer->Authorize(*context, permission, method);
  if (!admitted.ok()) return security::ToGrpcStatus(admitted.status());
  *caller = std::move(*admitted);
  return grpc::Status::OK;
}

}  // namespace

std::string NewCommandId() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen));
}

ReviewService::ReviewService(view::ViewMaterializer* views, kafka::Producer* producer,
                             const records::FacilityDirectory* facilities, kafka::TopicNames topics,
                             const security::Authorizer* authorizer)
    : views_(views), producer_(producer), facilities_(facilities), topics_(std::move(topics)),
      authorizer_(authorizer) {}

grpc::ServerUnaryReactor* ReviewService::ListReviewItems(grpc::CallbackServerContext* context,
                                                         const hisbridge::v1::ListReviewItemsRequest* request,
                                                         hisbridge::v1::ListReviewItemsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  security::Caller caller;
  if (grpc::Status refused = AdmitSteward(authorizer_, context, security::Permission::kReviewRead, "ReviewService.ListReviewItems",
                                          &caller);
      !refused.ok()) {
    reactor->Finish(refused);
    return reactor;
  }
  auto finish = [reactor](grpc::Status s) {
    reactor->Finish(std::move(s));
    return reactor;
  };
  if (request->page_size() < 0 || request->page_size() > kMaxReviewPageSize) {
    return finish(Invalid(absl::StrCat("page_size: must be between 1 and ", kMaxReviewPageSize, " (0 means ",
                                       kDefaultReviewPageSize, "), got ", request->page_size())));
  }
  std::optional<uint64_t> before_micros;
  if (!request->created_before().empty()) {
    auto before = ParseRfc3339(request->created_before());
    if (!before.ok()) return finish(Invalid(absl::StrCat("created_before: ", before.status().message())));
    before_micros = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMicros(*before)));
  }
  const uint64_t fingerprint =
      match::Token(index::JoinKey({"reviews-v1", absl::StrCat(static_cast<int>(request->status())), request->region(),
                                   request->facility_id(), request->created_before()}));
  std::string start_after;
  if (!request->page_token().empty()) {
    std::string raw;
    if (!absl::WebSafeBase64Unescape(request->page_token(), &raw) || raw.size() < 8) {
      return finish(Invalid("page_token: is not a token this service returned; pass next_page_token unchanged"));
    }
    if (index::DecodeUint64(absl::string_view(raw).substr(0, 8)) != fingerprint) {
      return finish(Invalid("page_token: belongs to a different query; repeat the filters unchanged when paging"));
    }
    start_after = raw.substr(8);
  }
  const size_t page_size =
      static_cast<size_t>(request->page_size() == 0 ? kDefaultReviewPageSize : request->page_size());
  OnStoreThread(context, reactor,
                [this, reactor, request, response, caller = std::move(caller), before_micros, fingerprint,
                 start_after = std::move(start_after), page_size] {
    reactor->Finish(ListPage(*request, caller, before_micros, fingerprint, start_after, page_size, response));
  });
  return reactor;
}

grpc::Status ReviewService::ListPage(const hisbridge::v1::ListReviewItemsRequest& request,
                                     const security::Caller& caller, std::optional<uint64_t> before_micros,
                                     uint64_t fingerprint, const std::string& start_after, size_t page_size,
                                     hisbridge::v1::ListReviewItemsResponse* response) const {
  std::string last_key;
  bool more = false;
  size_t scanned = 0;
  absl::Status scan = views_->store().ScanReviewItems(
      start_after, [&](absl::string_view key, const hisbridge::v1::ReviewItem& item) {
        if (before_micros.has_value() && index::DecodeUint64(key.substr(0, 8)) >= *before_micros) return false;
        if (scanned++ >= kMaxReviewScan) {
          more = true;
          return false;
        }
        const bool wanted = (request.status() == hisbridge::v1::REVIEW_STATUS_UNSPECIFIED ||
                             item.status() == request.status()) &&
                            (request.region().empty() || item.region() == request.region()) &&
                            (request.facility_id().empty() || item.facility_id() == request.facility_id());
        if (wanted && static_cast<size_t>(response->items_size()) == page_size) {
          more = true;
          return false;
        }
        if (wanted) *response->add_items() = item;
        last_key.assign(key.data(), key.size());
        return true;
      });
  if (!scan.ok()) return ToGrpc(scan);
  if (more) response->set_next_page_token(ReviewPageToken(fingerprint, last_key));
  response->set_total_open(views_->store().OpenReviewCount(request.region()));
  if (authorizer_ != nullptr) {
    // Review items show demographics of the record and its candidates.
    std::vector<std::string> ids;
    for (const auto& item : response->items()) {
      ids.push_back(item.patient_id());
      for (const auto& c : item.candidates()) ids.push_back(c.patient_id());
    }
    if (absl::Status recorded = authorizer_->RecordAccess(caller, "ReviewService.ListReviewItems", ids);
        !recorded.ok()) {
      response->Clear();
      return ToGrpc(recorded);
    }
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* ReviewService::DecideReviewItem(grpc::CallbackServerContext* context,
                                                          const hisbridge::v1::DecideReviewItemRequest* request,
                                                          hisbridge::v1::CommandAck* response) {
  return Mutate(context, "ReviewService.DecideReviewItem", request->context(), response,
                [this, request](PreparedCommand* out) {
    if (request->review_id().empty()) return Invalid("review_id is required");
    const hisbridge::v1::ReviewDecision decision = request->decision();
    if (decision == hisbridge::v1::REVIEW_DECISION_UNSPECIFIED || !hisbridge::v1::ReviewDecision_IsValid(decision)) {
      return Invalid("decision: choose REVIEW_DECISION_LINK, _NEW_PATIENT, _MERGE or _NOT_SAME");
    }
    auto item = views_->store().GetReviewItem(request->review_id());
    if (!item.ok()) return ToGrpc(item.status());
    if (!item->has_value()) return NotFound(absl::StrCat("review_id: no review item ", request->review_id()));
    const hisbridge::v1::ReviewItem& review = **item;
    if (review.status() == hisbridge::v1::REVIEW_STATUS_RESOLVED) {
      return Precondition(absl::StrCat("review item ", review.review_id(), " was already resolved",
                                       review.resolved_at().empty() ? "" : absl::StrCat(" at ", review.resolved_at()),
                                       review.resolved_by().empty() ? "" : absl::StrCat(" by ", review.resolved_by()),
                                       " (", hisbridge::v1::ReviewDecision_Name(review.decision()),
                                       "); to change the outcome, use LinkRecord, UnlinkRecord or MergePatients"));
    }
    const bool needs_patient =
        decision == hisbridge::v1::REVIEW_DECISION_LINK || decision == hisbridge::v1::REVIEW_DECISION_MERGE;
    if (needs_patient && request->patient_id().empty()) {
      return Invalid(absl::StrCat("patient_id is required for ", hisbridge::v1::ReviewDecision_Name(decision),
                                  ": the chosen candidate patient"));
    }
    if (!request->patient_id().empty()) {
      std::vector<std::string> candidates;
      for (const auto& c : review.candidates()) candidates.push_back(c.patient_id());
      if (std::find(candidates.begin(), candidates.end(), request->patient_id()) == candidates.end()) {
        return Invalid(absl::StrCat("patient_id: ", request->patient_id(), " is not a candidate of review item ",
                                    review.review_id(), " (candidates: ", absl::StrJoin(candidates, ", "), ")"));
      }
    }
    out->region = review.region();
    if (out->region.empty()) out->region = RegionOfPatient(review.patient_id());
    if (out->region.empty()) out->region = facilities_->RegionOf(review.facility_id());
    auto* action = out->command.mutable_resolve_review();
    action->set_review_id(review.review_id());
    action->set_decision(decision);
    action->set_patient_id(request->patient_id());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* ReviewService::LinkRecord(grpc::CallbackServerContext* context,
                                                    const hisbridge::v1::LinkRecordRequest* request,
                                                    hisbridge::v1::CommandAck* response) {
  return Mutate(context, "ReviewService.LinkRecord", request->context(), response,
                [this, request](PreparedCommand* out) {
    if (request->facility_id().empty()) return Invalid("facility_id is required");
    if (request->record_id().empty()) return Invalid("record_id is required");
    if (request->patient_id().empty()) return Invalid("patient_id is required");
    const view::ViewStore& store = views_->store();
    Patient target, owner;
    grpc::Status s = LoadRecordOwner(store, request->facility_id(), request->record_id(), &owner);
    if (s.ok()) s = LoadPatient(store, "patient_id", request->patient_id(), &target);
    if (s.ok()) s = RequireActive("patient_id", target);
    if (s.ok()) s = RequireSameRegion(owner, target);
    if (!s.ok()) return s;
    out->region = RegionOf(target);
    auto* action = out->command.mutable_link_record();
    action->set_facility_id(request->facility_id());
    action->set_record_id(request->record_id());
    action->set_patient_id(request->patient_id());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* ReviewService::UnlinkRecord(grpc::CallbackServerContext* context,
                                                      const hisbridge::v1::UnlinkRecordRequest* request,
                                                      hisbridge::v1::CommandAck* response) {
  return Mutate(context, "ReviewService.UnlinkRecord", request->context(), response,
                [this, request](PreparedCommand* out) {
    if (request->facility_id().empty()) return Invalid("facility_id is required");
    if (request->record_id().empty()) return Invalid("record_id is required");
    Patient owner;
    if (grpc::Status s = LoadRecordOwner(views_->store(), request->facility_id(), request->record_id(), &owner);
        !s.ok()) {
      return s;
    }
    if (owner.sources_size() <= 1) {
      return Precondition(absl::StrCat("record ", request->facility_id(), "/", request->record_id(),
                                       " is the only record of patient ", owner.patient_id(),
                                       "; there is nothing to unlink it from"));
    }
    out->region = RegionOf(owner);
    auto* action = out->command.mutable_unlink_record();
    action->set_facility_id(request->facility_id());
    action->set_record_id(request->record_id());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* ReviewService::MergePatients(grpc::CallbackServerContext* context,
                                                       const hisbridge::v1::MergePatientsRequest* request,
                                                       hisbridge::v1::CommandAck* response) {
  return Mutate(context, "ReviewService.MergePatients", request->context(), response,
                [this, request](PreparedCommand* out) {
    if (request->into_patient_id().empty()) return Invalid("into_patient_id is required");
    if (request->from_patient_id().empty()) return Invalid("from_patient_id is required");
    if (request->into_patient_id() == request->from_patient_id()) {
      return Invalid("from_patient_id: must differ from into_patient_id");
    }
    Patient into, from;
    grpc::Status s = LoadActivePair(request->into_patient_id(), "into_patient_id", &into, request->from_patient_id(),
                                    "from_patient_id", &from);
    if (!s.ok()) return s;
    out->region = RegionOf(into);
    auto* action = out->command.mutable_merge_patients();
    action->set_into_patient_id(request->into_patient_id());
    action->set_from_patient_id(request->from_patient_id());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* ReviewService::UnmergePatients(grpc::CallbackServerContext* context,
                                                         const hisbridge::v1::UnmergePatientsRequest* request,
                                                         hisbridge::v1::CommandAck* response) {
  return Mutate(context, "ReviewService.UnmergePatients", request->context(), response,
                [this, request](PreparedCommand* out) {
    if (request->patient_id().empty()) return Invalid("patient_id is required");
    if (request->restore_patient_id().empty()) return Invalid("restore_patient_id is required");
    Patient survivor, restore;
    const view::ViewStore& store = views_->store();
    grpc::Status s = LoadPatient(store, "patient_id", request->patient_id(), &survivor);
    if (s.ok()) s = LoadPatient(store, "restore_patient_id", request->restore_patient_id(), &restore);
    if (!s.ok()) return s;
    if (restore.status() != hisbridge::v1::PATIENT_STATUS_MERGED || restore.merged_into() != survivor.patient_id()) {
      return Precondition(absl::StrCat(
          "restore_patient_id: patient ", restore.patient_id(), " is not merged into ", survivor.patient_id(),
          " (it is ", StatusName(restore.status()),
          restore.merged_into().empty() ? "" : absl::StrCat(", into ", restore.merged_into()), ")"));
    }
    out->region = RegionOf(survivor);
    auto* action = out->command.mutable_unmerge_patients();
    action->set_patient_id(request->patient_id());
    action->set_restore_patient_id(request->restore_patient_id());
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* ReviewService::MarkNotSamePerson(grpc::CallbackServerContext* context,
                                                           const hisbridge::v1::MarkNotSamePersonRequest* request,
                                                           hisbridge::v1::CommandAck* response) {
  return Mutate(context, "ReviewService.MarkNotSamePerson", request->context(), response,
                [this, request](PreparedCommand* out) {
    if (request->patient_id().empty()) return Invalid("patient_id is required");
    if (request->other_patient_id().empty()) return Invalid("other_patient_id is required");
    if (request->patient_id() == request->other_patient_id()) {
      return Invalid("other_patient_id: must differ from patient_id");
    }
    Patient a, b;
    grpc::Status s =
        LoadActivePair(request->patient_id(), "patient_id", &a, request->other_patient_id(), "other_patient_id", &b);
    if (!s.ok()) return s;
    out->region = RegionOf(a);
    auto* action = out->command.mutable_not_same_person();
    action->set_patient_id(request->patient_id());
    action->set_other_patient_id(request->other_patient_id());
    return grpc::Status::OK;
  });
}

grpc::Status ReviewService::LoadActivePair(const std::string& first_id, const std::string& first_field, Patient* first,
                                           const std::string& second_id, const std::string& second_field,
                                           Patient* second) const {
  const view::ViewStore& store = views_->store();
  grpc::Status s = LoadPatient(store, first_field, first_id, first);
  if (s.ok()) s = LoadPatient(store, second_field, second_id, second);
  if (s.ok()) s = RequireActive(first_field, *first);
  if (s.ok()) s = RequireActive(second_field, *second);
  if (s.ok()) s = RequireSameRegion(*first, *second);
  return s;
}

grpc::ServerUnaryReactor* ReviewService::Mutate(grpc::CallbackServerContext* context, const char* method,
                                                const hisbridge::v1::StewardContext& given,
                                                hisbridge::v1::CommandAck* response,
                                                std::function<grpc::Status(PreparedCommand*)> prepare) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  security::Caller caller;
  grpc::Status s = AdmitSteward(authorizer_, context, security::Permission::kReviewWrite, method, &caller);
  hisbridge::v1::StewardContext steward = Certified(given, caller);
  if (s.ok()) s = CheckSteward(steward);
  if (!s.ok()) {
    reactor->Finish(s);
    return reactor;
  }
  OnStoreThread(context, reactor,
                [this, context, reactor, response, steward = std::move(steward), caller = std::move(caller),
                 prepare = std::move(prepare)] {
    PreparedCommand prepared;
    if (grpc::Status checked = prepare(&prepared); !checked.ok()) {
      reactor->Finish(checked);
      return;
    }
    Submit(context, reactor, steward, caller, prepared.region, std::move(prepared.command), response);
  });
  return reactor;
}

void ReviewService::OnStoreThread(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                                  std::function<void()> work) {
  const bool queued = store_reads_.Submit([context, reactor, work = std::move(work)] {
    // A caller that gave up (its deadline passed while the call waited
    // for a store thread) was told the call failed: submitting its command
    // now would surprise it, and it may already be retrying.
    if (context->IsCancelled()) {
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED,
                                   "the call was cancelled or its deadline passed before it was read; nothing "
                                   "was submitted"));
      return;
    }
    work();
  });
  if (!queued) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                 "this replica is shutting down; retry the call (on another replica)"));
  }
}

void ReviewService::Submit(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                           const hisbridge::v1::StewardContext& steward, const security::Caller& caller,
                           const std::string& region, hisbridge::v1::StewardCommand command,
                           hisbridge::v1::CommandAck* response) {
  const std::string command_id = NewCommandId();
  command.set_command_id(command_id);
  command.set_actor(steward.actor());
  command.set_reason(steward.reason());
  hisbridge::v1::InboxEvent event;
  event.set_event_id(absl::StrCat("steward-", command_id));
  event.set_region(region);
  event.mutable_meta()->set_received_at(FormatRfc3339(absl::Now()));
  // As ingest records it: the certificate identity, "anonymous" in
  // plaintext development.
  event.mutable_meta()->set_submitter(caller.plaintext || caller.identity.empty() ? "anonymous" : caller.identity);
  event.mutable_meta()->set_channel("review");
  *event.mutable_command() = std::move(command);

  // Answer shortly before the caller's deadline so the ack (and its command
  // id) still reaches the caller.
  const absl::Time now = absl::Now();
  const absl::Time call_deadline = CallDeadline(context);
  const absl::Duration remaining = call_deadline - now;
  const absl::Duration margin = std::max(absl::ZeroDuration(), std::min(absl::Milliseconds(250), remaining / 5));
  const absl::Time wait_until = std::min(call_deadline - margin, now + kMaxCommandWait);
  const bool wait = steward.wait_until_applied();
  view::ViewMaterializer* views = views_;
  const std::string inbox = topics_.inbox;
  producer_->Produce(
      topics_.inbox, region, event.SerializeAsString(),
      [reactor, response, command_id, wait, wait_until, views, inbox](const kafka::Delivery& d) {
        if (!d.status.ok()) {
          reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                       absl::StrCat("the command could not be stored on the inbox (", d.status.message(),
                                                    "); nothing was submitted, it is safe to retry")));
          return;
        }
        response->set_command_id(command_id);
        response->mutable_position()->set_topic(d.topic.empty() ? inbox : d.topic);
        response->mutable_position()->set_partition(d.partition);
        response->mutable_position()->set_offset(d.offset);
        if (!wait) {
          reactor->Finish(grpc::Status::OK);
          return;
        }
        const std::string where = absl::StrCat(d.partition, "@", d.offset);
        hisbridge::v1::LogPosition position = response->position();
        views->WaitForCommand(command_id, wait_until,
                              [reactor, response, command_id, where, views, wait_until,
                               position](std::optional<hisbridge::v1::CommandResult> r) {
                                if (r.has_value()) {
                                  response->set_applied(r->applied());
                                  response->set_result(r->result());
                                  // The result travels on its own views partition: also wait for
                                  // the watermark past the command, so that every patient view it
                                  // changed is visible when the caller reads next.
                                  views->WaitFor({position}, wait_until, [reactor](bool) {
                                    reactor->Finish(grpc::Status::OK);
                                  });
                                  return;
                                } else {
                                  response->set_applied(false);
                                  response->set_result(absl::StrCat(
                                      "accepted at inbox position ", where, " but not applied within the deadline; "
                                      "the linker will apply it in log order (do not submit it again)"));
                                }
                                reactor->Finish(grpc::Status::OK);
                              });
      });
}

}  // namespace hisbridge::query
