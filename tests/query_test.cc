// The query role over gRPC: every QueryService and ReviewService method
// against in-process Nodes on the development broker.
//
//   QueryEndToEndTest  all roles: records submitted over gRPC, linked by the
//                      streaming linker, then looked up, matched, searched
//                      (with paging), shown as one timeline and watched.
//   QueryReplicaTest   a query-only Node on a broker where the test plays
//                      the linker: it produces ViewMessages (patients,
//                      watermarks, review items, command results) and change
//                      events itself, consumes the steward commands the
//                      ReviewService puts on the inbox, and restarts or adds
//                      replicas to check that they catch up.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "hisbridge/v1/review.grpc.pb.h"
#include "hisbridge/v1/views.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/core/resident_id.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/dev_broker.h"
#include "libs/kafka/producer.h"
#include "libs/metrics/registry.h"
#include "libs/view/view_materializer.h"
#include "services/node/node.h"

namespace hisbridge {
namespace {

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string UniqueName(absl::string_view base) {
  static int counter = 0;
  return absl::StrCat(base, "-", getpid(), "-", counter++);
}

template <typename T>
void WithDeadline(grpc::ClientContext* context, T duration) {
  context->set_deadline(std::chrono::system_clock::now() + duration);
}

// --- records of the end-to-end county ---

constexpr char kVillage[] = "450321-CS-011";
constexpr char kTownship[] = "450321-WS-001";
constexpr char kHospital[] = "450321-XY-001";
constexpr char kQinId[] = "450321197206150025";
constexpr char kQinPhone[] = "13977318642";

hisbridge::v1::Record PatientRecord(const std::string& facility, const std::string& record, const std::string& name,
                                    const std::string& id, const std::string& birth, const std::string& time) {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_facility_id(facility);
  r.set_record_id(record);
  r.set_name(name);
  r.set_id_number(id);
  r.set_birth_date(birth);
  r.set_event_time(time);
  return r;
}

hisbridge::v1::Record Encounter(const std::string& facility, const std::string& record, const std::string& id,
                                const std::string& time, const std::string& type, const std::string& other = "") {
  hisbridge::v1::Record r;
  r.set_kind("encounter");
  r.set_facility_id(facility);
  r.set_record_id(record);
  r.set_encounter_id(id);
  r.set_event_time(time);
  r.set_encounter_type(type);
  if (type == "referral_out") r.set_referral_to(other);
  if (type == "referral_in") r.set_referral_from(other);
  auto* dx = r.add_diagnoses();
  dx->set_code("I10");
  dx->set_system("ICD-10");
  dx->set_display("原发性高血压");
  return r;
}

std::vector<hisbridge::v1::Record> CountyRecords() {
  std::vector<hisbridge::v1::Record> out;
  hisbridge::v1::Record qin = PatientRecord(kVillage, "CS-1", "覃秀娟", kQinId, "1972-06-15", "2026-03-01T08:00:00+08:00");
  qin.set_sex("2");
  qin.set_phone(kQinPhone);
  qin.set_address("广西阳朔县白沙镇遇龙村5组");
  out.push_back(qin);
  out.push_back(PatientRecord(kTownship, "WS-9", "覃秀娟", kQinId, "1972-06-15", "2026-03-02T10:00:00+08:00"));
  out.push_back(PatientRecord(kHospital, "ZY-3", "覃秀娟", "450321720615002", "", "2026-03-05T10:00:00+08:00"));
  out.push_back(Encounter(kVillage, "CS-1", "E1", "2026-03-01T08:10:00+08:00", "outpatient"));
  out.push_back(Encounter(kVillage, "CS-1", "E2", "2026-03-02T08:00:00+08:00", "referral_out", kTownship));
  out.push_back(Encounter(kTownship, "WS-9", "E3", "2026-03-02T10:10:00+08:00", "referral_in", kVillage));
  hisbridge::v1::Record bp;
  bp.set_kind("observation");
  bp.set_facility_id(kTownship);
  bp.set_record_id("WS-9");
  bp.set_observation_id("O1");
  bp.set_encounter_id("E3");
  bp.set_event_time("2026-03-02T10:20:00+08:00");
  bp.set_code("8480-6");
  bp.set_system("LOINC");
  bp.set_display("收缩压");
  bp.mutable_value()->set_number_value(168);
  bp.set_unit("mm[Hg]");
  out.push_back(bp);
  out.push_back(Encounter(kTownship, "WS-9", "E4", "2026-03-05T09:00:00+08:00", "referral_out", kHospital));
  out.push_back(Encounter(kHospital, "ZY-3", "E5", "2026-03-05T10:30:00+08:00", "referral_in", kTownship));
  hisbridge::v1::Record med;
  med.set_kind("medication");
  med.set_facility_id(kHospital);
  med.set_record_id("ZY-3");
  med.set_medication_id("M1");
  med.set_event_time("2026-03-06T09:00:00+08:00");
  med.set_drug_code("C08CA01");
  med.set_drug_name("氨氯地平片");
  med.set_days(30);
  out.push_back(med);
  out.push_back(PatientRecord(kTownship, "WS-10", "蒙志强", "450321199001090013", "1990-01-09",
                              "2026-03-02T11:00:00+08:00"));
  // 25 women called 李娜 born in 1990, each with her own id: one page of
  // search results is not enough for them.
  for (int i = 0; i < 25; ++i) {
    const absl::CivilDay birth(1990, 5, 1 + i);
    out.push_back(PatientRecord(kTownship, absl::StrCat("LN-", i), "李娜",
                                core::MakeResidentId("450321", birth, 2 * i + 2).value(),
                                absl::FormatCivilTime(birth), "2026-03-03T08:00:00+08:00"));
  }
  return out;
}

class QueryEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    log::SetLevel(log::Level::kWarning);
    dir_ = new std::string(MakeTempDirectory("query_test").value());
    ASSERT_TRUE(WriteFileAtomically(*dir_ + "/facilities.csv",
                                    "facility_id,name,region,tier\n"
                                    "450321-CS-011,遇龙村卫生室,450321,village_clinic\n"
                                    "450321-WS-001,白沙镇卫生院,450321,township_health_centre\n"
                                    "450321-XY-001,阳朔县人民医院,450321,county_hospital\n")
                    .ok());
    NodeOptions options;
    options.data_dir = *dir_ + "/node";
    options.embedded_broker = true;
    options.linker_group = UniqueName("linker");
    options.facilities_file = *dir_ + "/facilities.csv";
    node_ = new Node(options);
    absl::Status started = node_->Start();
    ASSERT_TRUE(started.ok()) << started;
    channel_ = new std::shared_ptr<grpc::Channel>(
        grpc::CreateChannel(node_->grpc_address(), grpc::InsecureChannelCredentials()));
    auto ingest = hisbridge::v1::IngestService::NewStub(*channel_);
    hisbridge::v1::SubmitRequest request;
    for (auto& r : CountyRecords()) *request.add_records() = std::move(r);
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(30));
    submitted_ = new hisbridge::v1::SubmitResponse();
    grpc::Status s = ingest->Submit(&context, request, submitted_);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(submitted_->accepted(), request.records_size());
  }
  static void TearDownTestSuite() {
    delete channel_;
    node_->Stop();
    delete node_;
    ASSERT_TRUE(RemoveRecursively(*dir_).ok());
    delete dir_;
    delete submitted_;
  }
  void SetUp() override {
    query_ = hisbridge::v1::QueryService::NewStub(*channel_);
    ingest_ = hisbridge::v1::IngestService::NewStub(*channel_);
  }

  hisbridge::v1::ReadConsistency AfterSubmit() const {
    hisbridge::v1::ReadConsistency c;
    *c.mutable_after() = submitted_->positions();
    return c;
  }
  grpc::Status Lookup(const std::string& facility, const std::string& record, hisbridge::v1::Patient* out,
                      bool consistent = true) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(30));
    hisbridge::v1::LookupBySourceRequest request;
    request.set_facility_id(facility);
    request.set_record_id(record);
    if (consistent) *request.mutable_consistency() = AfterSubmit();
    return query_->LookupBySource(&context, request, out);
  }
  std::string QinId() {
    hisbridge::v1::Patient p;
    EXPECT_TRUE(Lookup(kVillage, "CS-1", &p).ok());
    return p.patient_id();
  }
  grpc::Status Search(hisbridge::v1::SearchPatientsRequest request, hisbridge::v1::SearchPatientsResponse* out) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    *request.mutable_consistency() = AfterSubmit();
    return query_->SearchPatients(&context, request, out);
  }

  static std::string* dir_;
  static Node* node_;
  static std::shared_ptr<grpc::Channel>* channel_;
  static hisbridge::v1::SubmitResponse* submitted_;
  std::unique_ptr<hisbridge::v1::QueryService::Stub> query_;
  std::unique_ptr<hisbridge::v1::IngestService::Stub> ingest_;
};

