#include "libs/index/kv_store.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"

namespace hisbridge::index {
namespace {

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDirectory("kv_store_test");
    ASSERT_TRUE(dir.ok());
    dir_ = *dir;
  }
  void TearDown() override { ASSERT_TRUE(RemoveRecursively(dir_).ok()); }

  std::unique_ptr<KvStore> Open(const std::string& path) {
    KvStoreOptions options;
    options.families = {"a", "b"};
    auto store = KvStore::Open(path, options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  std::string dir_;
};

TEST_F(KvStoreTest, BatchIsAtomicAcrossFamiliesAndSurvivesReopen) {
  {
    auto store = Open(dir_ + "/db");
    const int a = store->Family("a"), b = store->Family("b");
    ASSERT_GT(a, 0);
    ASSERT_GT(b, 0);
    EXPECT_EQ(store->Family("nope"), -1);
    WriteBatch batch = store->NewBatch();
    batch.Put(a, "k1", "v1");
    batch.Put(b, "k1", "other");
    batch.Put(a, "k2", "v2");
    batch.Delete(a, "k2");
    EXPECT_EQ(batch.Count(), 4u);
    ASSERT_TRUE(store->Write(&batch).ok());
  }
  auto store = Open(dir_ + "/db");
  EXPECT_EQ(store->Get(store->Family("a"), "k1").value().value_or(""), "v1");
  EXPECT_EQ(store->Get(store->Family("b"), "k1").value().value_or(""), "other");
  EXPECT_FALSE(store->Get(store->Family("a"), "k2").value().has_value());
}

TEST_F(KvStoreTest, ScanStopsAtPrefixAndOnRequest) {
  auto store = Open(dir_ + "/db");
  const int a = store->Family("a");
  WriteBatch batch = store->NewBatch();
  batch.Put(a, JoinKey({"450", "a"}), "1");
  batch.Put(a, JoinKey({"450", "b"}), "2");
  batch.Put(a, JoinKey({"4501", "z"}), "3");
  batch.Put(a, JoinKey({"45", "x"}), "4");
  ASSERT_TRUE(store->Write(&batch).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(store->Scan(a, JoinKey({"450", ""}), [&](absl::string_view k, absl::string_view v) {
                     seen.push_back(std::string(SplitKey(k)[1]) + "=" + std::string(v));
                     return true;
                   }).ok());
  EXPECT_THAT(seen, ::testing::ElementsAre("a=1", "b=2"));
  seen.clear();
  ASSERT_TRUE(store->Scan(a, JoinKey({"450", ""}), [&](absl::string_view k, absl::string_view) {
                     seen.emplace_back(k);
                     return false;
                   }).ok());
  EXPECT_EQ(seen.size(), 1u);
}

TEST_F(KvStoreTest, CheckpointIsAnOpenableCopy) {
  auto store = Open(dir_ + "/db");
  const int a = store->Family("a");
  WriteBatch batch = store->NewBatch();
  batch.Put(a, "k", "before");
  ASSERT_TRUE(store->Write(&batch).ok());
  ASSERT_TRUE(store->Checkpoint(dir_ + "/copy").ok());
  WriteBatch later = store->NewBatch();
  later.Put(a, "k", "after");
  ASSERT_TRUE(store->Write(&later).ok());
  auto copy = Open(dir_ + "/copy");
  EXPECT_EQ(copy->Get(copy->Family("a"), "k").value().value_or(""), "before");
}

TEST_F(KvStoreTest, StatsReportSizeAndNoStallsOnAnIdleStore) {
  auto store = Open(dir_ + "/db");
  const int family = store->Family("a");
  ASSERT_GE(family, 0);
  KvStore::Stats empty = store->GetStats();
  EXPECT_EQ(empty.sst_bytes, 0u);
  WriteBatch batch = store->NewBatch();
  for (int i = 0; i < 1000; ++i) batch.Put(family, absl::StrCat("key", i), std::string(100, 'v'));
  ASSERT_TRUE(store->Write(&batch).ok());
  EXPECT_GT(store->GetStats().memtable_bytes, 0u);
  ASSERT_TRUE(store->Flush().ok());
  const KvStore::Stats stats = store->GetStats();
  EXPECT_GT(stats.sst_bytes, 0u);
  EXPECT_GT(stats.estimated_keys, 0u);
  EXPECT_FALSE(stats.write_stopped);
  EXPECT_EQ(stats.delayed_write_rate, 0u);
  EXPECT_EQ(stats.stall_micros, 0u);
  EXPECT_EQ(stats.write_stops, 0u);
  EXPECT_EQ(stats.write_slowdowns, 0u);
}

TEST(KeyEncoding, Uint64SortsNumerically) {
  EXPECT_LT(EncodeUint64(9), EncodeUint64(10));
  EXPECT_LT(EncodeUint64(255), EncodeUint64(256));
  EXPECT_EQ(DecodeUint64(EncodeUint64(1234567890123ULL)), 1234567890123ULL);
  EXPECT_THAT(SplitKey(JoinKey({"a", "", "c"})), ::testing::ElementsAre("a", "", "c"));
}

}  // namespace
}  // namespace hisbridge::index
