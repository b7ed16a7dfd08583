#include "connectors/fhir/patient_query.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "libs/security/policy.h"

namespace hisbridge::connectors::fhir {
namespace {

class GrpcPatientQuery : public PatientQuery {
 public:
  explicit GrpcPatientQuery(const GrpcQueryOptions& options) : options_(options) {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    channel_ = grpc::CreateCustomChannel(
        options.target, options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials(),
        args);
    stub_ = hisbridge::v1::QueryService::NewStub(channel_);
  }

  absl::StatusOr<hisbridge::v1::Patient> GetPatient(const std::string& patient_id,
                                                    const QueryContext& query) override {
    hisbridge::v1::GetPatientRequest request;
    request.set_patient_id(patient_id);
    request.set_no_follow_merges(true);
    request.set_omit_events(true);
    hisbridge::v1::Patient patient;
    grpc::ClientContext context;
    Prepare(query, &context);
    const grpc::Status status = stub_->GetPatient(&context, request, &patient);
    return Convert("GetPatient", status, std::move(patient));
  }

  absl::StatusOr<hisbridge::v1::Patient> LookupBySource(const std::string& facility_id, const std::string& record_id,
                                                        const QueryContext& query) override {
    hisbridge::v1::LookupBySourceRequest request;
    request.set_facility_id(facility_id);
    request.set_record_id(record_id);
    request.set_omit_events(true);
    hisbridge::v1::Patient patient;
    grpc::ClientContext context;
    Prepare(query, &context);
    const grpc::Status status = stub_->LookupBySource(&context, request, &patient);
    return Convert("LookupBySource", status, std::move(patient));
  }

  absl::StatusOr<hisbridge::v1::MatchResponse> Match(const hisbridge::v1::MatchRequest& request,
                                                     const QueryContext& query) override {
    hisbridge::v1::MatchResponse response;
    grpc::ClientContext context;
    Prepare(query, &context);
    const grpc::Status status = stub_->Match(&context, request, &response);
    return Convert("Match", status, std::move(response));
  }

 private:
  void Prepare(const QueryContext& query, grpc::ClientContext* context) const {
    context->set_deadline(absl::ToChronoTime(absl::Now() + options_.deadline));
    if (!query.purpose.empty()) context->AddMetadata(security::kPurposeHeader, query.purpose);
    if (!query.on_behalf_of.empty()) context->AddMetadata(security::kOnBehalfOfHeader, query.on_behalf_of);
  }

  // (The call is made before Convert: argument evaluation order would
  // otherwise let the move happen first.)
  template <typename T>
  absl::StatusOr<T> Convert(absl::string_view method, const grpc::Status& status, T value) const {
    if (status.ok()) return value;
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("QueryService.", method, " at ", options_.target, ": ", status.error_message()));
  }

  GrpcQueryOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hisbridge::v1::QueryService::Stub> stub_;
};

}  // namespace

std::unique_ptr<PatientQuery> NewGrpcPatientQuery(const GrpcQueryOptions& options) {
  return std::make_unique<GrpcPatientQuery>(options);
}

}  // namespace hisbridge::connectors::fhir
