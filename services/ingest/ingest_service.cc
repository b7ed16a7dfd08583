#include "services/ingest/ingest_service.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace hisbridge::ingest {
namespace {

hisbridge::v1::IngestMeta MetaFor(grpc::CallbackServerContext* context, const security::Caller* caller) {
  hisbridge::v1::IngestMeta meta;
  meta.set_channel("grpc");
  // The certificate identity (mutual TLS); "anonymous" in plaintext mode.
  meta.set_submitter(caller != nullptr ? caller->identity : "anonymous");
  const auto& metadata = context->client_metadata();
  auto channel = metadata.find("x-hisbridge-channel");
  if (channel != metadata.end()) meta.set_channel(std::string(channel->second.data(), channel->second.size()));
  return meta;
}

// The caller, or the refusal to finish the call with. Without an
// authorizer every caller is anonymous and allowed.
absl::StatusOr<std::optional<security::Caller>> Admit(const security::Authorizer* authorizer,
                                                      grpc::CallbackServerContext* context, const char* method) {
  if (authorizer == nullptr) return std::optional<security::Caller>();
  auto caller = authorizer->Authorize(*context, security::Permission::kSubmit, method);
  if (!caller.ok()) return caller.status();
  return std::optional<security::Caller>(std::move(*caller));
}

FacilityCheck CheckFor(const security::Authorizer* authorizer, const std::optional<security::Caller>& caller) {
  if (authorizer == nullptr || !caller.has_value() || caller->plaintext) return nullptr;
  return [authorizer, caller = *caller](const std::string& facility_id) {
    return authorizer->FacilityRefusal(caller, facility_id);
  };
}

grpc::Status CheckSize(const hisbridge::v1::SubmitRequest& request) {
  if (request.records_size() > 0 && request.json_lines_size() > 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "a SubmitRequest carries either records or json_lines, not both");
  }
  const int count = request.records_size() + request.json_lines_size();
  if (count > kMaxRecordsPerSubmit) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        absl::StrCat("records: at most ", kMaxRecordsPerSubmit, " per Submit call, got ", count,
                                     "; split the batch or use Stream"));
  }
  return grpc::Status::OK;
}

class StreamReactor : public grpc::ServerReadReactor<hisbridge::v1::SubmitRequest> {
 public:
  StreamReactor(Ingestor* ingestor, const security::Authorizer* authorizer, grpc::CallbackServerContext* context,
                hisbridge::v1::SubmitResponse* response)
      : response_(response) {
    auto caller = Admit(authorizer, context, "IngestService.Stream");
    if (!caller.ok()) {
      Finish(security::ToGrpcStatus(caller.status()));
      return;
    }
    pending_ = ingestor->Begin(
        MetaFor(context, caller->has_value() ? &**caller : nullptr),
        [this](hisbridge::v1::SubmitResponse r) {
          *response_ = std::move(r);
          Finish(grpc::Status::OK);
        },
        CheckFor(authorizer, *caller));
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or went away): answer once every record
      // already read is settled.
      pending_->Close();
      return;
    }
    // gRPC's message size limit bounds each chunk; records and lines in one
    // chunk are simply answered in that order.
    pending_->Add(chunk_);
    chunk_.Clear();
    StartRead(&chunk_);
  }

  void OnDone() override { delete this; }

 private:
  hisbridge::v1::SubmitResponse* response_;
  hisbridge::v1::SubmitRequest chunk_;
  std::shared_ptr<PendingResponse> pending_;
};

}  // namespace

grpc::ServerUnaryReactor* IngestService::Submit(grpc::CallbackServerContext* context,
                                                const hisbridge::v1::SubmitRequest* request,
                                                hisbridge::v1::SubmitResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status size = CheckSize(*request);
  if (!size.ok()) {
    reactor->Finish(size);
    return reactor;
  }
  auto caller = Admit(authorizer_, context, "IngestService.Submit");
  if (!caller.ok()) {
    reactor->Finish(security::ToGrpcStatus(caller.status()));
    return reactor;
  }
  auto pending = ingestor_->Begin(
      MetaFor(context, caller->has_value() ? &**caller : nullptr),
      [reactor, response](hisbridge::v1::SubmitResponse r) {
        *response = std::move(r);
        reactor->Finish(grpc::Status::OK);
      },
      CheckFor(authorizer_, *caller));
  pending->Add(*request);
  pending->Close();
  return reactor;
}

grpc::ServerReadReactor<hisbridge::v1::SubmitRequest>* IngestService::Stream(grpc::CallbackServerContext* context,
                                                                            hisbridge::v1::SubmitResponse* response) {
  return new StreamReactor(ingestor_, authorizer_, context, response);
}

}  // namespace hisbridge::ingest
