#include "services/query/query_service.h"

#include <grpcpp/alarm.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/date.h"
#include "libs/view/match_index.h"
#include "libs/view/patient_wire.h"
#include "libs/view/search_keys.h"
#include "services/query/change_cursor.h"
#include "services/query/integrated_view.h"

namespace hisbridge::query {
namespace {

// Every method starts here: the caller must be allowed to read patient
// data (a reader must state the purpose of use). Refusals are logged and
// recorded by the authorizer.
grpc::Status AdmitRead(const security::Authorizer* authorizer, grpc::CallbackServerContext* context,
                       const char* method, security::Caller* caller) {
  if (authorizer == nullptr) return grpc::Status::OK;
  auto admitted = authorizer->Authorize(*context, security::Permission::kReadPatients, method);
  if (!admitted.ok()) return security::ToGrpcStatus(admitted.status());
  *caller = std::move(*admitted);
  return grpc::Status::OK;
}

// Records a read that returned these patients, before it is answered; an
// error (the access log is too far behind) is the call's answer instead.
absl::Status Audit(const security::Authorizer* authorizer, const security::Caller& caller, const char* method,
                   const std::vector<std::string>& patient_ids) {
  return authorizer != nullptr ? authorizer->RecordAccess(caller, method, patient_ids) : absl::OkStatus();
}

using hisbridge::v1::Patient;

// What a memory-only attempt answers when it would have had to read the
// disk: not an answer but a reason to try again where blocking is allowed
// (QueryService::Answer). It never reaches a client; if it did, it would be
// a retryable UNAVAILABLE.
constexpr char kNeedsDiskReadDetails[] = "hisbridge.query/needs-disk-read";

grpc::Status NeedsDiskRead() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the answer needs a disk read", kNeedsDiskReadDetails);
}

bool IsNeedsDiskRead(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE && s.error_details() == kNeedsDiskReadDetails;
}

grpc::Status ToGrpc(const absl::Status& s) {
  if (index::IsNotInMemory(s)) return NeedsDiskRead();
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

grpc::Status InvalidArgument(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

absl::Time CallDeadline(grpc::CallbackServerContext* context) {
  const auto deadline = context->deadline();
  if (deadline >= std::chrono::system_clock::time_point::max() - std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

}  // namespace

void QueryService::Answer(grpc::ServerUnaryReactor* reactor, Responder respond) {
  if (disk_reads_ == nullptr) {
    reactor->Finish(respond(index::ReadTier::kAny));
    return;
  }
  grpc::Status answer = respond(index::ReadTier::kMemoryOnly);
  if (!IsNeedsDiskRead(answer)) {
    reactor->Finish(std::move(answer));
    return;
  }
  answered_from_disk_->fetch_add(1, std::memory_order_relaxed);
  auto from_disk = std::make_shared<Responder>(std::move(respond));
  if (!disk_reads_->Submit([reactor, from_disk] { reactor->Finish((*from_disk)(index::ReadTier::kAny)); })) {
    // The pool is stopping (the service is being destroyed): answer here.
    reactor->Finish((*from_disk)(index::ReadTier::kAny));
  }
}

void QueryService::AnswerWhenConsistent(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                                        const hisbridge::v1::ReadConsistency& consistency, Responder respond) {
  if (consistency.after_size() == 0) {
    Answer(reactor, std::move(respond));
    return;
  }
  std::vector<hisbridge::v1::LogPosition> positions(consistency.after().begin(), consistency.after().end());
  // Give up a little before the caller does, so the caller gets this
  // replica's explanation rather than its own bare deadline error.
  const absl::Time now = absl::Now();
  const absl::Time call_deadline = CallDeadline(context);
  const absl::Duration margin =
      std::max(absl::ZeroDuration(), std::min(absl::Milliseconds(100), (call_deadline - now) / 10));
  const absl::Time deadline = std::min(call_deadline - margin, now + kMaxConsistencyWait);
  std::string wanted;
  for (const auto& p : positions) absl::StrAppend(&wanted, wanted.empty() ? "" : ", ", p.partition(), "@", p.offset());
  views_->WaitFor(std::move(positions), deadline,
                  [this, reactor, respond = std::move(respond), wanted](bool reached) mutable {
                    if (!reached) {
                      reactor->Finish(grpc::Status(
                          grpc::StatusCode::DEADLINE_EXCEEDED,
                          absl::StrCat("this replica does not yet reflect inbox position(s) ", wanted,
                                       "; retry, or allow a longer deadline")));
                      return;
                    }
                    Answer(reactor, std::move(respond));
                  });
}

namespace {

// Parses a raw request.
template <typename Message>
bool ParseRaw(const grpc::ByteBuffer* request, Message* out) {
  grpc::ByteBuffer copy(*request);  // shares the slices
  return grpc::SerializationTraits<Message>::Deserialize(&copy, out).ok();
}

// Hands `bytes` to gRPC without copying them again.
void SetRawResponse(std::string bytes, grpc::ByteBuffer* response) {
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
  grpc::ByteBuffer buffer(&slice, 1);
  response->Swap(&buffer);
}

constexpr int kMaxMergeHops = 16;

// The stored bytes of a patient, following merges to the survivor unless
// told not to, and without events when asked (the stored summary: a
// fraction of the view to read). `*survivor` (when not null) is set to the
// id of the patient returned.
grpc::Status LoadPatientBytes(const view::ViewStore& store, const std::string& patient_id, bool follow_merges,
                              bool omit_events, index::ReadTier tier, std::string* out,
                              std::string* survivor = nullptr) {
  std::string id = patient_id;
  for (int hops = 0; hops < kMaxMergeHops; ++hops) {
    auto bytes = omit_events ? store.GetPatientSummaryBytes(id, tier) : store.GetPatientBytes(id, tier);
    if (!bytes.ok()) return ToGrpc(bytes.status());
    if (!bytes->has_value()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          id == patient_id ? absl::StrCat("no patient ", id)
                                           : absl::StrCat("patient ", patient_id, " was merged into ", id,
                                                          ", which this replica does not have yet"));
    }
    auto header = view::ReadPatientHeader(**bytes);
    if (!header.ok()) return ToGrpc(header.status());
    if (follow_merges && header->status == hisbridge::v1::PATIENT_STATUS_MERGED && !header->merged_into.empty()) {
      id = header->merged_into;
      continue;
    }
    if (survivor != nullptr) *survivor = id;
    *out = std::move(**bytes);
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, absl::StrCat("merge chain of ", patient_id, " is too long"));
}

// The same as a parsed message.
grpc::Status LoadPatient(const view::ViewStore& store, const std::string& patient_id, bool follow_merges,
                         bool omit_events, index::ReadTier tier, Patient* out) {
  std::string bytes;
  grpc::Status s = LoadPatientBytes(store, patient_id, follow_merges, omit_events, tier, &bytes);
  if (!s.ok()) return s;
  if (!out->ParseFromString(bytes)) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS, absl::StrCat("corrupt view of patient ", patient_id));
  }
  return grpc::Status::OK;
}

bool IsCountyCode(absl::string_view s) {
  if (s.size() != 6) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Patient ids are "<region>-P<seq>"; the region is what precedes "-P".
std::string RegionOfPatient(absl::string_view patient_id) {
  const size_t dash = patient_id.rfind("-P");
  return dash == absl::string_view::npos ? "" : std::string(patient_id.substr(0, dash));
}

bool HasAnyDemographic(const hisbridge::v1::Demographics& d) {
  return !d.name().empty() || !d.id_number().empty() || !d.birth_date().empty() || !d.phone().empty() ||
         !d.insurance_id().empty() || !d.health_card_id().empty() || !d.address().empty() ||
         !d.address_code().empty();
}

}  // namespace

QueryService::QueryService(view::ViewMaterializer* views, const records::FacilityDirectory* facilities,
                           QueryServiceOptions options)
    : views_(views),
      facilities_(facilities),
      options_(std::move(options)),
      answered_from_disk_(options_.answered_from_disk != nullptr ? options_.answered_from_disk
                                                                   : std::make_shared<std::atomic<int64_t>>(0)) {
  if (options_.disk_read_threads > 0) {
    disk_reads_ = std::make_unique<BlockingWorkPool>(options_.disk_read_threads, "query-disk");
  }
}

QueryService::~QueryService() {
  Shutdown();
  // After the server: every call handed to the pool is answered first.
  if (disk_reads_ != nullptr) disk_reads_->Stop();
}

void QueryService::Shutdown() {
  stopping_ = true;
  std::unique_lock<std::mutex> lock(watchers_mu_);
  watchers_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return watchers_ == 0; });
}

