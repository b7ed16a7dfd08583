// The patient audit trail end to end, in one process on the development
// broker: records and a steward merge go through ingest and the linker,
// then AdminService.GetPatientHistory (and `hisbridge history`) show the
// automatic decisions with model version, score and explanation and the
// steward's action with actor and reason; the read lands in the access log.
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/admin.grpc.pb.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "hisbridge/v1/review.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/security/dev_certs.h"
#include "libs/security/key_ring.h"
#include "libs/security/tls.h"
#include "services/node/node.h"
#include "tests/node_fixture.h"

namespace hisbridge {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kActor[] = "steward-wang";
constexpr char kReason[] = "同一人：电话核实 (confirmed by phone)";

hisbridge::v1::Record Patient(const std::string& facility, const std::string& record, const std::string& name,
                              const std::string& id, const std::string& birth_date) {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_facility_id(facility);
  r.set_record_id(record);
  r.set_name(name);
  r.set_birth_date(birth_date);
  r.set_id_number(id);
  r.set_event_time("2026-03-01T08:00:00+08:00");
  return r;
}

using fixtures::In;

int RunCommand(const std::string& command, std::string* out) {
  FILE* pipe = ::popen(absl::StrCat(command, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) text.append(buffer, n);
  const int status = ::pclose(pipe);
  *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The entries of `history` with this action (and record, when given).
std::vector<hisbridge::v1::HistoryEntry> Find(const hisbridge::v1::PatientHistory& history, const std::string& action,
                                              const std::string& record_id = "") {
  std::vector<hisbridge::v1::HistoryEntry> found;
  for (const auto& e : history.entries()) {
    if (e.action() == action && (record_id.empty() || e.record_id() == record_id)) found.push_back(e);
  }
  return found;
}

class HistoryTest : public fixtures::PlaintextNodeTest {
 protected:
  HistoryTest() : PlaintextNodeTest("history_test") {}

  void Merge(const std::string& into, const std::string& from) {
    hisbridge::v1::MergePatientsRequest merge;
    merge.set_into_patient_id(into);
    merge.set_from_patient_id(from);
    merge.mutable_context()->set_actor(kActor);
    merge.mutable_context()->set_reason(kReason);
    merge.mutable_context()->set_wait_until_applied(true);
    grpc::ClientContext context;
    context.set_deadline(In(30));
    hisbridge::v1::CommandAck ack;
    grpc::Status status = review_->MergePatients(&context, merge, &ack);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_TRUE(ack.applied()) << ack.result();
  }

  grpc::Status History(const std::string& patient_id, hisbridge::v1::PatientHistory* history) {
    grpc::ClientContext context;
    context.set_deadline(In(10));
    hisbridge::v1::GetPatientHistoryRequest request;
    request.set_patient_id(patient_id);
    return admin_->GetPatientHistory(&context, request, history);
  }

  // a: two records of one person (the second linked automatically by its
  // resident id); b: another record, merged into a by a steward.
  void LinkAndMerge() {
    const auto first = Submit({Patient("450321-WS-001", "A1", "覃秀娟", "450321198503021232", "1985-03-02"),
                               Patient("450321-CS-011", "B1", "韦丽萍", "450321199001011234", "1990-01-01")});
    a_ = PatientOf("450321-WS-001", "A1", &first);
    b_ = PatientOf("450321-CS-011", "B1", &first);
    ASSERT_NE(a_, b_);
    const auto second = Submit({Patient("450321-WS-002", "A2", "覃秀娟", "450321198503021232", "1985-03-02")});
    ASSERT_EQ(PatientOf("450321-WS-002", "A2", &second), a_);
    Merge(a_, b_);
  }

  std::string a_, b_;
};

TEST_F(HistoryTest, AutomaticDecisionsAndStewardMergeAreInTheHistory) {
  ASSERT_NO_FATAL_FAILURE(LinkAndMerge());
  hisbridge::v1::PatientHistory history;
  grpc::Status status = History(a_, &history);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(history.patient_id(), a_);

  ASSERT_FALSE(Find(history, "created", "A1").empty());
  const auto created = Find(history, "created", "A1").front();
  EXPECT_EQ(created.facility_id(), "450321-WS-001");
  EXPECT_FALSE(created.time().empty());
  EXPECT_EQ(created.cause().topic(), "hisbridge.inbox");

  // The automatic link: model version, score and explanation, no steward.
  ASSERT_EQ(Find(history, "linked", "A2").size(), 1u);
  const auto linked = Find(history, "linked", "A2").front();
  EXPECT_FALSE(linked.model_version().empty());
  EXPECT_GT(linked.score(), 0);
  EXPECT_GT(linked.explanation().fields_size(), 0);
  EXPECT_TRUE(linked.actor().empty());
  EXPECT_TRUE(linked.reason().empty());

  // The steward's merge: who and why, naming the merged-away patient; the
  // record it brought is linked under the same command.
  ASSERT_EQ(Find(history, "merged").size(), 1u);
  const auto merged = Find(history, "merged").front();
  EXPECT_EQ(merged.other_patient_id(), b_);
  EXPECT_EQ(merged.actor(), kActor);
  EXPECT_EQ(merged.reason(), kReason);
  ASSERT_EQ(Find(history, "linked", "B1").size(), 1u);
  EXPECT_EQ(Find(history, "linked", "B1").front().actor(), kActor);
  EXPECT_EQ(Find(history, "linked", "B1").front().other_patient_id(), b_);

  // Oldest first: the merge is the last thing that happened to a.
  EXPECT_EQ(history.entries(history.entries_size() - 1).action(), "merged");

  // The merged-away patient keeps its own history under its own id.
  hisbridge::v1::PatientHistory merged_away;
  status = History(b_, &merged_away);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Find(merged_away, "created", "B1").size(), 1u);
  ASSERT_EQ(Find(merged_away, "unlinked", "B1").size(), 1u);
  EXPECT_EQ(Find(merged_away, "unlinked", "B1").front().other_patient_id(), a_);
  ASSERT_EQ(Find(merged_away, "merged").size(), 1u);
  EXPECT_EQ(Find(merged_away, "merged").front().other_patient_id(), a_);
  EXPECT_EQ(Find(merged_away, "merged").front().actor(), kActor);
  EXPECT_TRUE(Find(merged_away, "linked", "A2").empty());

  // Both reads are in the access log, as reads of those patients.
  hisbridge::v1::ListAccessLogRequest request;
  request.set_patient_id(a_);
  hisbridge::v1::ListAccessLogResponse log;
  grpc::ClientContext context;
  context.set_deadline(In(10));
  status = admin_->ListAccessLog(&context, request, &log);
  ASSERT_TRUE(status.ok()) << status.error_message();
  int history_reads = 0;
  for (const auto& entry : log.entries()) {
    if (entry.method() == "AdminService.GetPatientHistory") {
      ++history_reads;
      EXPECT_TRUE(entry.allowed());
      EXPECT_EQ(entry.who(), "anonymous");
    }
  }
  EXPECT_EQ(history_reads, 1);
}

TEST_F(HistoryTest, UnknownPatientIsNotFoundAndBadIdIsInvalid) {
  const auto submitted = Submit({Patient("450321-WS-001", "A1", "覃秀娟", "450321198503021232", "1985-03-02")});
  const std::string a = PatientOf("450321-WS-001", "A1", &submitted);
  hisbridge::v1::PatientHistory history;
  grpc::Status status = History("450321-P9999999", &history);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("450321-P9999999"));
  status = History("450399-P0000001", &history);  // a county this linker does not link
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("region 450399"));
  for (const std::string bad : {"", "450321", "450321-Pabc", "覃秀娟"}) {
    status = History(bad, &history);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad << ": " << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("patient_id")) << bad;
  }
  // Refused and unknown reads returned no patient data: not logged as reads.
  hisbridge::v1::ListAccessLogRequest request;
  hisbridge::v1::ListAccessLogResponse log;
  grpc::ClientContext context;
  context.set_deadline(In(10));
  ASSERT_TRUE(admin_->ListAccessLog(&context, request, &log).ok());
  for (const auto& entry : log.entries()) EXPECT_NE(entry.method(), "AdminService.GetPatientHistory");
  // The known patient is still there.
  status = History(a, &history);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(HistoryTest, ProcessWithoutTheLinkerRoleSaysWhoToAsk) {
  NodeOptions options;
  options.data_dir = dir_ + "/ingest-only";
  options.roles = {Role::kIngest};
  options.kafka.bootstrap = node_->kafka_bootstrap();
  Node ingest_only(options);
  ASSERT_TRUE(ingest_only.Start().ok());
  auto admin = hisbridge::v1::AdminService::NewStub(
      grpc::CreateChannel(ingest_only.grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(In(10));
  hisbridge::v1::GetPatientHistoryRequest request;
  request.set_patient_id("450321-P0000001");
  hisbridge::v1::PatientHistory history;
  const grpc::Status status = admin->GetPatientHistory(&context, request, &history);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), AllOf(HasSubstr("linker"), HasSubstr("hisbridge history --data-dir")));
  ingest_only.Stop();
}