std::string* QueryEndToEndTest::dir_ = nullptr;
Node* QueryEndToEndTest::node_ = nullptr;
std::shared_ptr<grpc::Channel>* QueryEndToEndTest::channel_ = nullptr;
hisbridge::v1::SubmitResponse* QueryEndToEndTest::submitted_ = nullptr;

TEST_F(QueryEndToEndTest, GetPatientAndLookupBySource) {
  hisbridge::v1::Patient a, b, c, stranger;
  ASSERT_TRUE(Lookup(kVillage, "CS-1", &a).ok());
  ASSERT_TRUE(Lookup(kTownship, "WS-9", &b, false).ok());
  ASSERT_TRUE(Lookup(kHospital, "ZY-3", &c, false).ok());
  ASSERT_TRUE(Lookup(kTownship, "WS-10", &stranger, false).ok());
  EXPECT_EQ(a.patient_id(), b.patient_id());
  EXPECT_EQ(a.patient_id(), c.patient_id());
  EXPECT_NE(a.patient_id(), stranger.patient_id());
  // Unified demographics with provenance and every source identity.
  EXPECT_EQ(a.demographics().name(), "覃秀娟");
  EXPECT_FALSE(a.demographics().id_number().empty());
  EXPECT_EQ(a.sources_size(), 3);
  EXPECT_GT(a.provenance_size(), 0);
  EXPECT_EQ(a.events_size(), 7);

  grpc::ClientContext context;
  WithDeadline(&context, std::chrono::seconds(10));
  hisbridge::v1::GetPatientRequest request;
  request.set_patient_id(a.patient_id());
  request.set_omit_events(true);
  hisbridge::v1::Patient without_events;
  ASSERT_TRUE(query_->GetPatient(&context, request, &without_events).ok());
  EXPECT_EQ(without_events.events_size(), 0);
  EXPECT_EQ(without_events.sources_size(), 3);
  EXPECT_EQ(without_events.version(), a.version());

  hisbridge::v1::Patient missing;
  grpc::Status s = Lookup(kVillage, "NOPE", &missing, false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("NOPE"));
  s = Lookup("", "CS-1", &missing, false);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("facility_id"));
  grpc::ClientContext context2;
  WithDeadline(&context2, std::chrono::seconds(10));
  request.set_patient_id("450321-P9999999");
  s = query_->GetPatient(&context2, request, &missing);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(QueryEndToEndTest, MatchRanksAndGradesWithTheLinkersEngine) {
  const std::string qin = QinId();
  auto match = [&](hisbridge::v1::MatchRequest request, hisbridge::v1::MatchResponse* out) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    *request.mutable_consistency() = AfterSubmit();
    return query_->Match(&context, request, out);
  };
  hisbridge::v1::MatchRequest request;
  request.mutable_demographics()->set_name("覃秀娟");
  request.mutable_demographics()->set_id_number(kQinId);
  hisbridge::v1::MatchResponse response;
  ASSERT_TRUE(match(request, &response).ok());
  EXPECT_FALSE(response.model_version().empty());
  ASSERT_GE(response.candidates_size(), 1);
  EXPECT_EQ(response.candidates(0).patient().patient_id(), qin);
  EXPECT_EQ(response.candidates(0).grade(), hisbridge::v1::MATCH_GRADE_CERTAIN);
  EXPECT_EQ(response.candidates(0).patient().events_size(), 0);
  const auto& explanation = response.candidates(0).explanation();
  ASSERT_GT(explanation.fields_size(), 0);
  EXPECT_EQ(explanation.fields(0).field(), "resident_id");
  EXPECT_EQ(explanation.fields(0).level(), "exact");

  // Without the id: still found first, but no longer certain of it.
  hisbridge::v1::MatchRequest no_id;
  no_id.mutable_demographics()->set_name("覃秀娟");
  no_id.mutable_demographics()->set_birth_date("1972-06-15");
  no_id.mutable_demographics()->set_sex("2");
  no_id.mutable_demographics()->set_phone(kQinPhone);
  no_id.set_region("450321");
  response.Clear();
  ASSERT_TRUE(match(no_id, &response).ok());
  ASSERT_GE(response.candidates_size(), 1);
  EXPECT_EQ(response.candidates(0).patient().patient_id(), qin);
  EXPECT_THAT(response.candidates(0).grade(),
              AnyOf(hisbridge::v1::MATCH_GRADE_PROBABLE, hisbridge::v1::MATCH_GRADE_CERTAIN));

  // One 李娜 by her id: certain; her namesakes have other valid ids.
  hisbridge::v1::MatchRequest li;
  li.mutable_demographics()->set_name("李娜");
  li.mutable_demographics()->set_birth_date("1990-05-04");
  li.mutable_demographics()->set_id_number(core::MakeResidentId("450321", absl::CivilDay(1990, 5, 4), 8).value());
  li.set_limit(3);
  response.Clear();
  ASSERT_TRUE(match(li, &response).ok());
  ASSERT_GE(response.candidates_size(), 1);
  EXPECT_LE(response.candidates_size(), 3);
  hisbridge::v1::Patient ln3;
  ASSERT_TRUE(Lookup(kTownship, "LN-3", &ln3, false).ok());
  EXPECT_EQ(response.candidates(0).patient().patient_id(), ln3.patient_id());
  EXPECT_EQ(response.candidates(0).grade(), hisbridge::v1::MATCH_GRADE_CERTAIN);
  for (int i = 1; i < response.candidates_size(); ++i) {
    EXPECT_EQ(response.candidates(i).grade(), hisbridge::v1::MATCH_GRADE_CERTAINLY_NOT);
  }

  // Bad arguments name the field.
  hisbridge::v1::MatchRequest bad;
  grpc::Status s = match(bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("demographics"));
  bad = request;
  bad.set_limit(101);
  s = match(bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("limit"));
  bad = request;
  bad.mutable_demographics()->set_birth_date("1972-13-45");
  s = match(bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("demographics.birth_date"));
  bad = request;
  bad.set_region("阳朔");
  EXPECT_THAT(match(bad, &response).error_message(), HasSubstr("region"));
}