void QueryService::WatcherDone() {
  std::lock_guard<std::mutex> lock(watchers_mu_);
  --watchers_;
  watchers_cv_.notify_all();
}

// --- GetPatient, LookupBySource ---

grpc::ServerUnaryReactor* QueryService::GetPatient(grpc::CallbackServerContext* context,
                                                   const grpc::ByteBuffer* raw_request, grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  security::Caller caller;
  if (grpc::Status refused = AdmitRead(options_.authorizer, context, "QueryService.GetPatient", &caller);
      !refused.ok()) {
    reactor->Finish(refused);
    return reactor;
  }
  hisbridge::v1::GetPatientRequest request;
  if (!ParseRaw(raw_request, &request)) {
    reactor->Finish(InvalidArgument("the request is not a GetPatientRequest"));
    return reactor;
  }
  if (request.patient_id().empty()) {
    reactor->Finish(InvalidArgument("patient_id is required"));
    return reactor;
  }
  const hisbridge::v1::ReadConsistency consistency = request.consistency();
  AnswerWhenConsistent(context, reactor, consistency,
                       [this, request = std::move(request), response, caller = std::move(caller)](index::ReadTier tier) {
    std::string bytes;
    grpc::Status s = LoadPatientBytes(views_->store(), request.patient_id(), !request.no_follow_merges(),
                                      request.omit_events(), tier, &bytes);
    if (s.ok()) s = ToGrpc(Audit(options_.authorizer, caller, "QueryService.GetPatient", {request.patient_id()}));
    if (s.ok()) SetRawResponse(std::move(bytes), response);
    return s;
  });
  return reactor;
}

