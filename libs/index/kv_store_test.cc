#include "libs/index/kv_store.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
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

TEST_F(KvStoreTest, CreatesMissingParentDirectoriesButNeverForAReader) {
  KvStoreOptions reader;
  reader.create_if_missing = false;
  EXPECT_FALSE(KvStore::Open(dir_ + "/none/db", reader).ok());
  EXPECT_FALSE(PathExists(dir_ + "/none")) << "a reader must not create directories";
  auto store = Open(dir_ + "/new/data/linker");
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(PathExists(dir_ + "/new/data/linker/CURRENT"));
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

// Scans are bounded just past their prefix, also when the prefix ends in
// 0xFF bytes (whose successor is shorter) or is empty (no bound).
TEST_F(KvStoreTest, ScanBoundsHoldForEveryPrefix) {
  auto store = Open(dir_ + "/db");
  const int a = store->Family("a");
  WriteBatch batch = store->NewBatch();
  for (const char* key : {"a", "a\xff", "a\xff\x01", "a\xff\xff", "a\xff\xff\x02", "b", "b\x01"}) {
    batch.Put(a, key, "v");
  }
  ASSERT_TRUE(store->Write(&batch).ok());
  auto scan = [&](absl::string_view prefix, absl::string_view start) {
    std::vector<std::string> seen;
    EXPECT_TRUE(store->ScanFrom(a, prefix, start, [&](absl::string_view k, absl::string_view) {
                       seen.emplace_back(k);
                       return true;
                     }).ok());
    return seen;
  };
  EXPECT_THAT(scan("a\xff", "a\xff"), ::testing::ElementsAre("a\xff", "a\xff\x01", "a\xff\xff", "a\xff\xff\x02"));
  EXPECT_THAT(scan("a\xff\xff", "a\xff\xff"), ::testing::ElementsAre("a\xff\xff", "a\xff\xff\x02"));
  EXPECT_THAT(scan("a", "a\xff\x01"), ::testing::ElementsAre("a\xff\x01", "a\xff\xff", "a\xff\xff\x02"));
  EXPECT_THAT(scan("b", "b"), ::testing::ElementsAre("b", "b\x01"));
  EXPECT_EQ(scan("", "").size(), 7u);
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

// Seals by prefixing, so the test can see whether a copy kept the sealed
// bytes.
class PrefixCipher : public ValueCipher {
 public:
  absl::StatusOr<std::string> Seal(absl::string_view, absl::string_view plaintext) const override {
    return absl::StrCat(kSealedValueMagic, plaintext);
  }
  absl::StatusOr<std::string> Open(absl::string_view, absl::string_view sealed) const override {
    return std::string(sealed.substr(kSealedValueMagic.size()));
  }
  bool IsSealed(absl::string_view value) const override { return absl::StartsWith(value, kSealedValueMagic); }
  bool SealedWithActiveKey(absl::string_view) const override { return true; }
};

TEST_F(KvStoreTest, SecondarySeesWholeBatchesOfARunningPrimaryAfterCatchingUp) {
  auto primary = Open(dir_ + "/db");
  const int a = primary->Family("a"), b = primary->Family("b");
  WriteBatch first = primary->NewBatch();
  first.Put(a, "k", "1");
  first.Put(b, "k", "1");
  ASSERT_TRUE(primary->Write(&first).ok());

  KvStoreOptions options;
  options.families = KvStore::ListFamilies(dir_ + "/db").value();
  EXPECT_THAT(options.families, ::testing::ElementsAre("a", "b"));
  options.secondary_path = dir_ + "/secondary";
  auto secondary = KvStore::Open(dir_ + "/db", options);
  ASSERT_TRUE(secondary.ok()) << secondary.status();
  EXPECT_EQ((*secondary)->Get(a, "k").value().value_or(""), "1");

  WriteBatch second = primary->NewBatch();
  second.Put(a, "k", "2");
  second.Put(b, "k", "2");
  ASSERT_TRUE(primary->Write(&second).ok());
  EXPECT_EQ((*secondary)->Get(a, "k").value().value_or(""), "1") << "frozen until it catches up";
  ASSERT_TRUE((*secondary)->CatchUpWithPrimary().ok());
  EXPECT_EQ((*secondary)->Get(a, "k").value().value_or(""), "2");
  EXPECT_EQ((*secondary)->Get(b, "k").value().value_or(""), "2");

  WriteBatch refused = (*secondary)->NewBatch();
  refused.Put(a, "k", "3");
  EXPECT_FALSE((*secondary)->Write(&refused).ok());
  EXPECT_EQ((*secondary)->Checkpoint(dir_ + "/copy").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(primary->CatchUpWithPrimary().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(KvStoreTest, CopyOfASecondaryKeepsEveryFamilyAndTheStoredBytes) {
  KvStoreOptions options;
  options.families = {"a", "b"};
  options.cipher = std::make_shared<PrefixCipher>();
  options.plaintext_families = {"default", "b"};
  auto primary = KvStore::Open(dir_ + "/db", options);
  ASSERT_TRUE(primary.ok()) << primary.status();
  const int a = (*primary)->Family("a"), b = (*primary)->Family("b");
  WriteBatch batch = (*primary)->NewBatch();
  for (int i = 0; i < 500; ++i) batch.Put(a, absl::StrCat("k", i), absl::StrCat("secret", i));
  batch.Put(b, "offset", "42");
  batch.Put(0, "schema", "v1");
  ASSERT_TRUE((*primary)->Write(&batch).ok());

  KvStoreOptions secondary_options;
  secondary_options.families = {"a", "b"};
  secondary_options.secondary_path = dir_ + "/secondary";
  auto secondary = KvStore::Open(dir_ + "/db", secondary_options);  // no cipher
  ASSERT_TRUE(secondary.ok()) << secondary.status();
  auto copied = (*secondary)->CopyTo(dir_ + "/copy");
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(*copied, 502);
  EXPECT_FALSE((*secondary)->CopyTo(dir_ + "/copy").ok()) << "never over an existing store";

  auto plain = Open(dir_ + "/copy");  // without the cipher: sealed values are refused, not shown
  EXPECT_EQ(plain->Get(b, "offset").value().value_or(""), "42");
  EXPECT_EQ(plain->Get(0, "schema").value().value_or(""), "v1");
  EXPECT_EQ(plain->Get(a, "k7").status().code(), absl::StatusCode::kFailedPrecondition);
  plain.reset();
  auto sealed = KvStore::Open(dir_ + "/copy", options);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ((*sealed)->Get(a, "k7").value().value_or(""), "secret7");
}

TEST_F(KvStoreTest, FailedLogWriteAppliesNothingAndRecoversToTheLastBatch) {
  auto faults = std::make_shared<WriteFaultInjection>();
  KvStoreOptions options;
  options.families = {"a", "b"};
  options.write_faults = faults;
  {
    auto store = KvStore::Open(dir_ + "/db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    const int a = (*store)->Family("a"), b = (*store)->Family("b");
    WriteBatch good = (*store)->NewBatch();
    good.Put(a, "state", "1");
    good.Put(b, "offset", "1");
    ASSERT_TRUE((*store)->Write(&good).ok());

    faults->fail = true;
    WriteBatch torn = (*store)->NewBatch();
    torn.Put(a, "state", "2");
    torn.Put(b, "offset", "2");
    const absl::Status failed = (*store)->Write(&torn);
    EXPECT_EQ(failed.code(), absl::StatusCode::kInternal) << failed;
    EXPECT_THAT(failed.message(), ::testing::HasSubstr("injected write fault"));
    EXPECT_EQ(faults->failed_appends.load(), 1);
    EXPECT_EQ((*store)->Get(a, "state").value().value_or(""), "1");
    faults->fail = false;
    WriteBatch after = (*store)->NewBatch();
    after.Put(a, "state", "3");
    EXPECT_FALSE((*store)->Write(&after).ok()) << "RocksDB stops writing after a log write error";
  }
  auto store = Open(dir_ + "/db");
  EXPECT_EQ(store->Get(store->Family("a"), "state").value().value_or(""), "1");
  EXPECT_EQ(store->Get(store->Family("b"), "offset").value().value_or(""), "1");
}

TEST_F(KvStoreTest, WarmCacheFillsTheCacheUpToTheLimitWithoutEvicting) {
  KvStoreOptions options;
  options.families = {"small", "large"};
  options.block_cache_bytes = 4 << 20;
  options.zstd_bottommost = false;
  {
    auto store = KvStore::Open(dir_ + "/db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    const int small = (*store)->Family("small"), large = (*store)->Family("large");
    WriteBatch batch = (*store)->NewBatch();
    for (int i = 0; i < 100; ++i) batch.Put(small, absl::StrCat("s", 1000 + i), std::string(100, 's'));
    // 16 MiB: four times the cache (which holds blocks uncompressed).
    for (int i = 0; i < 4096; ++i) {
      const std::string value(4096, static_cast<char>('a' + i % 26));
      batch.Put(large, absl::StrCat("l", 100000 + i), value);
    }
    ASSERT_TRUE((*store)->Write(&batch).ok());
    ASSERT_TRUE((*store)->Flush().ok());
  }
  // Reopened: the cache holds at most the files' index and filter blocks.
  auto store = KvStore::Open(dir_ + "/db", options);
  ASSERT_TRUE(store.ok()) << store.status();
  const int small = (*store)->Family("small"), large = (*store)->Family("large");
  EXPECT_EQ((*store)->BlockCacheCapacity(), size_t{4} << 20);
  EXPECT_LT((*store)->BlockCacheUsage(), size_t{1} << 20);

  // A family smaller than the limit is read to its end.
  auto warmed = (*store)->WarmCache({small}, 2 << 20);
  ASSERT_TRUE(warmed.ok()) << warmed.status();
  EXPECT_EQ(warmed->entries, 100);
  EXPECT_EQ(warmed->bytes, 100 * (5 + 100));
  EXPECT_FALSE(warmed->filled);

  // The large family stops once the limit is reached, short of the whole
  // family and of the capacity.
  warmed = (*store)->WarmCache({small, large}, 2 << 20);
  ASSERT_TRUE(warmed.ok()) << warmed.status();
  EXPECT_TRUE(warmed->filled);
  EXPECT_GT(warmed->entries, 100 + 256);
  EXPECT_LT(warmed->entries, 100 + 4096 / 2);
  EXPECT_GE((*store)->BlockCacheUsage(), size_t{2} << 20);
  EXPECT_LT((*store)->BlockCacheUsage(), (size_t{2} << 20) + (256 << 10));
  // What it read is served from the cache and still correct.
  auto value = (*store)->Get(large, "l100000");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->value_or("").size(), 4096u);

  EXPECT_EQ((*store)->WarmCache({99}, 1 << 20).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(KvStoreTest, MemoryOnlyReadsAnswerFromMemoryAndSayWhenTheyWouldNeedTheDisk) {
  KvStoreOptions options;
  options.families = {"f"};
  options.block_cache_bytes = 8 << 20;
  {
    auto store = KvStore::Open(dir_ + "/db", options);
    ASSERT_TRUE(store.ok()) << store.status();
    WriteBatch batch = (*store)->NewBatch();
    for (int i = 0; i < 2000; ++i) batch.Put((*store)->Family("f"), absl::StrCat("k", 10000 + i), std::string(500, 'v'));
    ASSERT_TRUE((*store)->Write(&batch).ok());
    ASSERT_TRUE((*store)->Flush().ok());
  }
  // Reopened: the data is only in the table file, the cache is cold.
  auto store = KvStore::Open(dir_ + "/db", options);
  ASSERT_TRUE(store.ok()) << store.status();
  const int f = (*store)->Family("f");

  auto cold = (*store)->Get(f, "k10005", ReadTier::kMemoryOnly);
  EXPECT_TRUE(IsNotInMemory(cold.status())) << cold.status();
  EXPECT_EQ(cold.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(cold.status().message()), ::testing::HasSubstr("not in memory"));

  // A read that may block brings the block in; then memory suffices.
  auto read = (*store)->Get(f, "k10005");
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->has_value());
  auto warm = (*store)->Get(f, "k10005", ReadTier::kMemoryOnly);
  ASSERT_TRUE(warm.ok()) << warm.status();
  EXPECT_EQ(warm->value_or(""), std::string(500, 'v'));
  // The absence of a key is answered from memory too (the filter is cached).
  auto absent = (*store)->Get(f, "k10005x", ReadTier::kMemoryOnly);
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->has_value());

  // A scan stops at the first block it would have to read, after showing
  // what came before it; with kAny it reads everything.
  int seen = 0;
  absl::Status scan = (*store)->ScanFrom(
      f, "k", "k10000", [&](absl::string_view, absl::string_view) { return ++seen, true; }, ReadTier::kMemoryOnly);
  EXPECT_TRUE(IsNotInMemory(scan)) << scan;
  EXPECT_LT(seen, 2000);
  seen = 0;
  ASSERT_TRUE((*store)->Scan(f, "k", [&](absl::string_view, absl::string_view) { return ++seen, true; }).ok());
  EXPECT_EQ(seen, 2000);
  seen = 0;
  scan = (*store)->ScanFrom(
      f, "k", "k10000", [&](absl::string_view, absl::string_view) { return ++seen, true; }, ReadTier::kMemoryOnly);
  EXPECT_TRUE(scan.ok()) << scan;
  EXPECT_EQ(seen, 2000);

  // Other errors are not mistaken for it.
  EXPECT_FALSE(IsNotInMemory(absl::UnavailableError("busy")));
  EXPECT_FALSE(IsNotInMemory(absl::OkStatus()));
}

// With no_wait_reads a memory-only read also takes blocks from the OS page
// cache, and refuses only what would wait for the device.
// Bytes that do not compress, different for every seed.
std::string Noise(int seed, size_t size) {
  std::string out(size, '\0');
  uint64_t x = 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(seed + 1);
  for (char& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

TEST_F(KvStoreTest, NoWaitReadsUseThePageCacheAndRefuseOnlyWhatNeedsTheDevice) {
  KvStoreOptions options;
  options.families = {"f"};
  options.no_wait_reads = true;
  const std::string path = dir_ + "/db";
  {
    auto store = KvStore::Open(path, options);
    ASSERT_TRUE(store.ok()) << store.status();
    // 8 MiB that does not compress, so that the table's first blocks are
    // far from its tail (which opening the table reads).
    WriteBatch batch = (*store)->NewBatch();
    for (int i = 0; i < 2000; ++i) batch.Put((*store)->Family("f"), absl::StrCat("k", 10000 + i), Noise(i, 4096));
    ASSERT_TRUE((*store)->Write(&batch).ok());
    ASSERT_TRUE((*store)->Flush().ok());
  }
  ASSERT_TRUE(EvictFromPageCache(path).ok());
  {
    // Neither cache holds the data blocks: refused, then read from disk.
    auto store = KvStore::Open(path, options);
    ASSERT_TRUE(store.ok()) << store.status();
    const int f = (*store)->Family("f");
    auto cold = (*store)->Get(f, "k10005", ReadTier::kMemoryOnly);
    EXPECT_TRUE(IsNotInMemory(cold.status())) << cold.status();
    int seen = 0;
    absl::Status scan = (*store)->ScanFrom(
        f, "k", "k10000", [&](absl::string_view, absl::string_view) { return ++seen, true; }, ReadTier::kMemoryOnly);
    EXPECT_TRUE(IsNotInMemory(scan)) << scan;
    // A blocking scan inside a memory-only scan's callback still blocks
    // (the setting is per read, not per thread).
    scan = (*store)->ScanFrom(
        f, "k", "k10000",
        [&](absl::string_view, absl::string_view) {
          auto inner = (*store)->Get(f, "k11999");
          EXPECT_TRUE(inner.ok() && inner->has_value()) << inner.status();
          return false;
        },
        ReadTier::kMemoryOnly);
    auto read = (*store)->Get(f, "k10005");
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->value_or(""), Noise(5, 4096));
    ASSERT_TRUE((*store)->Scan(f, "k", [&](absl::string_view, absl::string_view) { return true; }).ok());
  }
  // A new store (an empty block cache) over files the OS still caches:
  // answered from memory.
  auto store = KvStore::Open(path, options);
  ASSERT_TRUE(store.ok()) << store.status();
  const int f = (*store)->Family("f");
  auto warm = (*store)->Get(f, "k10005", ReadTier::kMemoryOnly);
  ASSERT_TRUE(warm.ok()) << warm.status();
  EXPECT_EQ(warm->value_or(""), Noise(5, 4096));
  int seen = 0;
  absl::Status scan = (*store)->ScanFrom(
      f, "k", "k10000", [&](absl::string_view, absl::string_view) { return ++seen, true; }, ReadTier::kMemoryOnly);
  EXPECT_TRUE(scan.ok()) << scan;
  EXPECT_EQ(seen, 2000);
  auto absent = (*store)->Get(f, "k10005x", ReadTier::kMemoryOnly);
  ASSERT_TRUE(absent.ok()) << absent.status();
  EXPECT_FALSE(absent->has_value());
}

TEST(KeyEncoding, Uint64SortsNumerically) {
  EXPECT_LT(EncodeUint64(9), EncodeUint64(10));
  EXPECT_LT(EncodeUint64(255), EncodeUint64(256));
  EXPECT_EQ(DecodeUint64(EncodeUint64(1234567890123ULL)), 1234567890123ULL);
  EXPECT_THAT(SplitKey(JoinKey({"a", "", "c"})), ::testing::ElementsAre("a", "", "c"));
}

}  // namespace
}  // namespace hisbridge::index
