#include "libs/security/access_log.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/base/file_util.h"

namespace hisbridge::security {
namespace {

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = MakeTempDirectory("hb-access-log-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    dir_ = *dir;
  }
  void TearDown() override { (void)RemoveRecursively(dir_); }

  std::unique_ptr<AccessLog> Open(const AccessLogOptions& options) {
    auto log = AccessLog::Open(dir_ + "/log", nullptr, options, &clock_);
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  static hisbridge::v1::AccessLogEntry Entry(const std::string& who) {
    hisbridge::v1::AccessLogEntry e;
    e.set_who(who);
    e.set_role("reader");
    e.set_method("QueryService.GetPatient");
    e.set_purpose("treatment");
    e.set_allowed(true);
    return e;
  }

  // Every entry of the log, oldest first, following the pages.
  static std::vector<hisbridge::v1::AccessLogEntry> All(const AccessLog& log) {
    std::vector<hisbridge::v1::AccessLogEntry> out;
    hisbridge::v1::ListAccessLogRequest request;
    request.set_page_size(1000);
    while (true) {
      auto page = log.List(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return out;
      for (const auto& e : page->entries()) out.push_back(e);
      if (page->next_page_token().empty()) return out;
      request.set_page_token(page->next_page_token());
    }
  }

  std::string dir_;
  FakeClock clock_;  // every entry at the same time: the order is the sequence's
};

TEST_F(AccessLogTest, BatchedEntriesAreListedInTheOrderTheyWereRecorded) {
  AccessLogOptions options;
  options.max_delay = absl::Seconds(30);  // only List's flush writes them
  auto log = Open(options);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->Record(Entry("reader"), {absl::StrCat("P", i)}).ok());
  EXPECT_EQ(log->written(), 0);
  const auto entries = All(*log);
  ASSERT_EQ(entries.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(entries[static_cast<size_t>(i)].patient_id(), absl::StrCat("P", i));
  EXPECT_EQ(log->written(), 100);
  EXPECT_FALSE(entries[0].time().empty());
}

TEST_F(AccessLogTest, ACallWithoutPatientsIsOneEntryAndOneWithManyIsOneEach) {
  auto log = Open(AccessLogOptions());
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Record(Entry("searcher"), {}).ok());
  ASSERT_TRUE(log->Record(Entry("matcher"), {"P1", "P2", "P3"}).ok());
  const auto entries = All(*log);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].who(), "searcher");
  EXPECT_EQ(entries[0].patient_id(), "");
  EXPECT_EQ(entries[3].patient_id(), "P3");
}

TEST_F(AccessLogTest, QueuedEntriesAreWrittenWhenTheLogCloses) {
  AccessLogOptions options;
  options.max_delay = absl::Seconds(30);
  {
    auto log = Open(options);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Record(Entry("reader"), {absl::StrCat("P", i)}).ok());
  }
  auto reopened = Open(options);
  ASSERT_NE(reopened, nullptr);
  const auto entries = All(*reopened);
  ASSERT_EQ(entries.size(), 10u);
  EXPECT_EQ(entries[9].patient_id(), "P9");
}

TEST_F(AccessLogTest, EntriesAreWrittenWithinTheDelayWithoutAFlush) {
  AccessLogOptions options;
  options.max_delay = absl::Milliseconds(5);
  auto log = Open(options);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Record(Entry("reader"), {"P1"}).ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (log->written() < 1 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(log->written(), 1);
}

TEST_F(AccessLogTest, SynchronousModeWritesBeforeRecordReturns) {
  AccessLogOptions options;
  options.max_delay = absl::ZeroDuration();
  auto log = Open(options);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Record(Entry("reader"), {"P1", "P2"}).ok());
  EXPECT_EQ(log->written(), 2);
  EXPECT_EQ(All(*log).size(), 2u);
}

TEST_F(AccessLogTest, AWriterThatFallsBehindRefusesNewEntriesAndLosesNone) {
  AccessLogOptions options;
  options.max_delay = absl::Seconds(30);
  options.max_pending = 5;
  auto log = Open(options);
  ASSERT_NE(log, nullptr);
  // Recording is far faster than a RocksDB batch write, so the queue
  // fills: past max_pending, Record refuses at once rather than blocking
  // its caller (a gRPC thread) or dropping the entry.
  int accepted = 0, refused = 0;
  absl::Status refusal;
  for (int i = 0; i < 20000 && refused < 3; ++i) {
    absl::Status s = log->Record(Entry("reader"), {absl::StrCat("P", i)});
    if (s.ok()) {
      ++accepted;
    } else {
      ASSERT_TRUE(absl::IsResourceExhausted(s)) << s;
      refusal = s;
      ++refused;
    }
  }
  ASSERT_EQ(refused, 3) << "the queue never filled";
  EXPECT_GE(accepted, 5);
  EXPECT_NE(refusal.message().find("the access log is behind"), absl::string_view::npos) << refusal;
  // Every accepted entry is written; none of the refused ones.
  EXPECT_EQ(All(*log).size(), static_cast<size_t>(accepted));
  // Once the writer caught up, entries are taken again.
  EXPECT_TRUE(log->Record(Entry("reader"), {"after"}).ok());
}

TEST_F(AccessLogTest, ConcurrentCallersKeepEachThreadsOrder) {
  auto log = Open(AccessLogOptions());
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < kPerThread; ++i) {
        EXPECT_TRUE(log->Record(Entry(absl::StrCat("reader", t)), {absl::StrCat(i)}).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const auto entries = All(*log);
  ASSERT_EQ(entries.size(), static_cast<size_t>(kThreads * kPerThread));
  std::vector<int> next(kThreads, 0);
  for (const auto& e : entries) {
    const int t = e.who().back() - '0';
    ASSERT_GE(t, 0);
    ASSERT_LT(t, kThreads);
    EXPECT_EQ(e.patient_id(), absl::StrCat(next[static_cast<size_t>(t)]++));
  }
}

}  // namespace
}  // namespace hisbridge::security