grpc::ServerUnaryReactor* QueryService::LookupBySource(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* raw_request,
                                                       grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  security::Caller caller;
  if (grpc::Status refused = AdmitRead(options_.authorizer, context, "QueryService.LookupBySource", &caller);
      !refused.ok()) {
    reactor->Finish(refused);
    return reactor;
  }
  hisbridge::v1::LookupBySourceRequest request;
  if (!ParseRaw(raw_request, &request)) {
    reactor->Finish(InvalidArgument("the request is not a LookupBySourceRequest"));
    return reactor;
  }
  if (request.facility_id().empty() || request.record_id().empty()) {
    reactor->Finish(InvalidArgument(request.facility_id().empty() ? "facility_id is required"
                                                                  : "record_id is required"));
    return reactor;
  }
  const hisbridge::v1::ReadConsistency consistency = request.consistency();
  AnswerWhenConsistent(context, reactor, consistency,
                       [this, request = std::move(request), response, caller = std::move(caller)](index::ReadTier tier) {
    auto patient_id = views_->store().PatientIdOfSource(request.facility_id(), request.record_id(), tier);
    if (!patient_id.ok()) return ToGrpc(patient_id.status());
    if (!patient_id->has_value()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no live record ", request.record_id(),
                                                                    " of facility ", request.facility_id()));
    }
    std::string bytes;
    grpc::Status s = LoadPatientBytes(views_->store(), **patient_id, true, request.omit_events(), tier, &bytes);
    if (s.ok()) s = ToGrpc(Audit(options_.authorizer, caller, "QueryService.LookupBySource", {**patient_id}));
    if (s.ok()) SetRawResponse(std::move(bytes), response);
    return s;
  });
  return reactor;
}

// --- Match ---

