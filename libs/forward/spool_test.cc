#include "libs/forward/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"

namespace hisbridge::forward {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDirectory("spool_test").value(); }
  void TearDown() override { ASSERT_TRUE(RemoveRecursively(dir_).ok()); }
  SpoolOptions Options() {
    SpoolOptions o;
    o.dir = dir_ + "/spool";
    return o;
  }
  std::vector<std::string> PeekAll(const Spool& spool) {
    std::vector<std::string> out;
    EXPECT_TRUE(spool.Peek(1000, 1 << 30, &out).ok());
    return out;
  }
  std::string LastSegment() {
    std::string last;
    for (int i = 0; i < 100; ++i) {
      std::string p = absl::StrCat(dir_, "/spool/segment-", absl::Dec(i, absl::kZeroPad10), ".log");
      if (PathExists(p)) last = p;
    }
    return last;
  }
  std::string dir_;
};

TEST_F(SpoolTest, AppendPeekCommitSurviveReopen) {
  {
    auto spool = Spool::Open(Options());
    ASSERT_TRUE(spool.ok()) << spool.status();
    ASSERT_TRUE((*spool)->Append({"one", "two"}).ok());
    ASSERT_TRUE((*spool)->Append({"three"}).ok());
    EXPECT_THAT(PeekAll(**spool), ElementsAre("one", "two", "three"));
    ASSERT_TRUE((*spool)->Commit(1).ok());
  }
  auto spool = Spool::Open(Options());
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->recovery().pending_entries, 2);
  EXPECT_THAT(PeekAll(**spool), ElementsAre("two", "three"));
  ASSERT_TRUE((*spool)->Commit(2).ok());
  EXPECT_TRUE((*spool)->empty());
  ASSERT_TRUE((*spool)->Append({"four"}).ok());
  spool->reset();
  auto again = Spool::Open(Options());
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(PeekAll(**again), ElementsAre("four"));
}

TEST_F(SpoolTest, TornTailIsCutOffAndLaterAppendsWork) {
  {
    auto spool = Spool::Open(Options());
    ASSERT_TRUE(spool.ok());
    ASSERT_TRUE((*spool)->Append({"kept-1", "kept-2"}).ok());
  }
  // What kill -9 in the middle of an append leaves: a partial frame.
  const std::string segment = LastSegment();
  ASSERT_FALSE(segment.empty());
  {
    const int fd = ::open(segment.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    const char partial[] = "\x20\x00\x00\x00\x01\x02\x03\x04half";
    ASSERT_EQ(::write(fd, partial, sizeof(partial) - 1), static_cast<ssize_t>(sizeof(partial) - 1));
    ::close(fd);
  }
  auto spool = Spool::Open(Options());
  ASSERT_TRUE(spool.ok()) << spool.status();
  EXPECT_EQ((*spool)->recovery().discarded_tail_bytes, 12);
  EXPECT_THAT(PeekAll(**spool), ElementsAre("kept-1", "kept-2"));
  ASSERT_TRUE((*spool)->Append({"after"}).ok());
  spool->reset();
  auto reopened = Spool::Open(Options());
  ASSERT_TRUE(reopened.ok());
  EXPECT_THAT(PeekAll(**reopened), ElementsAre("kept-1", "kept-2", "after"));
}

TEST_F(SpoolTest, CorruptedTailEntryFailsCrc) {
  {
    auto spool = Spool::Open(Options());
    ASSERT_TRUE(spool.ok());
    ASSERT_TRUE((*spool)->Append({"good", "flipped"}).ok());
  }
  const std::string segment = LastSegment();
  struct stat st;
  ASSERT_EQ(::stat(segment.c_str(), &st), 0);
  const int fd = ::open(segment.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, "X", 1, st.st_size - 1), 1);
  ::close(fd);
  auto spool = Spool::Open(Options());
  ASSERT_TRUE(spool.ok());
  EXPECT_THAT(PeekAll(**spool), ElementsAre("good"));
}

TEST_F(SpoolTest, BoundedWithClearError) {
  SpoolOptions o = Options();
  o.max_bytes = 100;
  auto spool = Spool::Open(o);
  ASSERT_TRUE(spool.ok());
  ASSERT_TRUE((*spool)->Append({std::string(50, 'a')}).ok());
  absl::Status full = (*spool)->Append({std::string(50, 'b')});
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(full.message(), HasSubstr("spool full"));
  ASSERT_TRUE((*spool)->Commit(1).ok());
  EXPECT_TRUE((*spool)->Append({std::string(50, 'b')}).ok());
}

TEST_F(SpoolTest, RollsSegmentsAndDeletesForwardedOnes) {
  SpoolOptions o = Options();
  o.segment_bytes = 64;
  auto spool = Spool::Open(o);
  ASSERT_TRUE(spool.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*spool)->Append({std::string(40, static_cast<char>('a' + i))}).ok());
  std::vector<std::string> first;
  ASSERT_TRUE((*spool)->Peek(3, 1 << 20, &first).ok());
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[2], std::string(40, 'c'));
  ASSERT_TRUE((*spool)->Commit(5).ok());
  spool->reset();
  auto reopened = Spool::Open(o);
  ASSERT_TRUE(reopened.ok());
  auto rest = PeekAll(**reopened);
  ASSERT_EQ(rest.size(), 5u);
  EXPECT_EQ(rest[0], std::string(40, 'f'));
  ASSERT_TRUE((*reopened)->Commit(5).ok());
  int segments = 0;
  for (int i = 0; i < 100; ++i) {
    segments += PathExists(absl::StrCat(dir_, "/spool/segment-", absl::Dec(i, absl::kZeroPad10), ".log"));
  }
  EXPECT_EQ(segments, 1);
}

TEST(Crc32cTest, KnownValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

}  // namespace
}  // namespace hisbridge::forward
