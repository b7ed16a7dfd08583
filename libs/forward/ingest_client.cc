#include "libs/forward/ingest_client.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "hisbridge/v1/ingest.grpc.pb.h"

namespace hisbridge::forward {
namespace {

class GrpcIngestClient : public IngestClient {
 public:
  explicit GrpcIngestClient(const GrpcIngestOptions& options) : options_(options) {
    grpc::ChannelArguments args;
    const int max_backoff = static_cast<int>(absl::ToInt64Milliseconds(options.max_reconnect_backoff));
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, std::min(100, max_backoff));
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, std::min(100, max_backoff));
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff);
    args.SetMaxReceiveMessageSize(64 << 20);
    channel_ = grpc::CreateCustomChannel(
        options.target, options.credentials != nullptr ? options.credentials : grpc::InsecureChannelCredentials(), args);
    stub_ = hisbridge::v1::IngestService::NewStub(channel_);
  }

  absl::StatusOr<hisbridge::v1::SubmitResponse> Submit(const hisbridge::v1::SubmitRequest& request,
                                                       absl::Duration deadline) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    if (!options_.channel.empty()) context.AddMetadata("x-hisbridge-channel", options_.channel);
    hisbridge::v1::SubmitResponse response;
    grpc::Status status = stub_->Submit(&context, request, &response);
    if (!status.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          absl::StrCat("ingest at ", options_.target, ": ", status.error_message()));
    }
    return response;
  }

 private:
  GrpcIngestOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hisbridge::v1::IngestService::Stub> stub_;
};

}  // namespace

std::unique_ptr<IngestClient> NewGrpcIngestClient(const GrpcIngestOptions& options) {
  return std::make_unique<GrpcIngestClient>(options);
}

}  // namespace hisbridge::forward