TEST_F(QueryEndToEndTest, SearchPatientsByEveryCriterionAndPages) {
  const std::string qin = QinId();
  auto ids = [](const hisbridge::v1::SearchPatientsResponse& r) {
    std::vector<std::string> out;
    for (const auto& p : r.patients()) out.push_back(p.patient_id());
    return out;
  };
  hisbridge::v1::SearchPatientsRequest request;
  hisbridge::v1::SearchPatientsResponse response;
  request.set_id_number("450321720615002");  // the legacy 15-digit form
  ASSERT_TRUE(Search(request, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre(qin));
  EXPECT_TRUE(response.next_page_token().empty());

  request.Clear();
  response.Clear();
  request.set_phone("139-7731-8642");
  ASSERT_TRUE(Search(request, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre(qin));

  request.Clear();
  response.Clear();
  request.set_name("覃秀娟");
  request.set_birth_date("1972");
  ASSERT_TRUE(Search(request, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre(qin));

  request.Clear();
  response.Clear();
  request.set_village("遇龙村");
  ASSERT_TRUE(Search(request, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre(qin));

  // 25 namesakes by pinyin and year, 10 a page.
  request.Clear();
  request.set_name("Li Na");
  request.set_birth_date("1990");
  request.set_page_size(10);
  std::vector<std::string> all;
  std::vector<int> sizes;
  for (int page = 0; page < 5; ++page) {
    response.Clear();
    ASSERT_TRUE(Search(request, &response).ok());
    sizes.push_back(response.patients_size());
    for (const auto& id : ids(response)) all.push_back(id);
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(sizes, ElementsAre(10, 10, 5));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 25u);
  // Deterministic: the same query gives the same first page.
  request.clear_page_token();
  response.Clear();
  ASSERT_TRUE(Search(request, &response).ok());
  EXPECT_EQ(ids(response), std::vector<std::string>(all.begin(), all.begin() + 10));
  // A full date narrows to one.
  request.set_birth_date("1990-05-07");
  request.set_page_size(0);
  response.Clear();
  ASSERT_TRUE(Search(request, &response).ok());
  EXPECT_EQ(response.patients_size(), 1);

  // Bad arguments.
  hisbridge::v1::SearchPatientsRequest bad;
  grpc::Status s = Search(bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("id_number, phone, name"));
  bad.set_name("李娜");
  bad.set_page_size(201);
  EXPECT_THAT(Search(bad, &response).error_message(), HasSubstr("page_size"));
  bad.set_page_size(10);
  bad.set_page_token(request.page_token().empty() ? "bm90LWEtdG9rZW4" : request.page_token());
  EXPECT_THAT(Search(bad, &response).error_message(), HasSubstr("page_token"));
  bad.Clear();
  bad.set_id_number("450321197206150026");
  s = Search(bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("id_number"));
}

TEST_F(QueryEndToEndTest, IntegratedViewIsOneTimelineWithTheReferralChain) {
  const std::string qin = QinId();
  auto view = [&](hisbridge::v1::GetIntegratedViewRequest request, hisbridge::v1::IntegratedView* out) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    request.set_patient_id(request.patient_id().empty() ? qin : request.patient_id());
    *request.mutable_consistency() = AfterSubmit();
    return query_->GetIntegratedView(&context, request, out);
  };
  hisbridge::v1::IntegratedView v;
  ASSERT_TRUE(view({}, &v).ok());
  ASSERT_EQ(v.timeline_size(), 7);
  std::vector<std::string> order, names;
  for (const auto& t : v.timeline()) {
    order.push_back(t.event().event_id());
    names.push_back(t.facility_name());
  }
  EXPECT_THAT(order, ElementsAre("E1", "E2", "E3", "O1", "E4", "E5", "M1"));
  EXPECT_EQ(names[0], "遇龙村卫生室");
  EXPECT_EQ(names[3], "白沙镇卫生院");
  EXPECT_EQ(names[6], "阳朔县人民医院");
  EXPECT_EQ(v.patient().patient_id(), qin);
  ASSERT_EQ(v.referrals_size(), 2);
  EXPECT_EQ(v.referrals(0).from_facility_name(), "遇龙村卫生室");
  EXPECT_EQ(v.referrals(0).to_facility_name(), "白沙镇卫生院");
  EXPECT_EQ(v.referrals(1).from_facility_name(), "白沙镇卫生院");
  EXPECT_EQ(v.referrals(1).to_facility_name(), "阳朔县人民医院");
  EXPECT_EQ(v.referrals(1).encounter_id(), "E4");

  hisbridge::v1::GetIntegratedViewRequest filtered;
  filtered.set_from("2026-03-02T00:00:00+08:00");
  filtered.set_to("2026-03-05T23:59:59+08:00");
  filtered.add_kinds("observation");
  v.Clear();
  ASSERT_TRUE(view(filtered, &v).ok());
  ASSERT_EQ(v.timeline_size(), 1);
  EXPECT_EQ(v.timeline(0).event().record().code(), "8480-6");

  hisbridge::v1::GetIntegratedViewRequest bad;
  bad.set_from("2026-03-02");
  grpc::Status s = view(bad, &v);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("from:"));
  bad.Clear();
  bad.add_kinds("lab");
  EXPECT_THAT(view(bad, &v).error_message(), HasSubstr("kinds[0]"));
  bad.Clear();
  bad.set_patient_id("450321-P9999999");
  EXPECT_EQ(view(bad, &v).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(QueryEndToEndTest, WatchChangesFromTheBeginningFromACursorAndFromNow) {
  const std::string qin = QinId();
  // Everything so far, from the beginning.
  std::vector<hisbridge::v1::ChangeEvent> events;
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(20));
    hisbridge::v1::WatchChangesRequest request;
    auto reader = query_->WatchChanges(&context, request);
    hisbridge::v1::ChangeEvent event;
    bool saw_qin = false;
    while (!saw_qin && reader->Read(&event)) {
      events.push_back(event);
      saw_qin = event.patient_id() == qin && event.kind() == hisbridge::v1::CHANGE_KIND_CREATED;
    }
    ASSERT_TRUE(saw_qin);
    while (events.size() < 5 && reader->Read(&event)) events.push_back(event);
    context.TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  ASSERT_GE(events.size(), 3u);
  EXPECT_THAT(events[0].cursor(), MatchesRegex("p0:o[0-9]+"));
  // Resuming from the first event's cursor gives the second event next.
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    hisbridge::v1::WatchChangesRequest request;
    request.set_cursor(events[0].cursor());
    auto reader = query_->WatchChanges(&context, request);
    hisbridge::v1::ChangeEvent event;
    ASSERT_TRUE(reader->Read(&event));
    EXPECT_EQ(event.cursor(), events[1].cursor());
    EXPECT_EQ(event.patient_id(), events[1].patient_id());
    context.TryCancel();
    reader->Finish();
  }
  // From now on, only the changes of one region.
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(30));
    hisbridge::v1::WatchChangesRequest request;
    request.set_cursor("now");
    request.set_region("450323");
    auto reader = query_->WatchChanges(&context, request);
    hisbridge::v1::SubmitRequest submit;
    *submit.add_records() = PatientRecord(kTownship, "WS-NEW", "韦金凤", "", "1960-02-02", "2026-03-08T08:00:00+08:00");
    *submit.add_records() =
        PatientRecord("450323-WS-002", "LC-1", "莫海燕", "", "1971-04-04", "2026-03-08T08:00:00+08:00");
    grpc::ClientContext submit_context;
    WithDeadline(&submit_context, std::chrono::seconds(30));
    hisbridge::v1::SubmitResponse submitted;
    ASSERT_TRUE(ingest_->Submit(&submit_context, submit, &submitted).ok());
    ASSERT_EQ(submitted.accepted(), 2);
    hisbridge::v1::ChangeEvent event;
    ASSERT_TRUE(reader->Read(&event));
    EXPECT_THAT(event.patient_id(), HasSubstr("450323-P"));
    EXPECT_EQ(event.kind(), hisbridge::v1::CHANGE_KIND_CREATED);
    EXPECT_EQ(event.record_id(), "LC-1");
    context.TryCancel();
    reader->Finish();
  }
  // A cursor it did not write.
  grpc::ClientContext context;
  WithDeadline(&context, std::chrono::seconds(10));
  hisbridge::v1::WatchChangesRequest request;
  request.set_cursor("offset 17");
  auto reader = query_->WatchChanges(&context, request);
  hisbridge::v1::ChangeEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("cursor"));
}

// Every call that takes ReadConsistency waits for it no longer than its
// deadline allows, and then says which position this replica lacks.
TEST_F(QueryEndToEndTest, EveryMethodGivesUpAtItsDeadlineWhenConsistencyIsOutOfReach) {
  const std::string qin = QinId();
  hisbridge::v1::ReadConsistency unreachable;
  auto* position = unreachable.add_after();
  position->set_topic("hisbridge.inbox");
  position->set_partition(0);
  position->set_offset(1000000000);
  auto check = [&](const char* method, auto call) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::milliseconds(400));
    const absl::Time started = absl::Now();
    grpc::Status s = call(&context);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << method;
    // The replica answers shortly before the deadline with its reason.
    EXPECT_THAT(s.error_message(), HasSubstr("0@1000000000")) << method;
    EXPECT_LT(absl::Now() - started, absl::Seconds(3)) << method;
  };
  check("GetPatient", [&](grpc::ClientContext* c) {
    hisbridge::v1::GetPatientRequest r;
    r.set_patient_id(qin);
    *r.mutable_consistency() = unreachable;
    hisbridge::v1::Patient out;
    return query_->GetPatient(c, r, &out);
  });
  check("LookupBySource", [&](grpc::ClientContext* c) {
    hisbridge::v1::LookupBySourceRequest r;
    r.set_facility_id(kVillage);
    r.set_record_id("CS-1");
    *r.mutable_consistency() = unreachable;
    hisbridge::v1::Patient out;
    return query_->LookupBySource(c, r, &out);
  });
  check("Match", [&](grpc::ClientContext* c) {
    hisbridge::v1::MatchRequest r;
    r.mutable_demographics()->set_name("覃秀娟");
    *r.mutable_consistency() = unreachable;
    hisbridge::v1::MatchResponse out;
    return query_->Match(c, r, &out);
  });
  check("SearchPatients", [&](grpc::ClientContext* c) {
    hisbridge::v1::SearchPatientsRequest r;
    r.set_phone(kQinPhone);
    *r.mutable_consistency() = unreachable;
    hisbridge::v1::SearchPatientsResponse out;
    return query_->SearchPatients(c, r, &out);
  });
  check("GetIntegratedView", [&](grpc::ClientContext* c) {
    hisbridge::v1::GetIntegratedViewRequest r;
    r.set_patient_id(qin);
    *r.mutable_consistency() = unreachable;
    hisbridge::v1::IntegratedView out;
    return query_->GetIntegratedView(c, r, &out);
  });
}

