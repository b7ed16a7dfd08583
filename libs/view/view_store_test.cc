#include "libs/view/view_store.h"

#include "gtest/gtest.h"
#include "libs/base/file_util.h"

namespace hisbridge::view {
namespace {

hisbridge::v1::Patient Patient(const std::string& id, int64_t version, std::vector<std::string> records) {
  hisbridge::v1::Patient p;
  p.set_patient_id(id);
  p.set_version(version);
  for (const std::string& r : records) {
    auto* s = p.add_sources();
    s->set_facility_id("F");
    s->set_record_id(r);
  }
  return p;
}

class ViewStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDirectory("view_store_test").value();
    store_ = ViewStore::Open(dir_ + "/db").value();
  }
  void TearDown() override {
    store_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  std::string SourceOwner(const std::string& record) {
    return store_->PatientIdOfSource("F", record).value().value_or("<none>");
  }
  std::string dir_;
  std::unique_ptr<ViewStore> store_;
};

TEST_F(ViewStoreTest, OnlyNewerVersionsReplace) {
  auto batch = store_->NewBatch();
  EXPECT_TRUE(batch.PutPatient(Patient("P1", 2, {"a"})).value());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  auto older = store_->NewBatch();
  EXPECT_FALSE(older.PutPatient(Patient("P1", 1, {"zzz"})).value());
  EXPECT_FALSE(older.PutPatient(Patient("P1", 2, {"zzz"})).value());
  ASSERT_TRUE(store_->Commit(&older).ok());
  EXPECT_EQ(store_->GetPatient("P1").value()->sources(0).record_id(), "a");
  EXPECT_EQ(SourceOwner("zzz"), "<none>");
}

TEST_F(ViewStoreTest, RecordMovingBetweenPatientsInEitherOrder) {
  auto batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutPatient(Patient("A", 1, {"r1", "r2"})).ok());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  // r2 moves to B; B's view arrives before A's, in the same batch.
  auto move = store_->NewBatch();
  ASSERT_TRUE(move.PutPatient(Patient("B", 1, {"r2"})).ok());
  ASSERT_TRUE(move.PutPatient(Patient("A", 2, {"r1"})).ok());
  ASSERT_TRUE(store_->Commit(&move).ok());
  EXPECT_EQ(SourceOwner("r2"), "B");
  EXPECT_EQ(SourceOwner("r1"), "A");
  // And back, A first this time, in separate batches.
  auto back_a = store_->NewBatch();
  ASSERT_TRUE(back_a.PutPatient(Patient("A", 3, {"r1", "r2"})).ok());
  ASSERT_TRUE(store_->Commit(&back_a).ok());
  auto back_b = store_->NewBatch();
  ASSERT_TRUE(back_b.PutPatient(Patient("B", 2, {})).ok());
  ASSERT_TRUE(store_->Commit(&back_b).ok());
  EXPECT_EQ(SourceOwner("r2"), "A");
}

TEST_F(ViewStoreTest, OffsetsAndWatermarksPersist) {
  auto batch = store_->NewBatch();
  batch.SetNextOffset(0, 17);
  batch.SetNextOffset(3, 4);
  batch.SetWatermark(1, 0, 99);
  ASSERT_TRUE(store_->Commit(&batch).ok());
  store_.reset();
  store_ = ViewStore::Open(dir_ + "/db").value();
  auto offsets = store_->LoadOffsets().value();
  EXPECT_EQ(offsets[0], 17);
  EXPECT_EQ(offsets[3], 4);
  auto wm = store_->LoadWatermarks().value();
  EXPECT_EQ((wm[{1, 0}]), 99);
}

}  // namespace
}  // namespace hisbridge::view
