#include "services/query/query_service.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace hisbridge::query {
namespace {

grpc::Status ToGrpc(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

// Runs `respond` once the replica reflects `consistency`, or fails the call
// at its deadline.
void AfterConsistency(view::ViewMaterializer* views, grpc::CallbackServerContext* context,
                      grpc::ServerUnaryReactor* reactor, const hisbridge::v1::ReadConsistency& consistency,
                      std::function<grpc::Status()> respond) {
  if (consistency.after_size() == 0) {
    reactor->Finish(respond());
    return;
  }
  std::vector<hisbridge::v1::LogPosition> positions(consistency.after().begin(), consistency.after().end());
  const absl::Time deadline =
      std::min(absl::FromChrono(context->deadline()), absl::Now() + kMaxConsistencyWait);
  std::string wanted;
  for (const auto& p : positions) absl::StrAppend(&wanted, wanted.empty() ? "" : ", ", p.partition(), "@", p.offset());
  views->WaitFor(std::move(positions), deadline,
                 [reactor, respond = std::move(respond), wanted](bool reached) {
                   if (!reached) {
                     reactor->Finish(grpc::Status(
                         grpc::StatusCode::DEADLINE_EXCEEDED,
                         absl::StrCat("this replica does not yet reflect inbox position(s) ", wanted,
                                      "; retry, or allow a longer deadline")));
                     return;
                   }
                   reactor->Finish(respond());
                 });
}

// Loads a patient, following merges to the survivor unless told not to.
grpc::Status LoadPatient(const view::ViewStore& store, const std::string& patient_id, bool follow_merges,
                         bool omit_events, hisbridge::v1::Patient* out) {
  std::string id = patient_id;
  for (int hops = 0; hops < 16; ++hops) {
    auto patient = store.GetPatient(id);
    if (!patient.ok()) return ToGrpc(patient.status());
    if (!patient->has_value()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no patient ", id));
    }
    if (follow_merges && (*patient)->status() == hisbridge::v1::PATIENT_STATUS_MERGED &&
        !(*patient)->merged_into().empty()) {
      id = (*patient)->merged_into();
      continue;
    }
    *out = std::move(**patient);
    if (omit_events) out->clear_events();
    return grpc::Status::OK;
  }
  return grpc::Status(grpc::StatusCode::INTERNAL, absl::StrCat("merge chain of ", patient_id, " is too long"));
}

}  // namespace

grpc::ServerUnaryReactor* QueryService::GetPatient(grpc::CallbackServerContext* context,
                                                   const hisbridge::v1::GetPatientRequest* request,
                                                   hisbridge::v1::Patient* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->patient_id().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "patient_id is required"));
    return reactor;
  }
  AfterConsistency(views_, context, reactor, request->consistency(), [this, request, response] {
    return LoadPatient(views_->store(), request->patient_id(), !request->no_follow_merges(), request->omit_events(),
                       response);
  });
  return reactor;
}

grpc::ServerUnaryReactor* QueryService::LookupBySource(grpc::CallbackServerContext* context,
                                                       const hisbridge::v1::LookupBySourceRequest* request,
                                                       hisbridge::v1::Patient* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->facility_id().empty() || request->record_id().empty()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 request->facility_id().empty() ? "facility_id is required" : "record_id is required"));
    return reactor;
  }
  AfterConsistency(views_, context, reactor, request->consistency(), [this, request, response] {
    auto patient_id = views_->store().PatientIdOfSource(request->facility_id(), request->record_id());
    if (!patient_id.ok()) return ToGrpc(patient_id.status());
    if (!patient_id->has_value()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, absl::StrCat("no live record ", request->record_id(),
                                                                    " of facility ", request->facility_id()));
    }
    return LoadPatient(views_->store(), **patient_id, true, request->omit_events(), response);
  });
  return reactor;
}

}  // namespace hisbridge::query