// A change stream lives as long as the client's deadline, and no longer.
TEST_F(QueryEndToEndTest, WatchChangesEndsAtTheClientsDeadline) {
  grpc::ClientContext context;
  WithDeadline(&context, std::chrono::milliseconds(500));
  hisbridge::v1::WatchChangesRequest request;
  request.set_cursor("now");
  const absl::Time started = absl::Now();
  auto reader = query_->WatchChanges(&context, request);
  hisbridge::v1::ChangeEvent event;
  while (reader->Read(&event)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(absl::Now() - started, absl::Seconds(3));
}

// Steward commands through ReviewService, applied by the real streaming
// linker (the ReviewServiceTest suite below plays the linker itself).
TEST_F(QueryEndToEndTest, StewardMergeAndUnmergeAreAppliedByTheLinker) {
  // Two patients of another county, nothing alike: the linker keeps them
  // apart until a steward says otherwise.
  hisbridge::v1::SubmitRequest submit;
  *submit.add_records() =
      PatientRecord("450323-WS-002", "ST-1", "黄美玲", "", "1985-02-03", "2026-03-09T08:00:00+08:00");
  *submit.add_records() =
      PatientRecord("450323-CS-004", "ST-2", "陆桂英", "", "1962-07-19", "2026-03-09T09:00:00+08:00");
  hisbridge::v1::SubmitResponse submitted;
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(30));
    ASSERT_TRUE(ingest_->Submit(&context, submit, &submitted).ok());
    ASSERT_EQ(submitted.accepted(), 2);
  }
  auto lookup = [&](const std::string& facility, const std::string& record, const hisbridge::v1::ReadConsistency& c,
                    hisbridge::v1::Patient* out) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(30));
    hisbridge::v1::LookupBySourceRequest r;
    r.set_facility_id(facility);
    r.set_record_id(record);
    *r.mutable_consistency() = c;
    return query_->LookupBySource(&context, r, out);
  };
  hisbridge::v1::ReadConsistency after_submit;
  *after_submit.mutable_after() = submitted.positions();
  hisbridge::v1::Patient huang, lu;
  ASSERT_TRUE(lookup("450323-WS-002", "ST-1", after_submit, &huang).ok());
  ASSERT_TRUE(lookup("450323-CS-004", "ST-2", after_submit, &lu).ok());
  ASSERT_NE(huang.patient_id(), lu.patient_id());

  auto review = hisbridge::v1::ReviewService::NewStub(*channel_);
  hisbridge::v1::StewardContext steward;
  steward.set_actor("steward-li");
  steward.set_reason("one villager registered twice under different names");
  steward.set_wait_until_applied(true);
  hisbridge::v1::MergePatientsRequest merge;
  merge.set_into_patient_id(huang.patient_id());
  merge.set_from_patient_id(lu.patient_id());
  *merge.mutable_context() = steward;
  hisbridge::v1::CommandAck merged;
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(30));
    grpc::Status s = review->MergePatients(&context, merge, &merged);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_TRUE(merged.applied()) << merged.result();
  // The command's inbox position is a read-your-writes barrier too.
  hisbridge::v1::ReadConsistency after_merge;
  *after_merge.add_after() = merged.position();
  hisbridge::v1::Patient p;
  ASSERT_TRUE(lookup("450323-CS-004", "ST-2", after_merge, &p).ok());
  EXPECT_EQ(p.patient_id(), huang.patient_id()) << merged.result();
  EXPECT_EQ(p.sources_size(), 2);

  hisbridge::v1::UnmergePatientsRequest unmerge;
  unmerge.set_patient_id(huang.patient_id());
  unmerge.set_restore_patient_id(lu.patient_id());
  *unmerge.mutable_context() = steward;
  hisbridge::v1::CommandAck unmerged;
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(30));
    grpc::Status s = review->UnmergePatients(&context, unmerge, &unmerged);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  ASSERT_TRUE(unmerged.applied()) << unmerged.result();
  hisbridge::v1::ReadConsistency after_unmerge;
  *after_unmerge.add_after() = unmerged.position();
  ASSERT_TRUE(lookup("450323-CS-004", "ST-2", after_unmerge, &p).ok());
  EXPECT_EQ(p.patient_id(), lu.patient_id()) << unmerged.result();
  EXPECT_EQ(p.status(), hisbridge::v1::PATIENT_STATUS_ACTIVE);
}

TEST_F(QueryEndToEndTest, HealthCheckingAnswersServing) {
  grpc::GenericStub stub(*channel_);
  grpc::ClientContext context;
  WithDeadline(&context, std::chrono::seconds(5));
  grpc::ByteBuffer request, response;
  grpc::Slice empty("");
  request = grpc::ByteBuffer(&empty, 1);
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& slice : slices) bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
}

// Server reflection (grpcurl, grpc_cli, Postman) lists every service of the
// node. The request and answer are hand-encoded: ServerReflectionRequest
// {list_services: ""} is field 7, and the answer carries the service names
// as strings.
TEST_F(QueryEndToEndTest, ServerReflectionListsTheServices) {
  class ListServices : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit ListServices(grpc::GenericStub* stub) {
      grpc::Slice list(std::string("\x3a\x00", 2));
      request_ = grpc::ByteBuffer(&list, 1);
      WithDeadline(&context_, std::chrono::seconds(10));
      stub->PrepareBidiStreamingCall(&context_, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                     grpc::StubOptions(), this);
      StartWrite(&request_);
      StartRead(&response_);
      StartCall();
    }
    void OnWriteDone(bool ok) override {
      if (ok) StartWritesDone();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      std::vector<grpc::Slice> slices;
      if (response_.Dump(&slices).ok()) {
        for (const auto& slice : slices) answer_.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
      StartRead(&response_);
    }
    void OnDone(const grpc::Status& s) override {
      status_ = s;
      done_.Notify();
    }
    grpc::Status Await(std::string* answer) {
      done_.WaitForNotification();
      *answer = answer_;
      return status_;
    }

   private:
    grpc::ClientContext context_;
    grpc::ByteBuffer request_, response_;
    std::string answer_;
    grpc::Status status_;
    absl::Notification done_;
  };
  grpc::GenericStub stub(*channel_);
  ListServices call(&stub);
  std::string answer;
  grpc::Status s = call.Await(&answer);
  ASSERT_TRUE(s.ok()) << s.error_message();
  for (const char* service : {"hisbridge.v1.QueryService", "hisbridge.v1.ReviewService", "hisbridge.v1.IngestService",
                              "grpc.health.v1.Health"}) {
    EXPECT_THAT(answer, HasSubstr(service));
  }
}

// --- a query-only replica on a broker the test writes to ---

class QueryReplicaTest : public ::testing::Test {
 protected:
  static constexpr int kViewsPartitions = 3;
  static constexpr int kChangesPartitions = 2;

  void SetUp() override {
    log::SetLevel(log::Level::kWarning);
    dir_ = MakeTempDirectory("query_replica_test").value();
    auto broker = kafka::DevBroker::Start({{topics_.inbox, 2},
                                           {topics_.views, kViewsPartitions},
                                           {topics_.changes, kChangesPartitions},
                                           {topics_.rejects, 1}});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    kafka_.bootstrap = broker_->bootstrap();
    producer_ = kafka::Producer::Create(kafka_).value();
  }
  void TearDown() override {
    replicas_.clear();
    producer_.reset();
    broker_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }

  Node* StartReplica(const std::string& name, const std::function<void(NodeOptions*)>& configure = nullptr) {
    NodeOptions options;
    options.roles = {Role::kQuery};
    options.data_dir = dir_ + "/" + name;
    options.kafka = kafka_;
    options.topics = topics_;
    if (configure) configure(&options);
    auto node = std::make_unique<Node>(options);
    absl::Status s = node->Start();
    EXPECT_TRUE(s.ok()) << s;
    replicas_.push_back(std::move(node));
    return replicas_.back().get();
  }

