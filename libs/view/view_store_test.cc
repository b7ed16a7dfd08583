#include "libs/view/view_store.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/index/kv_store.h"
#include "libs/view/search_keys.h"
#include "libs/view/test_patients.h"

namespace hisbridge::view {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using testing::OnePatient;
using testing::Person;

const Person kWang{"王小明", "450321198503021232", "1985-03-02", "1", "13907731864", "广西阳朔县白沙镇遇龙村5组"};

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
    log::SetLevel(log::Level::kWarning);
    dir_ = MakeTempDirectory("view_store_test").value();
    matcher_ = match::MakeMatcher("fs", "").value();
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  void Reopen(bool warm_cache = true, size_t block_cache_bytes = 256 << 20) {
    store_.reset();
    ViewStoreOptions options;
    options.matcher = matcher_.get();
    options.max_changes_per_partition = 5;
    options.warm_cache = warm_cache;
    options.kv.block_cache_bytes = block_cache_bytes;
    store_ = ViewStore::Open(dir_ + "/db", options).value();
  }
  std::string SourceOwner(const std::string& record, const std::string& facility = "F") {
    return store_->PatientIdOfSource(facility, record).value().value_or("<none>");
  }
  std::vector<std::string> Search(const hisbridge::v1::SearchPatientsRequest& request) {
    auto plan = SearchPlan::Make(request, absl::CivilDay(2026, 3, 1)).value();
    std::vector<std::string> ids;
    EXPECT_TRUE(store_->ScanSearch(plan.prefix(), "", [&](absl::string_view, absl::string_view id) {
                        ids.emplace_back(id);
                        return true;
                      }).ok());
    return ids;
  }
  std::string dir_;
  std::unique_ptr<match::Matcher> matcher_;
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
  batch.SetChangesNextOffset(0, 12);
  ASSERT_TRUE(store_->Commit(&batch).ok());
  Reopen();
  auto offsets = store_->LoadOffsets().value();
  EXPECT_EQ(offsets[0], 17);
  EXPECT_EQ(offsets[3], 4);
  auto wm = store_->LoadWatermarks().value();
  EXPECT_EQ((wm[{1, 0}]), 99);
  EXPECT_EQ(store_->LoadChangeOffsets().value()[0], 12);
}

TEST_F(ViewStoreTest, SearchKeysFollowTheActivePatient) {
  auto batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutPatient(OnePatient("450321-P0000001", 1, kWang)).value());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  hisbridge::v1::SearchPatientsRequest by_phone;
  by_phone.set_phone("139-0773-1864");
  EXPECT_THAT(Search(by_phone), ElementsAre("450321-P0000001"));
  EXPECT_EQ(store_->match_index().patient_count(), 1u);

  // A newer version with another phone: the old key goes.
  Person moved = kWang;
  moved.phone = "13977718642";
  batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutPatient(OnePatient("450321-P0000001", 2, moved)).value());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  EXPECT_THAT(Search(by_phone), ElementsAre());
  by_phone.set_phone("13977718642");
  EXPECT_THAT(Search(by_phone), ElementsAre("450321-P0000001"));

  // Merged away: out of the search and match indexes.
  hisbridge::v1::Patient merged = OnePatient("450321-P0000001", 3, moved);
  merged.set_status(hisbridge::v1::PATIENT_STATUS_MERGED);
  merged.set_merged_into("450321-P0000002");
  batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutPatient(merged).value());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  EXPECT_THAT(Search(by_phone), ElementsAre());
  EXPECT_EQ(store_->match_index().patient_count(), 0u);
}

TEST_F(ViewStoreTest, NewEventsKeepThePreparedSourcesAndKeys) {
  auto batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutPatient(OnePatient("450321-P0000001", 1, kWang)).value());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  hisbridge::v1::Patient with_event = OnePatient("450321-P0000001", 2, kWang);
  with_event.add_events()->set_event_id("E1");
  batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutPatient(with_event).value());
  // A second version in the same batch, prepared from the pending one.
  with_event.set_version(3);
  with_event.add_events()->set_event_id("E2");
  ASSERT_TRUE(batch.PutPatient(with_event).value());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  hisbridge::v1::SearchPatientsRequest by_id;
  by_id.set_id_number(kWang.id_number);
  EXPECT_THAT(Search(by_id), ElementsAre("450321-P0000001"));
  EXPECT_EQ(store_->GetPatient("450321-P0000001").value()->events_size(), 2);
  bool indexed = store_->match_index().ForPatient("450321-P0000001", [](const PreparedPatient& p) {
    ASSERT_EQ(p.sources.size(), 1u);
    EXPECT_EQ(p.sources[0].record.resident_id, "450321198503021232");
  });
  EXPECT_TRUE(indexed);
}

