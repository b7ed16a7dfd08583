#include "services/admin/patient_history.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"

namespace hisbridge::admin {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(RegionOfPatientIdTest, IsWhatPrecedesTheSequence) {
  EXPECT_EQ(RegionOfPatientId("450321-P0000001").value(), "450321");
  EXPECT_EQ(RegionOfPatientId("999999-P12").value(), "999999");
  // The last "-P" separates: a county code may itself hold a dash.
  EXPECT_EQ(RegionOfPatientId("45-03-P7").value(), "45-03");
}

TEST(RegionOfPatientIdTest, RefusesWhatIsNoPatientIdNamingTheRule) {
  const struct {
    std::string id;
    std::string rule;
  } cases[] = {
      {"", "patient_id is required"},
      {"450321", "no \"-P\""},
      {"-P0000001", "no county code"},
      {"450321-P", "no sequence number"},
      {"450321-P00x1", "must be digits"},
      {"450 321-P0000001", "only letters, digits"},
      {std::string("450321\0-P1", 10), "only letters, digits"},
      {std::string(100, '4') + "-P1", "longer than 64"},
  };
  for (const auto& c : cases) {
    auto region = RegionOfPatientId(c.id);
    ASSERT_FALSE(region.ok()) << c.id;
    EXPECT_EQ(region.status().code(), absl::StatusCode::kInvalidArgument) << c.id;
    EXPECT_THAT(region.status().message(), HasSubstr(c.rule)) << c.id;
  }
}

hisbridge::v1::HistoryEntry Entry(const std::string& action, const std::string& record = "",
                                  const std::string& actor = "") {
  hisbridge::v1::HistoryEntry e;
  e.set_time("2026-03-01T08:00:00Z");
  e.set_action(action);
  e.set_facility_id(record.empty() ? "" : "450321-WS-001");
  e.set_record_id(record);
  e.set_actor(actor);
  return e;
}

std::vector<std::string> Actions(const hisbridge::v1::PatientHistory& history) {
  std::vector<std::string> out;
  for (const auto& e : history.entries()) out.push_back(e.action());
  return out;
}

class PatientHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDirectory("patient_history_test").value();
    auto index = index::PatientIndex::Open(path());
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
    index::IndexBatch batch = index_->NewBatch();
    hisbridge::index::v1::RegionMeta meta;
    meta.set_region("450321");
    meta.set_inbox_partition(2);
    batch.PutRegionMeta(meta);
    // Out of order in the batch; sequences past one byte order numerically.
    batch.PutAudit("450321", "450321-P0000001", 300, Entry("merged", "", "steward-wang"));
    batch.PutAudit("450321", "450321-P0000001", 1, Entry("created", "A1"));
    batch.PutAudit("450321", "450321-P0000001", 7, Entry("linked", "A2"));
    // An id that extends the first one's: never part of its history.
    batch.PutAudit("450321", "450321-P00000010", 8, Entry("created", "Z9"));
    ASSERT_TRUE(index_->Commit(&batch).ok());
  }
  void TearDown() override {
    index_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  std::string path() const { return dir_ + "/linker"; }

  std::string dir_;
  std::unique_ptr<index::PatientIndex> index_;
};

TEST_F(PatientHistoryTest, EntriesOfThePatientOldestFirst) {
  auto history = ReadPatientHistory(*index_, "450321-P0000001");
  ASSERT_TRUE(history.ok()) << history.status();
  EXPECT_EQ(history->patient_id(), "450321-P0000001");
  EXPECT_THAT(Actions(*history), ElementsAre("created", "linked", "merged"));
  EXPECT_EQ(history->entries(1).record_id(), "A2");
  EXPECT_EQ(history->entries(2).actor(), "steward-wang");
}

TEST_F(PatientHistoryTest, UnknownPatientOrRegionIsNotFound) {
  auto unknown = ReadPatientHistory(*index_, "450321-P0000099");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("no patient 450321-P0000099 in region 450321"));
  auto other_county = ReadPatientHistory(*index_, "450322-P0000001");
  EXPECT_EQ(other_county.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(other_county.status().message(), HasSubstr("region 450322"));
  EXPECT_EQ(ReadPatientHistory(*index_, "450321").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(PatientHistoryTest, RegionThisReaderDoesNotAnswerForNamesItsPartition) {
  HistoryReadOptions options;
  options.answers_for = [](const hisbridge::index::v1::RegionMeta& meta) { return meta.inbox_partition() != 2; };
  auto history = ReadPatientHistory(*index_, "450321-P0000001", options);
  EXPECT_EQ(history.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(history.status().message(), HasSubstr("inbox partition 2"));
}

TEST_F(PatientHistoryTest, HistoryOverTheLimitIsRefusedNotCut) {
  HistoryReadOptions options;
  options.max_bytes = 60;  // about two of the small entries
  auto history = ReadPatientHistory(*index_, "450321-P0000001", options);
  EXPECT_EQ(history.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(history.status().message(), HasSubstr("hisbridge history --data-dir"));
  options.max_bytes = 1 << 20;
  EXPECT_TRUE(ReadPatientHistory(*index_, "450321-P0000001", options).ok());
}

TEST_F(PatientHistoryTest, LinkerReaderSeesWhatTheLinkerCommitsLater) {
  std::set<int32_t> owned = {2};
  LinkerHistoryOptions options;
  options.index_path = path();
  options.owned_partitions = [&owned] { return owned; };
  LinkerHistoryReader reader(options);
  auto before = reader.Read("450321-P0000001");
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->entries_size(), 3);

  index::IndexBatch batch = index_->NewBatch();
  batch.PutAudit("450321", "450321-P0000001", 301, Entry("unmerged", "", "steward-li"));
  batch.PutAudit("450321", "450321-P0000002", 302, Entry("created", "B1"));
  ASSERT_TRUE(index_->Commit(&batch).ok());
  auto after = reader.Read("450321-P0000001");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(Actions(*after), ElementsAre("created", "linked", "merged", "unmerged"));
  EXPECT_TRUE(reader.Read("450321-P0000002").ok());

  EXPECT_EQ(reader.Read("450321-P").status().code(), absl::StatusCode::kInvalidArgument);
  owned = {0, 1};
  EXPECT_EQ(reader.Read("450321-P0000001").status().code(), absl::StatusCode::kFailedPrecondition);
  owned.clear();
  EXPECT_EQ(reader.Read("450321-P0000001").status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PatientHistoryTest, LinkerReaderWithoutAnIndexYetIsUnavailable) {
  LinkerHistoryOptions options;
  options.index_path = dir_ + "/not-there";
  LinkerHistoryReader reader(options);
  auto history = reader.Read("450321-P0000001");
  EXPECT_EQ(history.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(history.status().message(), HasSubstr("does not exist yet"));
}

}  // namespace
}  // namespace hisbridge::admin