  void Produce(const std::string& topic, const std::string& key, const std::string& value,
               int32_t partition = kafka::Producer::kAnyPartition) {
    absl::Notification done;
    absl::Status status;
    producer_->Produce(topic, key, value,
                       [&](const kafka::Delivery& d) {
                         status = d.status;
                         done.Notify();
                       },
                       partition);
    done.WaitForNotification();
    ASSERT_TRUE(status.ok()) << status;
  }
  void PublishPatient(const hisbridge::v1::Patient& p) {
    hisbridge::v1::ViewMessage m;
    *m.mutable_patient() = p;
    Produce(topics_.views, p.patient_id(), m.SerializeAsString());
  }
  void PublishReview(const hisbridge::v1::ReviewItem& item) {
    hisbridge::v1::ViewMessage m;
    *m.mutable_review_item() = item;
    Produce(topics_.views, "~review/" + item.review_id(), m.SerializeAsString());
  }
  void PublishResult(const hisbridge::v1::CommandResult& result) {
    hisbridge::v1::ViewMessage m;
    *m.mutable_command_result() = result;
    Produce(topics_.views, "~command/" + result.command_id(), m.SerializeAsString());
  }
  // The test's stand-in for the linker's watermark after a batch: every
  // views partition learns that inbox partition 0 is applied up to `next`.
  hisbridge::v1::ReadConsistency Watermark() {
    ++inbox_next_;
    hisbridge::v1::ViewMessage m;
    m.mutable_watermark()->set_inbox_partition(0);
    m.mutable_watermark()->set_next_offset(inbox_next_);
    for (int v = 0; v < kViewsPartitions; ++v) Produce(topics_.views, "~watermark/0", m.SerializeAsString(), v);
    hisbridge::v1::ReadConsistency c;
    auto* p = c.add_after();
    p->set_topic(topics_.inbox);
    p->set_partition(0);
    p->set_offset(inbox_next_ - 1);
    return c;
  }
  void PublishChange(const std::string& patient_id, hisbridge::v1::ChangeKind kind, int32_t partition) {
    hisbridge::v1::ChangeEvent e;
    e.set_kind(kind);
    e.set_patient_id(patient_id);
    e.set_time("2026-03-01T00:00:00Z");
    Produce(topics_.changes, patient_id, e.SerializeAsString(), partition);
  }

  static hisbridge::v1::Patient MakePatient(const std::string& id, int64_t version, const std::string& name,
                                            const std::string& resident_id, const std::string& record) {
    hisbridge::v1::Patient p;
    p.set_patient_id(id);
    p.set_version(version);
    p.set_status(hisbridge::v1::PATIENT_STATUS_ACTIVE);
    p.set_region(id.substr(0, 6));
    p.mutable_demographics()->set_name(name);
    auto* s = p.add_sources();
    s->set_facility_id(id.substr(0, 6) + "-WS-001");
    s->set_record_id(record);
    s->set_event_time("2026-03-01T08:00:00+08:00");
    s->mutable_demographics()->set_name(name);
    s->mutable_demographics()->set_id_number(resident_id);
    s->mutable_demographics()->set_birth_date(resident_id.size() == 18 ? absl::StrCat(resident_id.substr(6, 4), "-",
                                                                                      resident_id.substr(10, 2), "-",
                                                                                      resident_id.substr(12, 2))
                                                                       : "");
    return p;
  }
  static std::string Id(int seq, int year = 1980) {
    return core::MakeResidentId("450321", absl::CivilDay(year, 1, 1 + seq % 28), 2 * seq + 1).value();
  }

  static std::unique_ptr<hisbridge::v1::QueryService::Stub> QueryStub(Node* replica) {
    return hisbridge::v1::QueryService::NewStub(
        grpc::CreateChannel(replica->grpc_address(), grpc::InsecureChannelCredentials()));
  }
  // How many patients SearchPatients finds by `name` (one page of 200; -1
  // when the call fails).
  static int PatientsNamed(hisbridge::v1::QueryService::Stub* stub, const std::string& name) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    hisbridge::v1::SearchPatientsRequest search;
    search.set_name(name);
    search.set_page_size(200);
    hisbridge::v1::SearchPatientsResponse found;
    grpc::Status s = stub->SearchPatients(&context, search, &found);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return s.ok() ? found.patients_size() : -1;
  }
  // Hex digits that do not compress (a xorshift stream from *state).
  static std::string HexNoise(uint64_t* state, size_t size) {
    std::string out;
    out.reserve(size);
    for (size_t c = 0; c < size; ++c) {
      *state ^= *state << 13;
      *state ^= *state >> 7;
      *state ^= *state << 17;
      out.push_back("0123456789abcdef"[*state & 15]);
    }
    return out;
  }
  // hisbridge_query_disk_read_answers_total as the node's /metrics shows it
  // (-1 when absent).
  static double DiskReadAnswers(Node* node) {
    const std::string scrape = node->metrics()->Render();
    const std::string name = "\nhisbridge_query_disk_read_answers_total ";
    const size_t at = scrape.find(name);
    return at == std::string::npos ? -1.0 : std::stod(scrape.substr(at + name.size()));
  }

  grpc::Status Get(Node* replica, const std::string& id, const hisbridge::v1::ReadConsistency& consistency,
                   hisbridge::v1::Patient* out, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    auto stub = QueryStub(replica);
    grpc::ClientContext context;
    WithDeadline(&context, deadline);
    hisbridge::v1::GetPatientRequest request;
    request.set_patient_id(id);
    *request.mutable_consistency() = consistency;
    return stub->GetPatient(&context, request, out);
  }

  kafka::TopicNames topics_ = kafka::TopicNames::WithPrefix(UniqueName("qt") + ".");
  kafka::KafkaConfig kafka_;
  std::string dir_;
  std::unique_ptr<kafka::DevBroker> broker_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<std::unique_ptr<Node>> replicas_;
  int64_t inbox_next_ = 0;
};

TEST_F(QueryReplicaTest, ReadYourWritesThroughWatermarks) {
  Node* replica = StartReplica("a");
  PublishPatient(MakePatient("450321-P0000001", 1, "王小明", Id(1), "R1"));
  hisbridge::v1::ReadConsistency after = Watermark();
  hisbridge::v1::Patient p;
  ASSERT_TRUE(Get(replica, "450321-P0000001", after, &p).ok());
  EXPECT_EQ(p.demographics().name(), "王小明");
  // One position further has not been published: the call waits, then fails
  // at its deadline naming the position.
  after.mutable_after(0)->set_offset(after.after(0).offset() + 1);
  grpc::Status s = Get(replica, "450321-P0000001", after, &p, std::chrono::milliseconds(300));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(s.error_message(), HasSubstr(absl::StrCat("0@", after.after(0).offset())));
}

TEST_F(QueryReplicaTest, RestartedAndFreshReplicasCatchUp) {
  Node* first = StartReplica("first");
  for (int i = 1; i <= 10; ++i) {
    PublishPatient(MakePatient(absl::StrCat("450321-P000000", i - 1), 1, "张伟", Id(i), absl::StrCat("R", i)));
  }
  hisbridge::v1::Patient p;
  ASSERT_TRUE(Get(first, "450321-P0000009", Watermark(), &p).ok());
  EXPECT_EQ(first->views()->applied_views(), 10);
  first->Stop();

  // While it is down: five more patients and a newer version of one.
  for (int i = 11; i <= 15; ++i) {
    PublishPatient(MakePatient(absl::StrCat("450321-P00000", i), 1, "张伟", Id(i), absl::StrCat("R", i)));
  }
  PublishPatient(MakePatient("450321-P0000003", 2, "张伟", Id(4), "R4-renamed"));
  const hisbridge::v1::ReadConsistency after = Watermark();

  // Restarted on the same directory: it resumes where it stopped.
  replicas_.clear();
  Node* restarted = StartReplica("first");
  ASSERT_TRUE(Get(restarted, "450321-P0000015", after, &p).ok());
  EXPECT_EQ(restarted->views()->applied_views(), 6);
  ASSERT_TRUE(Get(restarted, "450321-P0000003", after, &p).ok());
  EXPECT_EQ(p.version(), 2);
  EXPECT_EQ(p.sources(0).record_id(), "R4-renamed");

  // A fresh replica reads the topic from the beginning.
  Node* fresh = StartReplica("fresh");
  ASSERT_TRUE(Get(fresh, "450321-P0000015", after, &p).ok());
  EXPECT_EQ(fresh->views()->applied_views(), 16);  // both versions of P0000003, in log order

  // Both answer Match and SearchPatients from their rebuilt indexes.
  for (Node* replica : {restarted, fresh}) {
    auto stub = QueryStub(replica);
    EXPECT_EQ(PatientsNamed(stub.get(), "张伟"), 15);
    grpc::ClientContext match_context;
    WithDeadline(&match_context, std::chrono::seconds(10));
    hisbridge::v1::MatchRequest match;
    match.mutable_demographics()->set_name("张伟");
    match.mutable_demographics()->set_id_number(Id(12));
    hisbridge::v1::MatchResponse matched;
    ASSERT_TRUE(stub->Match(&match_context, match, &matched).ok());
    ASSERT_GE(matched.candidates_size(), 1);
    EXPECT_EQ(matched.candidates(0).patient().patient_id(), "450321-P0000012");
  }
}