TEST_F(ViewStoreTest, IndexesAreRebuiltWhenTheStoreOpens) {
  auto batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutPatient(OnePatient("450321-P0000001", 1, kWang)).value());
  ASSERT_TRUE(batch.PutPatient(OnePatient("450321-P0000002", 1, {"李梅", "", "1990-01-01", "2", "", ""})).value());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  Reopen();
  EXPECT_EQ(store_->match_index().patient_count(), 2u);
  hisbridge::v1::SearchPatientsRequest by_name;
  by_name.set_name("李梅");
  by_name.set_birth_date("1990");
  EXPECT_THAT(Search(by_name), ElementsAre("450321-P0000002"));
}

TEST_F(ViewStoreTest, OpeningWarmsTheBlockCacheWithViewsAndSourcesUpToNinetyPerCent) {
  // About 6 MiB of views: 1,500 patients with 40 events of 100 bytes.
  auto batch = store_->NewBatch();
  for (int i = 0; i < 1500; ++i) {
    hisbridge::v1::Patient p = Patient(absl::StrCat("P", 100000 + i), 1, {absl::StrCat("r", i)});
    for (int e = 0; e < 40; ++e) {
      auto* event = p.add_events();
      event->set_event_id(absl::StrCat("P", i, "-e", e, std::string(100, 'x')));
    }
    ASSERT_TRUE(batch.PutPatient(p).value());
  }
  ASSERT_TRUE(store_->Commit(&batch).ok());
  // The first reopen moves what the log holds into table files.
  Reopen(/*warm_cache=*/false);
  Reopen(/*warm_cache=*/false);
  const uint64_t cold = store_->GetStats().block_cache_bytes;
  Reopen(/*warm_cache=*/true);
  const uint64_t warm = store_->GetStats().block_cache_bytes;
  EXPECT_GT(warm, cold + (5u << 20)) << "cold " << cold;
  EXPECT_EQ(store_->GetStats().block_cache_capacity_bytes, 256u << 20);

  // A cache smaller than the views is filled to 90 %, not past it.
  Reopen(/*warm_cache=*/true, /*block_cache_bytes=*/2 << 20);
  const uint64_t small = store_->GetStats().block_cache_bytes;
  EXPECT_GE(small, (2u << 20) / 10 * 9);
  EXPECT_LT(small, (2u << 20));
  EXPECT_EQ(SourceOwner("r1499"), "P101499");
}

TEST_F(ViewStoreTest, SummariesAreTheViewWithoutEvents) {
  hisbridge::v1::Patient p = OnePatient("450321-P0000001", 1, kWang);
  auto* provenance = p.add_provenance();
  provenance->set_field("name");
  provenance->set_rule("trust");
  for (int i = 0; i < 3; ++i) p.add_events()->set_event_id("E" + std::to_string(i));
  auto batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutPatient(p).value());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  hisbridge::v1::Patient expected = p;
  expected.clear_events();
  EXPECT_EQ(store_->GetPatientSummaryBytes(p.patient_id()).value().value_or(""), expected.SerializeAsString());
  EXPECT_FALSE(store_->GetPatientSummaryBytes("450321-P0000404").value().has_value());

  // A store whose match family holds the older stubs (no provenance) gets
  // summaries when it is opened.
  store_.reset();
  {
    index::KvStoreOptions kv;
    kv.families = {"patients", "match",    "sources", "search",         "reviews",   "review_order",
                   "commands", "changes",  "offsets", "change_offsets", "watermarks"};
    auto raw = index::KvStore::Open(dir_ + "/db", kv).value();
    hisbridge::v1::Patient stub;
    stub.set_patient_id(p.patient_id());
    stub.set_version(p.version());
    *stub.add_sources() = p.sources(0);
    auto old = raw->NewBatch();
    old.Put(raw->Family("match"), p.patient_id(), stub.SerializeAsString());
    old.Delete(0, "match_schema");
    ASSERT_TRUE(raw->Write(&old).ok());
  }
  Reopen();
  EXPECT_EQ(store_->GetPatientSummaryBytes(p.patient_id()).value().value_or(""), expected.SerializeAsString());
  EXPECT_EQ(store_->match_index().patient_count(), 1u);
}

