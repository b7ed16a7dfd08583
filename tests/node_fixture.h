// A test fixture for integration tests against one in-process Node with
// every role on the embedded development broker, plaintext gRPC: the node
// in a temporary directory, stubs of every service on one channel, and
// the calls most tests make (submit records, find a record's patient, get
// a patient), each with a deadline.
//
// Header-only, for tests/ only. A fixture per test: SetUp starts a fresh
// node (its own directory and linker group), TearDown stops it.
#ifndef HISBRIDGE_TESTS_NODE_FIXTURE_H_
#define HISBRIDGE_TESTS_NODE_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/admin.grpc.pb.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "hisbridge/v1/review.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "services/node/node.h"

namespace hisbridge::fixtures {

// A deadline `seconds` from now.
inline std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

class PlaintextNodeTest : public ::testing::Test {
 protected:
  // `name` names the temporary directory and the linker's consumer group.
  explicit PlaintextNodeTest(std::string name) : name_(std::move(name)) {}

  void SetUp() override {
    log::SetLevel(log::Level::kWarning);
    dir_ = MakeTempDirectory(name_).value();
    NodeOptions options;
    options.data_dir = dir_ + "/node";
    options.embedded_broker = true;
    options.linker_group = absl::StrCat(name_, "-linker-", getpid());
    node_ = std::make_unique<Node>(options);
    ASSERT_TRUE(node_->Start().ok());
    channel_ = grpc::CreateChannel(node_->grpc_address(), grpc::InsecureChannelCredentials());
    ingest_ = hisbridge::v1::IngestService::NewStub(channel_);
    query_ = hisbridge::v1::QueryService::NewStub(channel_);
    review_ = hisbridge::v1::ReviewService::NewStub(channel_);
    admin_ = hisbridge::v1::AdminService::NewStub(channel_);
  }
  void TearDown() override {
    if (node_ != nullptr) node_->Stop();
    node_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }

  hisbridge::v1::SubmitResponse Submit(std::initializer_list<hisbridge::v1::Record> records) {
    hisbridge::v1::SubmitRequest request;
    for (const auto& r : records) *request.add_records() = r;
    grpc::ClientContext context;
    context.set_deadline(In(30));
    hisbridge::v1::SubmitResponse response;
    grpc::Status status = ingest_->Submit(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The unified patient of a source record; with `after`, once the views
  // reflect that Submit (read-your-writes).
  std::string PatientOf(const std::string& facility, const std::string& record,
                        const hisbridge::v1::SubmitResponse* after = nullptr) {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    hisbridge::v1::LookupBySourceRequest request;
    request.set_facility_id(facility);
    request.set_record_id(record);
    if (after != nullptr) *request.mutable_consistency()->mutable_after() = after->positions();
    hisbridge::v1::Patient patient;
    grpc::Status status = query_->LookupBySource(&context, request, &patient);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return patient.patient_id();
  }

  hisbridge::v1::Patient Get(const std::string& patient_id, bool follow_merges = true) {
    grpc::ClientContext context;
    context.set_deadline(In(10));
    hisbridge::v1::GetPatientRequest request;
    request.set_patient_id(patient_id);
    request.set_no_follow_merges(!follow_merges);
    hisbridge::v1::Patient patient;
    grpc::Status status = query_->GetPatient(&context, request, &patient);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return patient;
  }

  const std::string name_;
  std::string dir_;
  std::unique_ptr<Node> node_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hisbridge::v1::IngestService::Stub> ingest_;
  std::unique_ptr<hisbridge::v1::QueryService::Stub> query_;
  std::unique_ptr<hisbridge::v1::ReviewService::Stub> review_;
  std::unique_ptr<hisbridge::v1::AdminService::Stub> admin_;
};

}  // namespace hisbridge::fixtures

#endif  // HISBRIDGE_TESTS_NODE_FIXTURE_H_