// Calls whose data is only in the store's files (a restarted replica that
// did not warm its cache) are answered on the disk-read threads, and the
// same as from memory; once the blocks are cached the next call is not.
TEST_F(QueryReplicaTest, CallsWhoseDataIsOnlyOnDiskAreAnsweredOnTheDiskReadThreads) {
  Node* first = StartReplica("a");
  // 60 patients with 32 KiB of events each that do not compress: opening
  // the table reads its tail, so the first patients' blocks are not read
  // until asked for.
  uint64_t noise = 88172645463325252ULL;
  for (int i = 1; i <= 60; ++i) {
    hisbridge::v1::Patient patient =
        MakePatient(absl::StrCat("450321-P00000", 10 + i), 1, "李娜", Id(i), absl::StrCat("R", i));
    for (int e = 0; e < 8; ++e) {
      auto* event = patient.add_events();
      event->set_kind("observation");
      event->set_facility_id("450321-WS-001");
      event->set_record_id(absl::StrCat("R", i));
      event->set_event_time("2026-03-01T09:00:00+08:00");
      event->set_event_id(HexNoise(&noise, 4096));
    }
    PublishPatient(patient);
  }
  hisbridge::v1::Patient p;
  ASSERT_TRUE(Get(first, "450321-P0000070", Watermark(), &p).ok());
  first->Stop();
  replicas_.clear();
  // Reopening writes what the write-ahead log held into table files (and
  // so into the page cache); after this restart the store is all in files.
  StartReplica("a")->Stop();
  replicas_.clear();

  for (int threads : {2, 0}) {
    SCOPED_TRACE(absl::StrCat("disk-read threads: ", threads));
    // Neither the (new) block cache nor the OS holds the store's blocks.
    ASSERT_TRUE(EvictFromPageCache(dir_ + "/a").ok());
    Node* replica = StartReplica("a", [threads](NodeOptions* o) {
      o->query_warm_cache = false;
      o->query_disk_read_threads = threads;
    });
    ASSERT_EQ(DiskReadAnswers(replica), 0);
    ASSERT_TRUE(Get(replica, "450321-P0000011", {}, &p).ok());
    EXPECT_EQ(p.sources(0).record_id(), "R1");
    EXPECT_EQ(p.events_size(), 8);
    EXPECT_EQ(p.demographics().name(), "李娜");
    const double after_first = DiskReadAnswers(replica);
    EXPECT_EQ(after_first, threads > 0 ? 1 : 0);
    // Now cached: answered from memory.
    ASSERT_TRUE(Get(replica, "450321-P0000011", {}, &p).ok());
    EXPECT_EQ(DiskReadAnswers(replica), after_first);

    auto stub = QueryStub(replica);
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    hisbridge::v1::LookupBySourceRequest lookup;
    lookup.set_facility_id("450321-WS-001");
    lookup.set_record_id("R17");
    hisbridge::v1::Patient looked_up;
    ASSERT_TRUE(stub->LookupBySource(&context, lookup, &looked_up).ok());
    EXPECT_EQ(looked_up.patient_id(), "450321-P0000027");
    grpc::ClientContext missing_context;
    WithDeadline(&missing_context, std::chrono::seconds(10));
    lookup.set_record_id("R999");
    EXPECT_EQ(stub->LookupBySource(&missing_context, lookup, &looked_up).error_code(), grpc::StatusCode::NOT_FOUND);

    EXPECT_EQ(PatientsNamed(stub.get(), "李娜"), 60);

    grpc::ClientContext view_context;
    WithDeadline(&view_context, std::chrono::seconds(10));
    hisbridge::v1::GetIntegratedViewRequest view_request;
    view_request.set_patient_id("450321-P0000012");
    hisbridge::v1::IntegratedView view;
    ASSERT_TRUE(stub->GetIntegratedView(&view_context, view_request, &view).ok());
    EXPECT_EQ(view.patient().patient_id(), "450321-P0000012");
    if (threads == 0) {
      EXPECT_EQ(DiskReadAnswers(replica), 0);
    }
    replica->Stop();
    replicas_.clear();
  }
}

// A stream that starts from changes no longer in memory reads them on the
// disk-read threads and delivers every one, in order.
TEST_F(QueryReplicaTest, WatchChangesReadsOlderChangesOnTheDiskReadThreads) {
  Node* first = StartReplica("a");
  // 300 changes of 4 KiB that do not compress (in `actor`): more than
  // opening the table reads.
  uint64_t noise = 88172645463325252ULL;
  for (int i = 0; i < 300; ++i) {
    hisbridge::v1::ChangeEvent e;
    e.set_kind(hisbridge::v1::CHANGE_KIND_UPDATED);
    e.set_patient_id(absl::StrCat("450321-P", 1000000 + i));
    e.set_time("2026-03-01T00:00:00Z");
    e.set_actor(HexNoise(&noise, 4096));
    Produce(topics_.changes, e.patient_id(), e.SerializeAsString(), 0);
  }
  while (first->views()->store().ChangeRanges()[0].next < 300) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  first->Stop();
  replicas_.clear();
  StartReplica("a")->Stop();  // the write-ahead log into table files
  replicas_.clear();
  ASSERT_TRUE(EvictFromPageCache(dir_ + "/a").ok());
  Node* replica = StartReplica("a", [](NodeOptions* o) { o->query_warm_cache = false; });

  auto stub = QueryStub(replica);
  grpc::ClientContext context;
  WithDeadline(&context, std::chrono::seconds(20));
  auto reader = stub->WatchChanges(&context, hisbridge::v1::WatchChangesRequest());
  hisbridge::v1::ChangeEvent event;
  int seen = 0;
  while (seen < 300 && reader->Read(&event)) {
    ASSERT_EQ(event.patient_id(), absl::StrCat("450321-P", 1000000 + seen));
    ASSERT_EQ(event.actor().size(), 4096u);
    ++seen;
  }
  EXPECT_EQ(seen, 300);
  EXPECT_GE(DiskReadAnswers(replica), 1);
  context.TryCancel();
  reader->Finish();
}

TEST_F(QueryReplicaTest, WatchChangesAcrossPartitionsResumesAndEndsWhenTheServerStops) {
  Node* replica = StartReplica("a");
  PublishChange("450321-P0000001", hisbridge::v1::CHANGE_KIND_CREATED, 0);
  PublishChange("450323-P0000001", hisbridge::v1::CHANGE_KIND_CREATED, 1);
  PublishChange("450321-P0000001", hisbridge::v1::CHANGE_KIND_LINKED, 0);
  auto stub = QueryStub(replica);
  std::string cursor;
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(20));
    auto reader = stub->WatchChanges(&context, hisbridge::v1::WatchChangesRequest());
    std::vector<std::string> seen;
    hisbridge::v1::ChangeEvent event;
    while (seen.size() < 3 && reader->Read(&event)) {
      seen.push_back(absl::StrCat(event.patient_id(), " ", hisbridge::v1::ChangeKind_Name(event.kind())));
      cursor = event.cursor();
    }
    EXPECT_THAT(seen, ::testing::UnorderedElementsAre("450321-P0000001 CHANGE_KIND_CREATED",
                                                      "450321-P0000001 CHANGE_KIND_LINKED",
                                                      "450323-P0000001 CHANGE_KIND_CREATED"));
    // Within a partition (one patient), the order is the log's.
    EXPECT_LT(std::find(seen.begin(), seen.end(), "450321-P0000001 CHANGE_KIND_CREATED"),
              std::find(seen.begin(), seen.end(), "450321-P0000001 CHANGE_KIND_LINKED"));
    EXPECT_EQ(cursor, "p0:o2,p1:o1");
    context.TryCancel();
    reader->Finish();
  }
  // Resumed from the last cursor, with a region filter: only what is new.
  grpc::ClientContext context;
  WithDeadline(&context, std::chrono::seconds(20));
  hisbridge::v1::WatchChangesRequest request;
  request.set_cursor(cursor);
  request.set_region("450323");
  auto reader = stub->WatchChanges(&context, request);
  PublishChange("450321-P0000002", hisbridge::v1::CHANGE_KIND_CREATED, 0);
  PublishChange("450323-P0000002", hisbridge::v1::CHANGE_KIND_CREATED, 1);
  hisbridge::v1::ChangeEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.patient_id(), "450323-P0000002");
  EXPECT_EQ(event.cursor(), "p0:o3,p1:o2");
  // The server stops: the stream ends cleanly, telling the client to resume.
  std::thread stopper([&] { replica->Stop(); });
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status s = reader->Finish();
  stopper.join();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(s.error_message(), HasSubstr("cursor"));
}

