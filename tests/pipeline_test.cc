// The whole pipeline in one process on the development broker:
// gRPC ingest -> inbox -> linker -> RocksDB index -> views -> query.
#include <grpcpp/grpcpp.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/index/patient_index.h"
#include "libs/kafka/dev_broker.h"
#include "libs/linker/index_dump.h"
#include "libs/linker/streaming_linker.h"
#include "libs/view/view_materializer.h"
#include "services/node/node.h"

namespace hisbridge {
namespace {

using ::testing::HasSubstr;

std::string UniqueName(absl::string_view base) {
  static int counter = 0;
  return absl::StrCat(base, "-", getpid(), "-", counter++);
}

hisbridge::v1::Record Patient(const std::string& facility, const std::string& record, const std::string& name,
                              const std::string& id, const std::string& time = "2026-03-01T08:00:00+08:00") {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_facility_id(facility);
  r.set_record_id(record);
  r.set_name(name);
  r.set_id_number(id);
  r.set_event_time(time);
  return r;
}

class Client {
 public:
  explicit Client(const std::string& address)
      : channel_(grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        ingest_(hisbridge::v1::IngestService::NewStub(channel_)),
        query_(hisbridge::v1::QueryService::NewStub(channel_)) {}

  hisbridge::v1::SubmitResponse Submit(const hisbridge::v1::SubmitRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    hisbridge::v1::SubmitResponse response;
    grpc::Status status = ingest_->Submit(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status Lookup(const std::string& facility, const std::string& record,
                      const hisbridge::v1::SubmitResponse* after, hisbridge::v1::Patient* patient,
                      std::chrono::seconds deadline = std::chrono::seconds(30)) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    hisbridge::v1::LookupBySourceRequest request;
    request.set_facility_id(facility);
    request.set_record_id(record);
    if (after != nullptr) *request.mutable_consistency()->mutable_after() = after->positions();
    return query_->LookupBySource(&context, request, patient);
  }

  grpc::Status Get(const std::string& patient_id, hisbridge::v1::Patient* patient) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    hisbridge::v1::GetPatientRequest request;
    request.set_patient_id(patient_id);
    return query_->GetPatient(&context, request, patient);
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<hisbridge::v1::IngestService::Stub> ingest_;
  std::unique_ptr<hisbridge::v1::QueryService::Stub> query_;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kWarning);
    dir_ = MakeTempDirectory("pipeline_test").value();
  }
  void TearDown() override { ASSERT_TRUE(RemoveRecursively(dir_).ok()); }
  std::string dir_;
};

TEST_F(PipelineTest, SubmitLinkAndQueryEndToEnd) {
  NodeOptions options;
  options.data_dir = dir_ + "/node";
  options.embedded_broker = true;
  options.linker_group = UniqueName("linker");
  Node node(options);
  ASSERT_TRUE(node.Start().ok());
  Client client(node.grpc_address());

  hisbridge::v1::SubmitRequest request;
  *request.add_records() = Patient("450321-WS-001", "DA1", "王小明", "450321198503021232");
  *request.add_records() = Patient("450321-CS-011", "CS7", "王小明", "450321198503021232");
  *request.add_records() = Patient("450321-XY-001", "MZ3", "王小明", "450321850302123");  // 15-digit legacy id
  *request.add_records() = Patient("450321-WS-001", "DA2", "王小明", "450321198503021259");  // twin
  *request.add_records() = Patient("450321-WS-001", "", "缺档案号", "");  // rejected: no record_id
  hisbridge::v1::Record encounter;
  encounter.set_kind("encounter");
  encounter.set_facility_id("450321-CS-011");
  encounter.set_record_id("CS7");
  encounter.set_encounter_id("E1");
  encounter.set_event_time("2026-03-02T09:00:00+08:00");
  encounter.set_encounter_type("outpatient");
  *request.add_records() = encounter;
  hisbridge::v1::SubmitResponse response = client.Submit(request);
  ASSERT_EQ(response.results_size(), 6);
  EXPECT_EQ(response.accepted(), 5);
  EXPECT_EQ(response.rejected(), 1);
  EXPECT_EQ(response.results(4).outcome(), hisbridge::v1::RECORD_OUTCOME_REJECTED);
  EXPECT_EQ(response.results(4).errors(0).field(), "record_id");
  EXPECT_EQ(response.results(4).errors(0).rule(), "required");
  EXPECT_EQ(response.results(0).outcome(), hisbridge::v1::RECORD_OUTCOME_ACCEPTED);
  EXPECT_EQ(response.results(0).position().topic(), "hisbridge.inbox");
  ASSERT_EQ(response.positions_size(), 1);  // one county, one partition

  // Read-your-writes: the lookup waits until the view reflects the submit.
  hisbridge::v1::Patient a, b, c, twin;
  ASSERT_TRUE(client.Lookup("450321-WS-001", "DA1", &response, &a).ok());
  ASSERT_TRUE(client.Lookup("450321-CS-011", "CS7", nullptr, &b).ok());
  ASSERT_TRUE(client.Lookup("450321-XY-001", "MZ3", nullptr, &c).ok());
  ASSERT_TRUE(client.Lookup("450321-WS-001", "DA2", nullptr, &twin).ok());
  EXPECT_EQ(a.patient_id(), b.patient_id());
  EXPECT_EQ(a.patient_id(), c.patient_id());
  EXPECT_NE(a.patient_id(), twin.patient_id());
  EXPECT_EQ(a.patient_id(), "450321-P0000001");

  hisbridge::v1::Patient full;
  ASSERT_TRUE(client.Get(a.patient_id(), &full).ok());
  EXPECT_EQ(full.sources_size(), 3);
  EXPECT_EQ(full.demographics().id_number(), "450321198503021232");  // the valid 18-digit id survives
  ASSERT_EQ(full.events_size(), 1);
  EXPECT_EQ(full.events(0).event_id(), "E1");

  // Errors carry the right codes.
  hisbridge::v1::Patient missing;
  EXPECT_EQ(client.Lookup("450321-WS-001", "NOPE", nullptr, &missing).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(client.Lookup("", "X", nullptr, &missing).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(client.Get("450321-P9999999", &missing).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(node.Health().ok()) << node.Health();
}

TEST_F(PipelineTest, JsonLinesAreValidatedServerSideAndBadLinesKeepNeighbours) {
  NodeOptions options;
  options.data_dir = dir_ + "/node";
  options.embedded_broker = true;
  options.linker_group = UniqueName("linker");
  Node node(options);
  ASSERT_TRUE(node.Start().ok());
  Client client(node.grpc_address());
  hisbridge::v1::SubmitRequest request;
  request.set_first_line_number(10);
  request.add_json_lines(
      R"({"kind":"patient","facility_id":"450321-WS-003","record_id":"MZ00017","event_time":"2026-03-01T08:30:00+08:00","name":"王小明","sex":"1","birth_date":"1985-03-02","id_number":"450321198503021232","phone":"138-1234-5678"})");
  request.add_json_lines("{\"kind\":\"patient\",");
  request.add_json_lines(R"({"kind":"vaccination","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00+08:00"})");
  request.add_json_lines(
      R"({"kind":"patient","facility_id":"450321-WS-003","record_id":"MZ00018","event_time":"2026-03-01T08:30:00+08:00","nmae":"李四"})");
  hisbridge::v1::SubmitResponse response = client.Submit(request);
  ASSERT_EQ(response.results_size(), 4);
  EXPECT_EQ(response.accepted(), 2);
  EXPECT_EQ(response.results(1).reason(), hisbridge::v1::REJECT_REASON_MALFORMED);
  EXPECT_THAT(response.results(1).errors(0).message(), HasSubstr("line 11"));
  EXPECT_EQ(response.results(2).reason(), hisbridge::v1::REJECT_REASON_UNKNOWN_KIND);
  EXPECT_THAT(response.results(2).errors(0).message(), HasSubstr("line 12"));
  ASSERT_EQ(response.results(3).findings_size(), 1);
  EXPECT_EQ(response.results(3).findings(0).rule(), "unknown_field");
  hisbridge::v1::Patient p;
  EXPECT_TRUE(client.Lookup("450321-WS-003", "MZ00018", &response, &p).ok());
}

// Stops the linker in the middle of a stream and starts it again on the same
// directory; the index must equal that of an uninterrupted replay.
TEST_F(PipelineTest, LinkerRestartLosesNothingAndAppliesNothingTwice) {
  const kafka::TopicNames topics;
  auto broker = kafka::DevBroker::Start(
      {{topics.inbox, 2}, {topics.views, 3}, {topics.changes, 1}, {topics.rejects, 1}});
  ASSERT_TRUE(broker.ok());
  auto node_options = [&](std::set<Role> roles, const std::string& data, const std::string& group) {
    NodeOptions o;
    o.roles = std::move(roles);
    o.data_dir = data;
    o.kafka.bootstrap = (*broker)->bootstrap();
    o.linker_group = group;
    return o;
  };
  Node front(node_options({Role::kIngest, Role::kQuery}, dir_ + "/front", ""));
  ASSERT_TRUE(front.Start().ok());
  const std::string group = UniqueName("linker");
  auto linker = std::make_unique<Node>(node_options({Role::kLinker}, dir_ + "/linker", group));
  ASSERT_TRUE(linker->Start().ok());
  Client client(front.grpc_address());

  // 3 counties (two share an inbox partition), 40 people, 4 records each,
  // submitted in 8 batches; the linker is stopped after the 3rd batch and
  // restarted after the 6th.
  const std::vector<std::string> counties = {"450321", "450323", "450324"};
  std::vector<hisbridge::v1::SubmitResponse> responses;
  std::vector<std::pair<std::string, std::string>> submitted;
  for (int batch = 0; batch < 8; ++batch) {
    hisbridge::v1::SubmitRequest request;
    for (int i = 0; i < 20; ++i) {
      const int person = (batch * 20 + i) % 40;
      const std::string county = counties[person % 3];
      const std::string facility = absl::StrCat(county, "-WS-", batch % 4);
      const std::string record = absl::StrCat("R", batch, "-", i);
      std::string body = absl::StrCat(county, "19800101", absl::StrFormat("%03d", person));
      int sum = 0;
      const int w[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
      for (int k = 0; k < 17; ++k) sum += (body[k] - '0') * w[k];
      body.push_back("10X98765432"[sum % 11]);
      *request.add_records() = Patient(facility, record, absl::StrCat("患者", person), person % 5 == 0 ? "" : body,
                                       absl::StrCat("2026-03-0", 1 + batch, "T08:00:00+08:00"));
      submitted.emplace_back(facility, record);
    }
    responses.push_back(client.Submit(request));
    ASSERT_EQ(responses.back().accepted(), 20);
    if (batch == 2) {
      linker->Stop();
      linker.reset();
    }
    if (batch == 5) {
      linker = std::make_unique<Node>(node_options({Role::kLinker}, dir_ + "/linker", group));
      ASSERT_TRUE(linker->Start().ok());
    }
  }
  // Everything submitted is linked and visible.
  std::set<std::string> patients;
  for (const auto& [facility, record] : submitted) {
    hisbridge::v1::Patient p;
    grpc::Status s = client.Lookup(facility, record, &responses.back(), &p);
    ASSERT_TRUE(s.ok()) << facility << "/" << record << ": " << s.error_message();
    patients.insert(p.patient_id());
  }
  EXPECT_EQ(submitted.size(), 160u);
  // 40 people; the 8 without an id are new patients at every visit.
  EXPECT_EQ(patients.size(), 32u + 8u * 4u);
  std::map<int32_t, int64_t> committed = linker->linker()->CommittedOffsets();
  linker->Stop();
  linker.reset();

  // A fresh linker replays the whole inbox without interruption.
  Node replay(node_options({Role::kLinker}, dir_ + "/replay", UniqueName("replay")));
  ASSERT_TRUE(replay.Start().ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (replay.linker()->CommittedOffsets() != committed && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(replay.linker()->CommittedOffsets(), committed);
  replay.Stop();
  int64_t total = 0;
  for (const auto& [p, next] : committed) total += next;
  EXPECT_EQ(total, 160);

  auto restarted_index = index::PatientIndex::Open(dir_ + "/linker/linker");
  auto replayed_index = index::PatientIndex::Open(dir_ + "/replay/linker");
  ASSERT_TRUE(restarted_index.ok() && replayed_index.ok());
  auto restarted = linker::DumpIndex(**restarted_index);
  auto replayed = linker::DumpIndex(**replayed_index);
  ASSERT_TRUE(restarted.ok() && replayed.ok());
  EXPECT_EQ(*restarted, *replayed);
  EXPECT_THAT(*restarted, HasSubstr("patient 450321-P0000001"));
}

}  // namespace
}  // namespace hisbridge