TEST_F(HistoryTest, CommandPrintsTheHistoryFromTheServiceAndTheDataDirectory) {
  ASSERT_NO_FATAL_FAILURE(LinkAndMerge());
  std::string out;
  ASSERT_EQ(RunCommand(absl::StrCat(HISBRIDGE_BINARY, " history --patient ", a_, " --target ", node_->grpc_address(),
                                    " --timeout 10s"),
                       &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr(absl::StrCat("patient ", a_, ":")));
  EXPECT_THAT(out, HasSubstr("450321-WS-002/A2"));
  EXPECT_THAT(out, HasSubstr("linker, score "));
  EXPECT_THAT(out, HasSubstr("why: "));
  EXPECT_THAT(out, HasSubstr("resident_id exact "));
  EXPECT_THAT(out, HasSubstr(absl::StrCat("steward ", kActor, ": ", kReason)));
  // The table leaves the compared values (names, ids) out.
  EXPECT_THAT(out, Not(HasSubstr("覃秀娟")));

  // From the data directory beside the running linker: the same entries.
  std::string from_disk;
  ASSERT_EQ(RunCommand(absl::StrCat(HISBRIDGE_BINARY, " history --format=json --patient ", a_, " --data-dir ", dir_,
                                    "/node"),
                       &from_disk),
            0)
      << from_disk;
  EXPECT_THAT(from_disk, HasSubstr("\"action\": \"merged\""));
  EXPECT_THAT(from_disk, HasSubstr(absl::StrCat("\"other_patient_id\": \"", b_, "\"")));
  EXPECT_THAT(from_disk, HasSubstr("\"model_version\""));
  EXPECT_THAT(from_disk, HasSubstr(absl::StrCat("\"actor\": \"", kActor, "\"")));

  EXPECT_EQ(RunCommand(absl::StrCat(HISBRIDGE_BINARY, " history --patient 450321-P9999999 --data-dir ", dir_, "/node"),
                       &out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("no patient 450321-P9999999"));
  EXPECT_EQ(RunCommand(absl::StrCat(HISBRIDGE_BINARY, " history --patient nope --data-dir ", dir_), &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("--patient"));
  EXPECT_EQ(RunCommand(absl::StrCat(HISBRIDGE_BINARY, " history --patient ", a_), &out), 2) << out;
  EXPECT_THAT(out, HasSubstr("exactly one of --target and --data-dir"));
}

// With mutual TLS, a policy and at-rest encryption: only an admin reads a
// history, the read is logged under the admin's identity, and the sealed
// index is read with the deployment's keys.
class SecureHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kWarning);
    dir_ = MakeTempDirectory("history_tls_test").value();
    certs_ = dir_ + "/certs";
    security::DevCertOptions certs;
    certs.out_dir = certs_;
    certs.facilities = {"450321-WS-001"};
    ASSERT_TRUE(security::WriteDevCertificates(certs).ok());
    ASSERT_TRUE(security::KeyRing::Generate().Save(certs_ + "/keys.conf").ok());
    NodeOptions options;
    options.data_dir = dir_ + "/node";
    options.embedded_broker = true;
    options.linker_group = absl::StrCat("history-tls-linker-", getpid());
    options.tls = {certs_ + "/server.crt", certs_ + "/server.key", certs_ + "/ca.crt"};
    options.policy_file = certs_ + "/policy.txt";
    options.keys_file = certs_ + "/keys.conf";
    node_ = std::make_unique<Node>(options);
    absl::Status started = node_->Start();
    ASSERT_TRUE(started.ok()) << started;
  }
  void TearDown() override {
    node_->Stop();
    node_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }

  std::shared_ptr<grpc::Channel> ChannelAs(const std::string& name) {
    security::TlsFiles files;
    files.ca = certs_ + "/ca.crt";
    files.cert = absl::StrCat(certs_, "/", name, ".crt");
    files.key = absl::StrCat(certs_, "/", name, ".key");
    auto credentials = security::GrpcClientCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return grpc::CreateChannel(node_->grpc_address(), *credentials);
  }

  grpc::Status History(const std::string& who, const std::string& patient_id, hisbridge::v1::PatientHistory* out) {
    auto stub = hisbridge::v1::AdminService::NewStub(ChannelAs(who));
    grpc::ClientContext context;
    context.set_deadline(In(10));
    hisbridge::v1::GetPatientHistoryRequest request;
    request.set_patient_id(patient_id);
    return stub->GetPatientHistory(&context, request, out);
  }

  std::string dir_;
  std::string certs_;
  std::unique_ptr<Node> node_;
};