// --- ReviewService ---

class ReviewServiceTest : public QueryReplicaTest {
 protected:
  void SetUp() override {
    QueryReplicaTest::SetUp();
    replica_ = StartReplica("review");
    review_ = hisbridge::v1::ReviewService::NewStub(
        grpc::CreateChannel(replica_->grpc_address(), grpc::InsecureChannelCredentials()));
    PublishPatient(MakePatient("450321-P0000001", 3, "王小明", Id(1), "R1"));
    hisbridge::v1::Patient two = MakePatient("450321-P0000002", 2, "王晓明", "", "R2");
    *two.add_sources() = MakePatient("450321-P0000002", 2, "王晓明", "", "R2b").sources(0);
    PublishPatient(two);
    hisbridge::v1::Patient merged = MakePatient("450321-P0000003", 4, "王小明", "", "R3");
    merged.set_status(hisbridge::v1::PATIENT_STATUS_MERGED);
    merged.set_merged_into("450321-P0000001");
    merged.clear_sources();
    PublishPatient(merged);
    PublishPatient(MakePatient("450323-P0000001", 1, "王小明", "", "R9"));
    for (int i = 0; i < 5; ++i) {
      hisbridge::v1::ReviewItem item;
      item.set_review_id(absl::StrCat("RV", i));
      item.set_status(i == 4 ? hisbridge::v1::REVIEW_STATUS_RESOLVED : hisbridge::v1::REVIEW_STATUS_OPEN);
      item.set_region(i == 3 ? "450323" : "450321");
      item.set_facility_id(i == 3 ? "450323-WS-001" : "450321-WS-001");
      item.set_record_id("R2");
      item.set_patient_id("450321-P0000002");
      item.set_created_at(absl::StrCat("2026-03-0", i + 1, "T08:00:00+08:00"));
      item.set_reason("between_thresholds");
      auto* c = item.add_candidates();
      c->set_patient_id("450321-P0000001");
      c->set_score(18.5);
      if (i == 4) {
        item.set_resolved_at("2026-03-06T09:00:00+08:00");
        item.set_resolved_by("steward-li");
        item.set_decision(hisbridge::v1::REVIEW_DECISION_NEW_PATIENT);
      }
      PublishReview(item);
    }
    hisbridge::v1::Patient p;
    ASSERT_TRUE(Get(replica_, "450323-P0000001", Watermark(), &p).ok());
  }

  hisbridge::v1::StewardContext Steward(bool wait = false) {
    hisbridge::v1::StewardContext c;
    c.set_actor("steward-li");
    c.set_reason("same person: checked the household register");
    c.set_wait_until_applied(wait);
    return c;
  }

  // Steward commands the ReviewService put on the inbox.
  std::vector<hisbridge::v1::InboxEvent> InboxCommands(size_t at_least) {
    auto consumer = kafka::Consumer::Create(kafka_, kafka::ConsumerOptions()).value();
    EXPECT_TRUE(consumer->Assign({{topics_.inbox, 0, kafka::TopicPartition::kBeginning},
                                  {topics_.inbox, 1, kafka::TopicPartition::kBeginning}})
                    .ok());
    std::vector<hisbridge::v1::InboxEvent> out;
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    kafka::PollResult polled;
    while (out.size() < at_least && absl::Now() < deadline) {
      EXPECT_TRUE(consumer->Poll(absl::Milliseconds(100), &polled).ok());
      for (const auto& m : polled.messages) {
        hisbridge::v1::InboxEvent e;
        EXPECT_TRUE(e.ParseFromString(m.value));
        EXPECT_EQ(m.key, e.region());
        out.push_back(e);
      }
    }
    return out;
  }

  Node* replica_ = nullptr;
  std::unique_ptr<hisbridge::v1::ReviewService::Stub> review_;
};

TEST_F(ReviewServiceTest, ListsFiltersAndPages) {
  auto list = [&](hisbridge::v1::ListReviewItemsRequest request, hisbridge::v1::ListReviewItemsResponse* out) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    return review_->ListReviewItems(&context, request, out);
  };
  auto ids = [](const hisbridge::v1::ListReviewItemsResponse& r) {
    std::vector<std::string> out;
    for (const auto& i : r.items()) out.push_back(i.review_id());
    return out;
  };
  hisbridge::v1::ListReviewItemsRequest request;
  hisbridge::v1::ListReviewItemsResponse response;
  ASSERT_TRUE(list(request, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre("RV0", "RV1", "RV2", "RV3", "RV4"));  // oldest first
  EXPECT_EQ(response.total_open(), 4);

  request.set_status(hisbridge::v1::REVIEW_STATUS_OPEN);
  request.set_region("450321");
  request.set_page_size(2);
  response.Clear();
  ASSERT_TRUE(list(request, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre("RV0", "RV1"));
  EXPECT_EQ(response.total_open(), 3);
  ASSERT_FALSE(response.next_page_token().empty());
  request.set_page_token(response.next_page_token());
  response.Clear();
  ASSERT_TRUE(list(request, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre("RV2"));
  EXPECT_TRUE(response.next_page_token().empty());

  hisbridge::v1::ListReviewItemsRequest before;
  before.set_created_before("2026-03-03T08:00:00+08:00");
  response.Clear();
  ASSERT_TRUE(list(before, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre("RV0", "RV1"));
  before.set_facility_id("450323-WS-001");
  before.clear_created_before();
  response.Clear();
  ASSERT_TRUE(list(before, &response).ok());
  EXPECT_THAT(ids(response), ElementsAre("RV3"));

  hisbridge::v1::ListReviewItemsRequest bad;
  bad.set_created_before("last week");
  grpc::Status s = list(bad, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("created_before"));
  bad.Clear();
  bad.set_page_token(request.page_token());  // another query's token
  EXPECT_THAT(list(bad, &response).error_message(), HasSubstr("page_token"));
}

TEST_F(ReviewServiceTest, MutatingCallsAreCheckedThenBecomeInboxCommands) {
  auto decide = [&](hisbridge::v1::DecideReviewItemRequest request, hisbridge::v1::CommandAck* ack) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    return review_->DecideReviewItem(&context, request, ack);
  };
  hisbridge::v1::CommandAck ack;
  hisbridge::v1::DecideReviewItemRequest d;
  d.set_review_id("RV1");
  *d.mutable_context() = Steward();
  grpc::Status s = decide(d, &ack);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("decision"));
  d.set_decision(hisbridge::v1::REVIEW_DECISION_LINK);
  EXPECT_THAT(decide(d, &ack).error_message(), HasSubstr("patient_id is required"));
  d.set_patient_id("450321-P0000007");
  s = decide(d, &ack);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("not a candidate"));
  d.set_patient_id("450321-P0000001");
  d.mutable_context()->clear_actor();
  EXPECT_THAT(decide(d, &ack).error_message(), HasSubstr("context.actor"));
  *d.mutable_context() = Steward();
  d.set_review_id("RV404");
  EXPECT_EQ(decide(d, &ack).error_code(), grpc::StatusCode::NOT_FOUND);
  d.set_review_id("RV4");
  s = decide(d, &ack);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("already resolved"));

  d.set_review_id("RV1");
  ASSERT_TRUE(decide(d, &ack).ok());
  EXPECT_THAT(ack.command_id(), MatchesRegex("[0-9a-f]{32}"));
  EXPECT_EQ(ack.position().topic(), topics_.inbox);
  EXPECT_FALSE(ack.applied());

  auto call = [&](auto method, const auto& request) {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(10));
    hisbridge::v1::CommandAck out;
    return ((*review_).*method)(&context, request, &out);
  };
  using Stub = hisbridge::v1::ReviewService::Stub;
  hisbridge::v1::MergePatientsRequest merge;
  merge.set_into_patient_id("450321-P0000001");
  merge.set_from_patient_id("450321-P0000001");
  *merge.mutable_context() = Steward();
  EXPECT_THAT(call(&Stub::MergePatients, merge).error_message(), HasSubstr("from_patient_id: must differ"));
  merge.set_from_patient_id("450321-P0000404");
  EXPECT_EQ(call(&Stub::MergePatients, merge).error_code(), grpc::StatusCode::NOT_FOUND);
  merge.set_from_patient_id("450321-P0000003");
  s = call(&Stub::MergePatients, merge);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("was merged into 450321-P0000001"));
  merge.set_from_patient_id("450323-P0000001");
  s = call(&Stub::MergePatients, merge);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("different counties"));
  merge.set_from_patient_id("450321-P0000002");
  EXPECT_TRUE(call(&Stub::MergePatients, merge).ok());

  hisbridge::v1::UnmergePatientsRequest unmerge;
  unmerge.set_patient_id("450321-P0000002");
  unmerge.set_restore_patient_id("450321-P0000003");
  *unmerge.mutable_context() = Steward();
  EXPECT_EQ(call(&Stub::UnmergePatients, unmerge).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  unmerge.set_patient_id("450321-P0000001");
  EXPECT_TRUE(call(&Stub::UnmergePatients, unmerge).ok());

  hisbridge::v1::LinkRecordRequest link;
  link.set_facility_id("450321-WS-001");
  link.set_record_id("R404");
  link.set_patient_id("450321-P0000001");
  *link.mutable_context() = Steward();
  EXPECT_EQ(call(&Stub::LinkRecord, link).error_code(), grpc::StatusCode::NOT_FOUND);
  link.set_record_id("R2");
  EXPECT_TRUE(call(&Stub::LinkRecord, link).ok());

  hisbridge::v1::UnlinkRecordRequest unlink;
  unlink.set_facility_id("450321-WS-001");
  unlink.set_record_id("R1");
  *unlink.mutable_context() = Steward();
  s = call(&Stub::UnlinkRecord, unlink);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("only record"));
  unlink.set_record_id("R2b");
  EXPECT_TRUE(call(&Stub::UnlinkRecord, unlink).ok());

  hisbridge::v1::MarkNotSamePersonRequest not_same;
  not_same.set_patient_id("450321-P0000001");
  not_same.set_other_patient_id("450321-P0000002");
  *not_same.mutable_context() = Steward();
  EXPECT_TRUE(call(&Stub::MarkNotSamePerson, not_same).ok());

  // Six commands on the inbox, keyed by their county, in the order sent
  // (one county, one partition).
  auto commands = InboxCommands(6);
  ASSERT_EQ(commands.size(), 6u);
  std::vector<std::string> actions;
  for (const auto& e : commands) {
    EXPECT_EQ(e.region(), "450321");
    EXPECT_EQ(e.command().actor(), "steward-li");
    EXPECT_EQ(e.meta().channel(), "review");
    actions.push_back(e.command().GetDescriptor()->FindFieldByNumber(e.command().action_case())->name());
  }
  EXPECT_THAT(actions, ElementsAre("resolve_review", "merge_patients", "unmerge_patients", "link_record",
                                   "unlink_record", "not_same_person"));
  EXPECT_EQ(commands[0].command().command_id(), ack.command_id());
  EXPECT_EQ(commands[0].command().resolve_review().patient_id(), "450321-P0000001");
  EXPECT_EQ(commands[0].command().reason(), "same person: checked the household register");
}