grpc::ServerUnaryReactor* QueryService::Match(grpc::CallbackServerContext* context,
                                              const hisbridge::v1::MatchRequest* request,
                                              hisbridge::v1::MatchResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  security::Caller caller;
  if (grpc::Status refused = AdmitRead(options_.authorizer, context, "QueryService.Match", &caller); !refused.ok()) {
    reactor->Finish(refused);
    return reactor;
  }
  const hisbridge::v1::Demographics& d = request->demographics();
  if (!HasAnyDemographic(d)) {
    reactor->Finish(InvalidArgument(
        "demographics: give at least one of name, id_number, birth_date, phone, insurance_id, health_card_id, "
        "address or address_code"));
    return reactor;
  }
  if (request->limit() < 0 || request->limit() > kMaxMatchLimit) {
    reactor->Finish(InvalidArgument(absl::StrCat("limit: must be between 1 and ", kMaxMatchLimit, " (0 means ",
                                                 kDefaultMatchLimit, "), got ", request->limit())));
    return reactor;
  }
  if (!request->region().empty() && !IsCountyCode(request->region())) {
    reactor->Finish(InvalidArgument(
        absl::StrCat("region: \"", request->region(), "\" is not a 6-digit county code; leave it empty for all")));
    return reactor;
  }
  if (!d.birth_date().empty()) {
    const core::BirthDate date = core::ParseBirthDate(d.birth_date(), view::ChinaToday(absl::Now()));
    if (date.status == core::DateStatus::kBadFormat || date.status == core::DateStatus::kImpossible) {
      reactor->Finish(InvalidArgument(
          absl::StrCat("demographics.birth_date: ", core::DescribeBirthDateProblem(date, d.birth_date()))));
      return reactor;
    }
  }
  // The candidates are found once (memory only); only reading their
  // summaries may have to be done again where the disk may be waited for.
  auto candidates = std::make_shared<std::optional<std::vector<view::MatchedCandidate>>>();
  AnswerWhenConsistent(context, reactor, request->consistency(),
                       [this, request, response, caller, candidates](index::ReadTier tier) {
    if (!candidates->has_value()) *candidates = FindMatchCandidates(*request);
    grpc::Status s = LoadMatchCandidates(**candidates, tier, response);
    if (s.ok()) {
      std::vector<std::string> ids;
      for (const auto& c : response->candidates()) ids.push_back(c.patient().patient_id());
      s = ToGrpc(Audit(options_.authorizer, caller, "QueryService.Match", ids));
    }
    return s;
  });
  return reactor;
}

std::vector<view::MatchedCandidate> QueryService::FindMatchCandidates(
    const hisbridge::v1::MatchRequest& request) const {
  const view::MatchIndex& index = views_->store().match_index();
  const match::Matcher& matcher = index.matcher();
  match::MatchRecord query;
  match::PrepareOptions prepare;
  prepare.today = view::ChinaToday(absl::Now());
  prepare.county_hint = request.region();
  matcher.Prepare(view::RecordOfDemographics(request.demographics()), prepare, &query);

  view::MatchOptions options;
  options.region = request.region();
  options.limit = static_cast<size_t>(request.limit() == 0 ? kDefaultMatchLimit : request.limit());
  options.max_block_size = options_.max_block_size;
  options.possible_margin = options_.possible_margin;
  return index.Match(query, options);
}

grpc::Status QueryService::LoadMatchCandidates(const std::vector<view::MatchedCandidate>& candidates,
                                               index::ReadTier tier, hisbridge::v1::MatchResponse* response) const {
  response->Clear();  // an attempt that needed the disk may have filled part of it
  response->set_model_version(views_->store().match_index().matcher().version());
  for (const view::MatchedCandidate& c : candidates) {
    Patient patient;
    grpc::Status s = LoadPatient(views_->store(), c.patient_id, false, /*omit_events=*/true, tier, &patient);
    // The index and the store are updated by one writer in step; a patient
    // missing here was replaced between the two reads: skip it.
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
    if (!s.ok()) return s;
    auto* out = response->add_candidates();
    *out->mutable_patient() = std::move(patient);
    out->set_score(c.score);
    out->set_grade(c.grade);
    *out->mutable_explanation() = c.explanation;
  }
  return grpc::Status::OK;
}

// --- SearchPatients ---

grpc::ServerUnaryReactor* QueryService::SearchPatients(grpc::CallbackServerContext* context,
                                                       const hisbridge::v1::SearchPatientsRequest* request,
                                                       hisbridge::v1::SearchPatientsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  security::Caller caller;
  if (grpc::Status refused = AdmitRead(options_.authorizer, context, "QueryService.SearchPatients", &caller);
      !refused.ok()) {
    reactor->Finish(refused);
    return reactor;
  }
  if (request->page_size() < 0 || request->page_size() > kMaxPageSize) {
    reactor->Finish(InvalidArgument(absl::StrCat("page_size: must be between 1 and ", kMaxPageSize, " (0 means ",
                                                 kDefaultPageSize, "), got ", request->page_size())));
    return reactor;
  }
  auto plan = view::SearchPlan::Make(*request, view::ChinaToday(absl::Now()));
  if (!plan.ok()) {
    reactor->Finish(ToGrpc(plan.status()));
    return reactor;
  }
  std::string start_after;
  if (!request->page_token().empty()) {
    auto token = view::DecodePageToken(request->page_token(), plan->fingerprint());
    if (!token.ok()) {
      reactor->Finish(ToGrpc(token.status()));
      return reactor;
    }
    start_after = std::move(*token);
  }
  AnswerWhenConsistent(context, reactor, request->consistency(),
                       [this, plan = std::move(*plan), start_after = std::move(start_after), request, response,
                        caller](index::ReadTier tier) {
                     grpc::Status s = DoSearch(plan, start_after, *request, tier, response);
                     if (s.ok()) {
                       std::vector<std::string> ids;
                       for (const auto& p : response->patients()) ids.push_back(p.patient_id());
                       s = ToGrpc(Audit(options_.authorizer, caller, "QueryService.SearchPatients", ids));
                     }
                     return s;
                   });
  return reactor;
}

