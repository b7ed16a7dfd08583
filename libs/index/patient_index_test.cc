#include "libs/index/patient_index.h"

#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"

namespace hisbridge::index {
namespace {

using hisbridge::index::v1::OutboxEntry;
using hisbridge::index::v1::StoredLink;
using hisbridge::index::v1::StoredPatient;
using hisbridge::index::v1::StoredRecord;

class PatientIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDirectory("patient_index_test");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
    Reopen();
  }
  void TearDown() override {
    index_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  void Reopen() {
    index_.reset();
    auto index = PatientIndex::Open(dir_ + "/index");
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
  }

  static StoredRecord Record(const std::string& region, const std::string& facility, const std::string& id) {
    StoredRecord r;
    r.set_region(region);
    r.mutable_record()->set_kind("patient");
    r.mutable_record()->set_facility_id(facility);
    r.mutable_record()->set_record_id(id);
    return r;
  }

  std::string dir_;
  std::unique_ptr<PatientIndex> index_;
};

TEST_F(PatientIndexTest, EntitiesRoundTripPerRegion) {
  IndexBatch batch = index_->NewBatch();
  batch.PutRecord(Record("450321", "F1", "R1"));
  batch.PutRecord(Record("450321", "F1", "R2"));
  batch.PutRecord(Record("4503210", "F9", "R9"));  // a region whose code extends another
  StoredLink link;
  link.set_patient_id("450321-P0000001");
  batch.PutLink("450321", "F1", "R1", link);
  StoredPatient patient;
  patient.set_region("450321");
  patient.set_patient_id("450321-P0000001");
  patient.set_version(3);
  batch.PutPatient(patient);
  batch.PutBlockingToken("450321", 0x1234abcd5678ef00ULL, "F1", "R1");
  hisbridge::v1::Record encounter;
  encounter.set_kind("encounter");
  encounter.set_facility_id("F1");
  encounter.set_record_id("R1");
  encounter.set_encounter_id("E1");
  batch.PutEvent("450321", encounter);
  batch.SetNextOffset("inbox", 2, 41);
  ASSERT_TRUE(index_->Commit(&batch).ok());
  Reopen();

  std::vector<std::string> records;
  ASSERT_TRUE(index_->ForEachRecord("450321", [&](const StoredRecord& r) {
                      records.push_back(r.record().record_id());
                      return true;
                    }).ok());
  EXPECT_THAT(records, ::testing::ElementsAre("R1", "R2"));
  std::vector<std::string> links;
  ASSERT_TRUE(index_->ForEachLink("450321", [&](absl::string_view f, absl::string_view r, const StoredLink& l) {
                      links.push_back(std::string(f) + "/" + std::string(r) + "->" + l.patient_id());
                      return true;
                    }).ok());
  EXPECT_THAT(links, ::testing::ElementsAre("F1/R1->450321-P0000001"));
  int patients = 0;
  ASSERT_TRUE(index_->ForEachPatient("450321", [&](const StoredPatient& p) {
                      EXPECT_EQ(p.version(), 3);
                      ++patients;
                      return true;
                    }).ok());
  EXPECT_EQ(patients, 1);
  std::vector<std::string> blocked;
  ASSERT_TRUE(index_->ForEachBlocked("450321", 0x1234abcd5678ef00ULL, [&](absl::string_view f, absl::string_view r) {
                      blocked.push_back(std::string(f) + "/" + std::string(r));
                      return true;
                    }).ok());
  EXPECT_THAT(blocked, ::testing::ElementsAre("F1/R1"));
  int events = 0;
  ASSERT_TRUE(index_->ForEachEvent("450321", "F1", "R1", [&](const hisbridge::v1::Record& e) {
                      EXPECT_EQ(e.encounter_id(), "E1");
                      ++events;
                      return true;
                    }).ok());
  EXPECT_EQ(events, 1);
  EXPECT_EQ(index_->GetNextOffset("inbox", 2).value().value_or(-1), 41);
  EXPECT_FALSE(index_->GetNextOffset("inbox", 3).value().has_value());
}

TEST_F(PatientIndexTest, OutboxKeepsOrder) {
  IndexBatch batch = index_->NewBatch();
  for (uint64_t seq : {3, 1, 200, 2}) {
    OutboxEntry e;
    e.set_patient_id("P" + std::to_string(seq));
    batch.PutOutbox(seq, e);
  }
  ASSERT_TRUE(index_->Commit(&batch).ok());
  IndexBatch remove = index_->NewBatch();
  remove.DeleteOutbox(2);
  ASSERT_TRUE(index_->Commit(&remove).ok());
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(index_->ForEachOutbox([&](uint64_t seq, const OutboxEntry& e) {
                      EXPECT_EQ(e.patient_id(), "P" + std::to_string(seq));
                      seqs.push_back(seq);
                      return true;
                    }).ok());
  EXPECT_THAT(seqs, ::testing::ElementsAre(1, 3, 200));
}

TEST_F(PatientIndexTest, NextOffsetsListsEveryPartitionOfATopic) {
  IndexBatch batch = index_->NewBatch();
  batch.SetNextOffset("hisbridge.inbox", 0, 17);
  batch.SetNextOffset("hisbridge.inbox", 12, 3);
  batch.SetNextOffset("other.inbox", 1, 5);
  ASSERT_TRUE(index_->Commit(&batch).ok());
  auto offsets = index_->NextOffsets("hisbridge.inbox");
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  EXPECT_EQ(*offsets, (std::map<int32_t, int64_t>{{0, 17}, {12, 3}}));
  EXPECT_TRUE(index_->NextOffsets("missing").value().empty());
}

}  // namespace
}  // namespace hisbridge::index
