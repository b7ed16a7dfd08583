#include "libs/report/sources.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/events.pb.h"
#include "libs/base/file_util.h"
#include "libs/core/resident_id.h"
#include "libs/kafka/dev_broker.h"
#include "libs/kafka/producer.h"
#include "libs/match/matcher.h"
#include "libs/records/record_json.h"
#include "libs/report/report_format.h"

namespace hisbridge::report {
namespace {

using hisbridge::index::v1::StoredLink;
using hisbridge::index::v1::StoredRecord;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

constexpr char kCounty[] = "450324";
constexpr char kClinic[] = "450324-WS-001";
constexpr char kVillage[] = "450324-CS-0001";

std::string ValidId(int sequence) { return *core::MakeResidentId(kCounty, absl::CivilDay(1985, 3, 2), sequence); }

class TempDir {
 public:
  TempDir() : path_(*MakeTempDirectory("report-test-")) {}
  ~TempDir() { (void)RemoveRecursively(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

records::FacilityDirectory Directory() {
  records::FacilityDirectory d("000000");
  d.Add({kClinic, "全州镇卫生院", kCounty, records::FacilityTier::kTownshipHealthCentre});
  d.Add({kVillage, "石城村卫生室", kCounty, records::FacilityTier::kVillageClinic});
  d.Add({"450321-WS-001", "白沙镇卫生院", "450321", records::FacilityTier::kTownshipHealthCentre});
  return d;
}

const hisbridge::v1::FacilityQuality* Find(const hisbridge::v1::DataQualityReport& report, const std::string& id) {
  for (const auto& f : report.facilities()) {
    if (f.facility_id() == id) return &f;
  }
  return nullptr;
}

// --- the patient index ---

class IndexSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = index::PatientIndex::Open(dir_.path() + "/linker");
    ASSERT_TRUE(opened.ok()) << opened.status();
    primary_ = std::move(*opened);
    index::IndexBatch batch = primary_->NewBatch();
    hisbridge::index::v1::RegionMeta meta;
    meta.set_region(kCounty);
    meta.set_inbox_partition(0);
    batch.PutRegionMeta(meta);
    meta.set_region("450321");
    meta.set_inbox_partition(1);
    batch.PutRegionMeta(meta);
    Put(&batch, kCounty, kClinic, "a", "P1", hisbridge::v1::LINK_METHOD_NEW_PATIENT, ValidId(123));
    Put(&batch, kCounty, kClinic, "b", "P1", hisbridge::v1::LINK_METHOD_RESIDENT_ID, ValidId(123));
    Put(&batch, kCounty, kVillage, "c", "P1", hisbridge::v1::LINK_METHOD_SCORE, "");
    Put(&batch, kCounty, kVillage, "d", "P2", hisbridge::v1::LINK_METHOD_NEW_PATIENT, "", /*review=*/true);
    // A tombstone: no link, not a record any more.
    StoredRecord gone;
    gone.set_region(kCounty);
    gone.mutable_record()->set_facility_id(kClinic);
    gone.mutable_record()->set_record_id("e");
    gone.set_deleted(true);
    batch.PutRecord(gone);
    Put(&batch, "450321", "450321-WS-001", "x", "Q1", hisbridge::v1::LINK_METHOD_NEW_PATIENT, "");
    ASSERT_TRUE(primary_->Commit(&batch).ok());
  }

  static void Put(index::IndexBatch* batch, const std::string& region, const std::string& facility,
                  const std::string& record_id, const std::string& patient, hisbridge::v1::LinkMethod method,
                  const std::string& id_number, bool review = false) {
    StoredRecord r;
    r.set_region(region);
    hisbridge::v1::Record* p = r.mutable_record();
    p->set_kind("patient");
    p->set_facility_id(facility);
    p->set_record_id(record_id);
    p->set_name("王小明");
    p->set_sex("1");
    p->set_birth_date("1985-03-02");
    p->set_id_number(id_number);
    p->set_event_time("2024-05-01T08:00:00+08:00");
    r.set_event_time_micros(1714521600000000);
    if (review) r.set_open_review_id(absl::StrCat(region, "-R0000001"));
    batch->PutRecord(r);
    StoredLink link;
    link.set_patient_id(patient);
    link.mutable_link()->set_method(method);
    batch->PutLink(region, facility, record_id, link);
  }

  IndexReportSource Source() const {
    IndexReportSource source;
    source.index_path = dir_.path() + "/linker";
    source.facilities = &directory_;
    return source;
  }

  TempDir dir_;
  records::FacilityDirectory directory_ = Directory();
  std::unique_ptr<index::PatientIndex> primary_;
};

TEST_F(IndexSourceTest, ReadsLiveRecordsWithTheirLinksBesideTheWriter) {
  IndexReportStats stats;
  auto report = BuildIndexReport(Source(), {}, {}, &stats);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(stats.regions, 2);
  EXPECT_EQ(stats.records, 5);
  EXPECT_FALSE(stats.rejects.has_value());
  ASSERT_THAT(report->facilities(), SizeIs(3));
  const auto* clinic = Find(*report, kClinic);
  ASSERT_NE(clinic, nullptr);
  EXPECT_EQ(clinic->facility_name(), "全州镇卫生院");
  EXPECT_EQ(clinic->records(), 2);
  EXPECT_DOUBLE_EQ(clinic->in_facility_duplicate_rate(), 1.0);
  EXPECT_DOUBLE_EQ(clinic->auto_link_rate(), 0.5);
  EXPECT_DOUBLE_EQ(clinic->new_patient_rate(), 0.5);
  const auto* village = Find(*report, kVillage);
  ASSERT_NE(village, nullptr);
  EXPECT_EQ(village->records(), 2);
  // c shares P1 with the clinic's records, not with another village record.
  EXPECT_DOUBLE_EQ(village->in_facility_duplicate_rate(), 0.0);
  EXPECT_DOUBLE_EQ(village->auto_link_rate(), 0.5);
  EXPECT_DOUBLE_EQ(village->review_rate(), 0.5);
  EXPECT_DOUBLE_EQ(village->completeness(3).filled(), 0.0);  // id_number

  // What the primary commits later is seen by the next report.
  index::IndexBatch more = primary_->NewBatch();
  Put(&more, kCounty, kClinic, "f", "P3", hisbridge::v1::LINK_METHOD_NEW_PATIENT, "");
  ASSERT_TRUE(primary_->Commit(&more).ok());
  report = BuildIndexReport(Source(), {}, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(Find(*report, kClinic)->records(), 3);
}

TEST_F(IndexSourceTest, ScopeOwnedPartitionsAndErrors) {
  hisbridge::v1::DataQualityReportRequest request;
  request.set_region("450321");
  auto report = BuildIndexReport(Source(), request, {});
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_THAT(report->facilities(), SizeIs(1));
  EXPECT_EQ(report->facilities(0).facility_id(), "450321-WS-001");

  request.set_region("");
  request.set_facility_id(kVillage);
  report = BuildIndexReport(Source(), request, {});
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_THAT(report->facilities(), SizeIs(1));
  EXPECT_EQ(report->facilities(0).records(), 2);

  request.Clear();
  request.set_region("999999");
  EXPECT_EQ(BuildIndexReport(Source(), request, {}).status().code(), absl::StatusCode::kNotFound);

  // A linker pod reports the counties of its partitions only.
  IndexReportSource pod = Source();
  pod.owned_partitions = [] { return std::set<int32_t>{1}; };
  report = BuildIndexReport(pod, {}, {});
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_THAT(report->facilities(), SizeIs(1));
  EXPECT_EQ(report->facilities(0).facility_id(), "450321-WS-001");
  request.set_region(kCounty);
  const auto elsewhere = BuildIndexReport(pod, request, {});
  EXPECT_EQ(elsewhere.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(elsewhere.status().message()), HasSubstr("another linker pod"));
  pod.owned_partitions = [] { return std::set<int32_t>{}; };
  EXPECT_EQ(BuildIndexReport(pod, {}, {}).status().code(), absl::StatusCode::kUnavailable);

  IndexReportSource missing = Source();
  missing.index_path = dir_.path() + "/nothing";
  EXPECT_EQ(BuildIndexReport(missing, {}, {}).status().code(), absl::StatusCode::kNotFound);

  ReportControl late;
  late.deadline = absl::Now() - absl::Seconds(1);
  EXPECT_EQ(BuildIndexReport(Source(), {}, late).status().code(), absl::StatusCode::kDeadlineExceeded);
}

// --- a JSON Lines file, linked in memory ---

std::string PatientLine(const std::string& facility, const std::string& record_id, const std::string& id_number,
                        const std::string& name, const std::string& event_time = "2024-05-01T08:00:00+08:00") {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_facility_id(facility);
  r.set_record_id(record_id);
  r.set_event_time(event_time);
  r.set_name(name);
  r.set_sex("1");
  r.set_birth_date("1985-03-02");
  r.set_id_number(id_number);
  return records::RecordToJson(r);
}

TEST(BatchReportTest, LinksInMemoryAndCountsRejectedLines) {
  TempDir dir;
  const std::string path = dir.path() + "/records.jsonl";
  std::vector<std::string> lines = {
      PatientLine(kClinic, "A", ValidId(123), "王小明"),
      PatientLine(kClinic, "B", ValidId(123), "王小明"),
      PatientLine(kVillage, "C", ValidId(123), "王晓明"),
      PatientLine(kClinic, "D", "", "李娜"),
      PatientLine(kClinic, "E", ValidId(125), "张伟"),
      R"({"kind":"patient","op":"delete","facility_id":"450324-WS-001","record_id":"E","event_time":"2024-05-02T08:00:00+08:00"})",
      R"({"kind":"encounter","facility_id":"450324-WS-001","record_id":"A","encounter_id":"V1","event_time":"2024-05-01T09:00:00+08:00"})",
      PatientLine(kClinic, "F", ValidId(127), "赵六", "yesterday"),
      R"({"kind":"patient","facility_id":"450324-WS-001","event_time":"2024-05-01T08:00:00+08:00"})",
      R"({"kind":"patient","facility_id":)",
  };
  std::string text;
  for (const std::string& l : lines) absl::StrAppend(&text, l, "\n");
  ASSERT_TRUE(WriteFileAtomically(path, text).ok());

  auto matcher = match::MakeMatcher("id-exact", "");
  ASSERT_TRUE(matcher.ok()) << matcher.status();
  const records::FacilityDirectory directory = Directory();
  DataQualityBuilder builder(&directory, {});
  auto stats = BatchReport(path, matcher->get(), &directory, {}, &builder);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->lines, 10);
  EXPECT_EQ(stats->clinical_events, 1);
  EXPECT_EQ(stats->rejected, 3);
  EXPECT_EQ(builder.rejected_lines(), 3);

  const auto report = builder.Build(absl::Now());
  const auto* clinic = Find(report, kClinic);
  ASSERT_NE(clinic, nullptr);
  EXPECT_EQ(clinic->records(), 3);  // A, B, D (E deleted)
  EXPECT_DOUBLE_EQ(clinic->in_facility_duplicate_rate(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(clinic->auto_link_rate(), 1.0 / 3);
  EXPECT_DOUBLE_EQ(clinic->new_patient_rate(), 2.0 / 3);
  EXPECT_THAT(clinic->rejects_by_reason(),
              UnorderedElementsAre(Pair("event_time:rfc3339", 1), Pair("record_id:required", 1)));
  const auto* village = Find(report, kVillage);
  ASSERT_NE(village, nullptr);
  EXPECT_DOUBLE_EQ(village->auto_link_rate(), 1.0);
  // The line that is not JSON names no facility.
  const auto* unknown = Find(report, "");
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->records(), 0);
  EXPECT_THAT(unknown->rejects_by_reason(), SizeIs(1));

  // Threads change nothing.
  DataQualityBuilder threaded(&directory, {});
  BatchReportOptions options;
  options.threads = 3;
  ASSERT_TRUE(BatchReport(path, matcher->get(), &directory, options, &threaded).ok());
  EXPECT_EQ(FormatCsv(report), FormatCsv(threaded.Build(absl::Now())));

  EXPECT_EQ(BatchReport(dir.path() + "/missing.jsonl", matcher->get(), &directory, {}, &builder).status().code(),
            absl::StatusCode::kNotFound);
}

// --- the rejects topic ---

TEST(RejectsTopicTest, ReadsEveryRejectedLineUpToTheEnd) {
  auto broker = kafka::DevBroker::Start({{"t.rejects", 2}, {"t.empty", 1}});
  ASSERT_TRUE(broker.ok()) << broker.status();
  kafka::KafkaConfig config;
  config.bootstrap = (*broker)->bootstrap();
  {
    auto producer = kafka::Producer::Create(config);
    ASSERT_TRUE(producer.ok()) << producer.status();
    const auto produce = [&](const std::string& facility, const std::vector<hisbridge::v1::FieldIssue>& errors) {
      hisbridge::v1::RejectedRecord r;
      r.set_facility_id(facility);
      r.set_raw("{}");
      for (const auto& e : errors) *r.add_errors() = e;
      (*producer)->Produce("t.rejects", facility, r.SerializeAsString(), [](const kafka::Delivery& d) {
        EXPECT_TRUE(d.status.ok()) << d.status;
      });
    };
    produce(kClinic, {records::MakeIssue("event_time", "rfc3339", "x")});
    produce(kClinic, {records::MakeIssue("record_id", "required", "x")});
    produce(kVillage, {records::MakeIssue("event_time", "rfc3339", "x")});
    produce("", {records::MakeIssue("", "json.syntax", "x")});
    (*producer)->Produce("t.rejects", "k", "not a protobuf \xff\xff\xff", [](const kafka::Delivery&) {}, 1);
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  }
  const records::FacilityDirectory directory = Directory();
  DataQualityBuilder builder(&directory, {});
  ReportControl control;
  control.deadline = absl::Now() + absl::Seconds(60);
  auto stats = AddRejectsFromTopic(config, "t.rejects", control, &builder);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->partitions, 2);
  EXPECT_EQ(stats->messages, 5);
  EXPECT_EQ(stats->unreadable, 1);
  EXPECT_EQ(builder.rejected_lines(), 4);
  const auto report = builder.Build(absl::Now());
  EXPECT_THAT(Find(report, kClinic)->rejects_by_reason(),
              UnorderedElementsAre(Pair("event_time:rfc3339", 1), Pair("record_id:required", 1)));
  EXPECT_THAT(Find(report, "")->rejects_by_reason(), UnorderedElementsAre(Pair("json.syntax", 1)));

  DataQualityBuilder empty(&directory, {});
  stats = AddRejectsFromTopic(config, "t.empty", control, &empty);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->messages, 0);
  EXPECT_EQ(empty.rejected_lines(), 0);
}

}  // namespace
}  // namespace hisbridge::report