grpc::Status QueryService::DoSearch(const view::SearchPlan& plan, const std::string& start_after,
                                    const hisbridge::v1::SearchPatientsRequest& request, index::ReadTier tier,
                                    hisbridge::v1::SearchPatientsResponse* response) const {
  response->Clear();  // an attempt that needed the disk may have filled part of it
  const size_t page_size = static_cast<size_t>(request.page_size() == 0 ? kDefaultPageSize : request.page_size());
  const view::MatchIndex& index = views_->store().match_index();
  std::vector<std::string> ids;
  std::set<std::string> seen;
  std::string last_key;
  bool more = false;
  size_t scanned = 0;
  absl::Status scan = views_->store().ScanSearch(
      plan.prefix(), start_after, [&](absl::string_view key, absl::string_view patient_id) {
        if (scanned++ >= options_.max_search_scan) {
          more = true;  // answer with what there is; the token goes on from here
          return false;
        }
        const std::string id(patient_id);
        bool matches = false;
        if (!seen.count(id)) {
          index.ForPatient(id, [&](const view::PreparedPatient& p) { matches = plan.Matches(p); });
        }
        if (!matches) {
          last_key.assign(key.data(), key.size());
          return true;
        }
        if (ids.size() == page_size) {
          more = true;  // one more exists: the page is full
          return false;
        }
        seen.insert(id);
        ids.push_back(id);
        last_key.assign(key.data(), key.size());
        return true;
      },
      tier);
  if (!scan.ok()) return ToGrpc(scan);
  for (const std::string& id : ids) {
    Patient patient;
    grpc::Status s = LoadPatient(views_->store(), id, false, /*omit_events=*/true, tier, &patient);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) continue;
    if (!s.ok()) return s;
    *response->add_patients() = std::move(patient);
  }
  if (more) response->set_next_page_token(view::EncodePageToken(plan.fingerprint(), last_key));
  return grpc::Status::OK;
}

// --- GetIntegratedView ---

grpc::ServerUnaryReactor* QueryService::GetIntegratedView(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* raw_request,
                                                          grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  security::Caller caller;
  if (grpc::Status refused = AdmitRead(options_.authorizer, context, "QueryService.GetIntegratedView", &caller);
      !refused.ok()) {
    reactor->Finish(refused);
    return reactor;
  }
  hisbridge::v1::GetIntegratedViewRequest request;
  if (!ParseRaw(raw_request, &request)) {
    reactor->Finish(InvalidArgument("the request is not a GetIntegratedViewRequest"));
    return reactor;
  }
  if (request.patient_id().empty()) {
    reactor->Finish(InvalidArgument("patient_id is required"));
    return reactor;
  }
  auto filter = MakeTimelineFilter(request);
  if (!filter.ok()) {
    reactor->Finish(ToGrpc(filter.status()));
    return reactor;
  }
  const hisbridge::v1::ReadConsistency consistency = request.consistency();
  AnswerWhenConsistent(context, reactor, consistency,
                       [this, patient_id = request.patient_id(), response, filter = std::move(*filter),
                        caller = std::move(caller)](index::ReadTier tier) {
                     std::string bytes, survivor;
                     grpc::Status s = LoadPatientBytes(views_->store(), patient_id, /*follow_merges=*/true,
                                                       /*omit_events=*/false, tier, &bytes, &survivor);
                     if (!s.ok()) return s;
                     auto view = BuildIntegratedViewBytes(bytes, filter, *facilities_);
                     if (!view.ok()) return ToGrpc(view.status());
                     if (absl::Status a = Audit(options_.authorizer, caller, "QueryService.GetIntegratedView",
                                                {survivor});
                         !a.ok()) {
                       return ToGrpc(a);
                     }
                     SetRawResponse(std::move(*view), response);
                     return grpc::Status::OK;
                   });
  return reactor;
}