// The store is read on the service's own threads: many stewards at once
// each get their own answer, and every accepted command reaches the inbox.
TEST_F(ReviewServiceTest, ConcurrentCallsAreEachAnsweredFromTheStoreThreads) {
  constexpr int kStewards = 6;
  constexpr int kRounds = 10;
  std::atomic<int> wrong{0};
  std::vector<std::thread> stewards;
  std::mutex ids_mu;
  std::set<std::string> command_ids;
  for (int t = 0; t < kStewards; ++t) {
    stewards.emplace_back([&, t] {
      auto stub = hisbridge::v1::ReviewService::NewStub(
          grpc::CreateChannel(replica_->grpc_address(), grpc::InsecureChannelCredentials()));
      for (int round = 0; round < kRounds; ++round) {
        {
          grpc::ClientContext context;
          WithDeadline(&context, std::chrono::seconds(20));
          hisbridge::v1::ListReviewItemsRequest request;
          request.set_facility_id(t % 2 == 0 ? "450323-WS-001" : "");
          hisbridge::v1::ListReviewItemsResponse response;
          grpc::Status s = stub->ListReviewItems(&context, request, &response);
          if (!s.ok() || response.items_size() != (t % 2 == 0 ? 1 : 5)) ++wrong;
        }
        {
          grpc::ClientContext context;
          WithDeadline(&context, std::chrono::seconds(20));
          hisbridge::v1::LinkRecordRequest link;
          link.set_facility_id("450321-WS-001");
          link.set_record_id(absl::StrCat("R404-", t, "-", round));
          link.set_patient_id("450321-P0000001");
          *link.mutable_context() = Steward();
          hisbridge::v1::CommandAck ack;
          grpc::Status s = stub->LinkRecord(&context, link, &ack);
          if (s.error_code() != grpc::StatusCode::NOT_FOUND ||
              !absl::StrContains(s.error_message(), link.record_id())) {
            ++wrong;
          }
        }
        {
          grpc::ClientContext context;
          WithDeadline(&context, std::chrono::seconds(20));
          hisbridge::v1::DecideReviewItemRequest decide;
          decide.set_review_id(absl::StrCat("RV", (t + round) % 4));
          decide.set_decision(hisbridge::v1::REVIEW_DECISION_NEW_PATIENT);
          *decide.mutable_context() = Steward();
          hisbridge::v1::CommandAck ack;
          grpc::Status s = stub->DecideReviewItem(&context, decide, &ack);
          if (!s.ok() || ack.command_id().size() != 32) {
            ++wrong;
          } else {
            std::lock_guard<std::mutex> lock(ids_mu);
            command_ids.insert(ack.command_id());
          }
        }
      }
    });
  }
  for (auto& t : stewards) t.join();
  EXPECT_EQ(wrong.load(), 0);
  ASSERT_EQ(command_ids.size(), static_cast<size_t>(kStewards * kRounds));
  std::set<std::string> on_inbox;
  for (const auto& e : InboxCommands(kStewards * kRounds)) on_inbox.insert(e.command().command_id());
  EXPECT_EQ(on_inbox, command_ids);
}

TEST_F(ReviewServiceTest, WaitsUntilTheLinkerAppliedTheCommand) {
  // The test's linker: answers every command it finds on the inbox.
  std::atomic<bool> stop{false};
  std::atomic<bool> answer{true};
  std::thread linker([&] {
    auto consumer = kafka::Consumer::Create(kafka_, kafka::ConsumerOptions()).value();
    ASSERT_TRUE(consumer->Assign({{topics_.inbox, 0, kafka::TopicPartition::kBeginning},
                                  {topics_.inbox, 1, kafka::TopicPartition::kBeginning}})
                    .ok());
    kafka::PollResult polled;
    while (!stop) {
      ASSERT_TRUE(consumer->Poll(absl::Milliseconds(50), &polled).ok());
      for (const auto& m : polled.messages) {
        hisbridge::v1::InboxEvent e;
        ASSERT_TRUE(e.ParseFromString(m.value));
        if (!answer) continue;
        hisbridge::v1::CommandResult r;
        r.set_command_id(e.command().command_id());
        r.set_applied(true);
        r.set_result(absl::StrCat("merged ", e.command().merge_patients().from_patient_id(), " into ",
                                  e.command().merge_patients().into_patient_id()));
        r.mutable_position()->set_partition(m.partition);
        r.mutable_position()->set_offset(m.offset);
        PublishResult(r);
      }
    }
  });
  hisbridge::v1::MergePatientsRequest merge;
  merge.set_into_patient_id("450321-P0000001");
  merge.set_from_patient_id("450321-P0000002");
  *merge.mutable_context() = Steward(/*wait=*/true);
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::seconds(20));
    hisbridge::v1::CommandAck ack;
    grpc::Status s = review_->MergePatients(&context, merge, &ack);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(ack.applied());
    EXPECT_EQ(ack.result(), "merged 450321-P0000002 into 450321-P0000001");
  }
  // Nobody answers now: the call returns before its deadline, accepted but
  // not applied, so the client knows not to send it again.
  answer = false;
  {
    grpc::ClientContext context;
    WithDeadline(&context, std::chrono::milliseconds(1500));
    hisbridge::v1::CommandAck ack;
    const absl::Time started = absl::Now();
    grpc::Status s = review_->MergePatients(&context, merge, &ack);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_LT(absl::Now() - started, absl::Milliseconds(1500));
    EXPECT_FALSE(ack.applied());
    EXPECT_THAT(ack.result(), HasSubstr("not applied within the deadline"));
    EXPECT_FALSE(ack.command_id().empty());
  }
  stop = true;
  linker.join();
}

}  // namespace
}  // namespace hisbridge