TEST_F(SecureHistoryTest, OnlyAnAdminReadsItAndTheReadIsLoggedUnderItsIdentity) {
  // A clinic submits; a steward's consistent lookup waits until linked.
  hisbridge::v1::SubmitRequest submit;
  *submit.add_records() = Patient("450321-WS-001", "A1", "覃秀娟", "450321198503021232", "1985-03-02");
  hisbridge::v1::SubmitResponse submitted;
  {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    grpc::Status status =
        hisbridge::v1::IngestService::NewStub(ChannelAs("clinic-450321-WS-001"))->Submit(&context, submit, &submitted);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  hisbridge::v1::Patient patient;
  {
    grpc::ClientContext context;
    context.set_deadline(In(30));
    hisbridge::v1::LookupBySourceRequest request;
    request.set_facility_id("450321-WS-001");
    request.set_record_id("A1");
    *request.mutable_consistency()->mutable_after() = submitted.positions();
    auto query = hisbridge::v1::QueryService::NewStub(ChannelAs("steward"));
    grpc::Status status = query->LookupBySource(&context, request, &patient);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const std::string id = patient.patient_id();

  hisbridge::v1::PatientHistory history;
  for (const std::string who : {"reader", "steward", "clinic-450321-WS-001"}) {
    grpc::Status status = History(who, id, &history);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who << ": " << status.error_message();
  }
  grpc::Status status = History("admin", id, &history);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(Find(history, "created", "A1").empty());

  hisbridge::v1::ListAccessLogRequest request;
  request.set_patient_id(id);
  hisbridge::v1::ListAccessLogResponse log;
  {
    grpc::ClientContext context;
    context.set_deadline(In(10));
    status = hisbridge::v1::AdminService::NewStub(ChannelAs("admin"))->ListAccessLog(&context, request, &log);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  int history_reads = 0;
  for (const auto& entry : log.entries()) {
    if (entry.method() != "AdminService.GetPatientHistory") continue;
    ++history_reads;
    EXPECT_EQ(entry.role(), "admin");
    EXPECT_THAT(entry.who(), HasSubstr("admin"));
  }
  EXPECT_EQ(history_reads, 1);

  // The command, over mutual TLS and from the sealed data directory.
  std::string out;
  ASSERT_EQ(RunCommand(absl::StrCat(HISBRIDGE_BINARY, " history --patient ", id, " --target ", node_->grpc_address(),
                                    " --tls-ca ", certs_, "/ca.crt --tls-cert ", certs_, "/admin.crt --tls-key ",
                                    certs_, "/admin.key"),
                       &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("450321-WS-001/A1"));
  ASSERT_EQ(RunCommand(absl::StrCat(HISBRIDGE_BINARY, " history --patient ", id, " --data-dir ", dir_, "/node --keys ",
                                    certs_, "/keys.conf"),
                       &out),
            0)
      << out;
  EXPECT_THAT(out, HasSubstr("450321-WS-001/A1"));
  EXPECT_EQ(RunCommand(absl::StrCat(HISBRIDGE_BINARY, " history --patient ", id, " --data-dir ", dir_, "/node"), &out),
            1)
      << out;
  EXPECT_THAT(out, HasSubstr("--keys"));
}

}  // namespace
}  // namespace hisbridge