// --- WatchChanges ---

// One stream. Owned by gRPC until OnDone; alarm callbacks hold a reference
// too, so the reactor is deleted when the last of them lets go.
class QueryService::WatchReactor : public grpc::ServerWriteReactor<hisbridge::v1::ChangeEvent> {
 public:
  WatchReactor(QueryService* service, ChangePositions positions, std::string region, security::Caller caller)
      : service_(service), positions_(std::move(positions)), region_(std::move(region)), caller_(std::move(caller)) {}

  void Begin() { Next(); }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      FinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
    }
    Next();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (alarm_ != nullptr) alarm_->Cancel();  // its callback finishes the stream
    if (!writing_ && alarm_ == nullptr && !reading_from_disk_) FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    service_->WatcherDone();
    Unref();
  }

 private:
  static constexpr int kEventsPerFill = 256;
  static constexpr int kScanPerFill = 4096;

  void Ref() { refs_.fetch_add(1); }
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  void Next() {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || writing_) return;
    if (cancelled_) return FinishLocked(grpc::Status::CANCELLED);
    if (service_->stopping_) {
      return FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                       "the server is stopping; resume on another replica with your last cursor"));
    }
    if (reading_from_disk_) return;  // the disk-read thread goes on when it is done
    bool exhausted = true;
    bool needs_disk = false;
    BlockingWorkPool* disk_reads = service_->disk_reads_.get();
    const index::ReadTier tier = disk_reads != nullptr ? index::ReadTier::kMemoryOnly : index::ReadTier::kAny;
    for (int round = 0; round < 4 && queue_.empty() && !needs_disk; ++round) {
      absl::Status s = Fill(tier, &exhausted, &needs_disk);
      if (!s.ok()) return FinishLocked(ToGrpc(s));
      if (exhausted) break;
    }
    if (queue_.empty() && needs_disk) {
      // Older changes than memory holds: read them where waiting is allowed.
      service_->answered_from_disk_->fetch_add(1, std::memory_order_relaxed);
      reading_from_disk_ = true;
      Ref();
      if (disk_reads->Submit([this] { ReadFromDisk(); })) return;
      // Refused only while the service is destroyed: end as a stop does.
      reading_from_disk_ = false;
      Unref();
      return FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                       "the server is stopping; resume on another replica with your last cursor"));
    }
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      StartWrite(&current_);
      return;
    }
    // Nothing new yet: look again after the poll interval (at once when a
    // long run of filtered-out changes is still being skipped).
    const absl::Duration wait = exhausted ? service_->options_.watch_poll_interval : absl::ZeroDuration();
    Ref();
    alarm_ = new grpc::Alarm();
    grpc::Alarm* alarm = alarm_;
    alarm->Set(absl::ToChronoTime(absl::Now() + wait), [this, alarm](bool) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        alarm_ = nullptr;
      }
      Next();
      delete alarm;
      Unref();
    });
  }

  // On a disk-read thread: what Next could not read from memory.
  void ReadFromDisk() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_from_disk_ = false;
      if (!finished_ && !cancelled_) {
        bool exhausted = true, needs_disk = false;
        absl::Status s = Fill(index::ReadTier::kAny, &exhausted, &needs_disk);
        if (!s.ok()) FinishLocked(ToGrpc(s));
      }
    }
    Next();
    Unref();
  }

  // Reads the next changes from the store into queue_. With kMemoryOnly a
  // scan that would wait for the disk stops there and sets *needs_disk;
  // what it read before is queued (and recorded) all the same.
  absl::Status Fill(index::ReadTier tier, bool* exhausted, bool* needs_disk) {
    const int64_t generation = service_->views_->changes_generation();
    if (generation == seen_generation_ && caught_up_) {
      *exhausted = true;
      return absl::OkStatus();
    }
    const view::ViewStore& store = service_->views_->store();
    int events = 0, scanned = 0;
    bool budget_left = true;
    std::vector<std::string> streamed;  // patients whose changes go out: the access log records them
    hisbridge::v1::ChangeEvent event;
    absl::Status parse;
    const int partitions = std::max(service_->views_->changes_partitions(),
                                    positions_.empty() ? 0 : positions_.rbegin()->first + 1);
    for (int32_t p = 0; p < partitions && budget_left; ++p) {
      int64_t& next = positions_[p];
      absl::Status s = store.ScanChanges(p, next, [&](int64_t offset, absl::string_view value) {
        if (events >= kEventsPerFill || scanned >= kScanPerFill) {
          budget_left = false;
          return false;
        }
        ++scanned;
        next = offset + 1;
        if (!event.ParseFromArray(value.data(), static_cast<int>(value.size()))) return true;
        if (!region_.empty() && RegionOfPatient(event.patient_id()) != region_) return true;
        event.set_cursor(FormatChangeCursor(positions_));
        queue_.push_back(event);
        streamed.push_back(event.patient_id());
        ++events;
        return true;
      }, tier);
      if (index::IsNotInMemory(s)) {
        *needs_disk = true;
        budget_left = false;
        break;
      }
      if (!s.ok()) return s;
    }
    if (!streamed.empty()) {
      // Changes the log cannot record are not sent: the stream ends and the
      // client resumes from its last cursor.
      absl::Status audited = Audit(service_->options_.authorizer, caller_, "QueryService.WatchChanges", streamed);
      if (!audited.ok()) {
        return absl::Status(audited.code(),
                            absl::StrCat(audited.message(), "; resume WatchChanges with the last cursor received"));
      }
    }
    *exhausted = budget_left;
    // Commits that land while scanning bump the generation again, so
    // nothing is missed by remembering the value read before the scan.
    seen_generation_ = generation;
    caught_up_ = budget_left;
    return absl::OkStatus();
  }

  QueryService* service_;
  ChangePositions positions_;
  const std::string region_;
  const security::Caller caller_;
  std::atomic<int> refs_{1};

  std::mutex mu_;
  std::deque<hisbridge::v1::ChangeEvent> queue_;
  hisbridge::v1::ChangeEvent current_;
  grpc::Alarm* alarm_ = nullptr;
  bool writing_ = false;
  bool reading_from_disk_ = false;  // a disk-read thread holds a reference
  bool cancelled_ = false;
  bool finished_ = false;
  int64_t seen_generation_ = -1;
  bool caught_up_ = false;
};