TEST_F(ViewStoreTest, ReviewItemsNewestStateWinsAndCountsFollow) {
  hisbridge::v1::ReviewItem a;
  a.set_review_id("R1");
  a.set_status(hisbridge::v1::REVIEW_STATUS_OPEN);
  a.set_region("450321");
  a.set_created_at("2026-03-02T08:00:00+08:00");
  hisbridge::v1::ReviewItem b = a;
  b.set_review_id("R2");
  b.set_created_at("2026-03-01T08:00:00+08:00");
  auto batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutReviewItem(a).ok());
  ASSERT_TRUE(batch.PutReviewItem(b).ok());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  EXPECT_EQ(store_->OpenReviewCount(""), 2);
  EXPECT_EQ(store_->OpenReviewCount("450321"), 2);
  EXPECT_EQ(store_->OpenReviewCount("450323"), 0);
  a.set_status(hisbridge::v1::REVIEW_STATUS_RESOLVED);
  batch = store_->NewBatch();
  ASSERT_TRUE(batch.PutReviewItem(a).ok());
  ASSERT_TRUE(store_->Commit(&batch).ok());
  EXPECT_EQ(store_->OpenReviewCount(""), 1);
  std::vector<std::string> order;
  ASSERT_TRUE(store_->ScanReviewItems("", [&](absl::string_view, const hisbridge::v1::ReviewItem& item) {
                       order.push_back(item.review_id() + ":" +
                                       hisbridge::v1::ReviewStatus_Name(item.status()));
                       return true;
                     }).ok());
  EXPECT_THAT(order, ElementsAre("R2:REVIEW_STATUS_OPEN", "R1:REVIEW_STATUS_RESOLVED"));
  Reopen();
  EXPECT_EQ(store_->OpenReviewCount("450321"), 1);
}

TEST_F(ViewStoreTest, ChangesAreKeptInOrderAndTrimmed) {
  auto batch = store_->NewBatch();
  for (int64_t o = 3; o < 10; ++o) batch.PutChange(0, o, "v" + std::to_string(o));
  batch.PutChange(1, 0, "w0");
  batch.SetChangesNextOffset(0, 10);
  batch.SetChangesNextOffset(1, 1);
  ASSERT_TRUE(store_->Commit(&batch).ok());
  // At most 5 offsets per partition are kept.
  auto ranges = store_->ChangeRanges();
  EXPECT_EQ(ranges[0].first, 5);
  EXPECT_EQ(ranges[0].next, 10);
  EXPECT_EQ(ranges[1].first, 0);
  std::vector<std::string> seen;
  ASSERT_TRUE(store_->ScanChanges(0, 0, [&](int64_t offset, absl::string_view value) {
                       seen.push_back(std::to_string(offset) + "=" + std::string(value));
                       return true;
                     }).ok());
  EXPECT_THAT(seen, ElementsAre("5=v5", "6=v6", "7=v7", "8=v8", "9=v9"));
  Reopen();
  EXPECT_EQ(store_->ChangeRanges()[0].first, 5);
}

TEST_F(ViewStoreTest, CommandResults) {
  hisbridge::v1::CommandResult r;
  r.set_command_id("c1");
  r.set_applied(true);
  r.set_result("merged");
  auto batch = store_->NewBatch();
  batch.PutCommandResult(r);
  ASSERT_TRUE(store_->Commit(&batch).ok());
  EXPECT_EQ(store_->GetCommandResult("c1").value()->result(), "merged");
  EXPECT_FALSE(store_->GetCommandResult("c2").value().has_value());
}

}  // namespace
}  // namespace hisbridge::view