grpc::ServerWriteReactor<hisbridge::v1::ChangeEvent>* QueryService::WatchChanges(
    grpc::CallbackServerContext* context, const hisbridge::v1::WatchChangesRequest* request) {
  class Refused : public grpc::ServerWriteReactor<hisbridge::v1::ChangeEvent> {
   public:
    explicit Refused(grpc::Status status) { Finish(std::move(status)); }
    void OnDone() override { delete this; }
  };
  security::Caller caller;
  if (grpc::Status refused = AdmitRead(options_.authorizer, context, "QueryService.WatchChanges", &caller);
      !refused.ok()) {
    return new Refused(refused);
  }
  if (stopping_) {
    return new Refused(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is stopping; use another replica"));
  }
  const std::string& cursor = request->cursor();
  const std::map<int32_t, view::ChangeRange> ranges = views_->store().ChangeRanges();
  ChangePositions positions;
  if (cursor == "now") {
    for (const auto& [p, range] : ranges) positions[p] = range.next;
  } else {
    for (const auto& [p, range] : ranges) positions[p] = range.first;
    if (!cursor.empty()) {
      auto parsed = ParseChangeCursor(cursor);
      if (!parsed.ok()) return new Refused(ToGrpc(parsed.status()));
      const int known = views_->changes_partitions();
      for (const auto& [p, offset] : *parsed) {
        if (known > 0 && p >= known) {
          return new Refused(InvalidArgument(absl::StrCat("cursor: partition ", p, " does not exist; the changes "
                                                          "topic has ", known, " partition(s)")));
        }
        auto range = ranges.find(p);
        if (range != ranges.end() && offset < range->second.first) {
          return new Refused(grpc::Status(
              grpc::StatusCode::OUT_OF_RANGE,
              absl::StrCat("cursor: changes before offset ", range->second.first, " of partition ", p,
                           " are no longer kept (the cursor asks for ", offset,
                           "); start again from \"\" (the oldest kept) and reconcile with GetPatient")));
        }
        positions[p] = offset;
      }
    }
  }
  {
    std::lock_guard<std::mutex> lock(watchers_mu_);
    ++watchers_;
  }
  auto* reactor = new WatchReactor(this, std::move(positions), request->region(), std::move(caller));
  reactor->Begin();
  return reactor;
}

}  // namespace hisbridge::query
