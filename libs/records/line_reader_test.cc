#include "libs/records/line_reader.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"
#include "libs/records/record_json.h"

namespace hisbridge::records {
namespace {

struct Seen {
  int64_t number;
  std::string text;
  bool too_long;
};

std::vector<Seen> ReadAll(LineReader* reader) {
  std::vector<Seen> out;
  Line line;
  while (reader->Next(&line)) out.push_back({line.number, std::string(line.text), line.too_long});
  EXPECT_TRUE(reader->status().ok());
  return out;
}

TEST(LineReader, BomCrlfBlankLinesAndMissingFinalNewline) {
  auto reader = LineReader::FromString("\xEF\xBB\xBF{\"a\":1}\r\n\r\n   \n{\"b\":2}\n{\"c\":3}");
  auto lines = ReadAll(reader.get());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].number, 1);
  EXPECT_EQ(lines[0].text, "{\"a\":1}");
  EXPECT_EQ(lines[1].number, 4);
  EXPECT_EQ(lines[2].number, 5);
  EXPECT_EQ(lines[2].text, "{\"c\":3}");
}

TEST(LineReader, FileAcrossManyBlocksWithResume) {
  auto dir = MakeTempDirectory("line_reader_test");
  ASSERT_TRUE(dir.ok());
  const std::string path = *dir + "/big.jsonl";
  std::string contents;
  const int kLines = 200000;  // ~6 MB: crosses the 4 MiB block boundary
  for (int i = 0; i < kLines; ++i) contents += "{\"record_id\":\"R" + std::to_string(i) + "\",\"pad\":\"xxxx\"}\n";
  ASSERT_TRUE(WriteFileAtomically(path, contents).ok());
  auto reader = LineReader::Open(path);
  ASSERT_TRUE(reader.ok());
  Line line;
  int count = 0;
  int64_t resume_offset = 0;
  RecordJsonParser parser;
  ParsedRecord parsed;
  while ((*reader)->Next(&line)) {
    ASSERT_EQ(line.number, count + 1);
    parser.Parse(line.text, &parsed, /*padded=*/true);
    ASSERT_TRUE(parsed.ok()) << line.text;
    ASSERT_EQ(parsed.record.record_id(), "R" + std::to_string(count));
    if (count == 123456) resume_offset = line.end_offset;
    ++count;
  }
  EXPECT_EQ(count, kLines);
  auto resumed = LineReader::Open(path, resume_offset, 123458);
  ASSERT_TRUE(resumed.ok());
  ASSERT_TRUE((*resumed)->Next(&line));
  EXPECT_EQ(line.number, 123458);
  EXPECT_EQ(line.text, "{\"record_id\":\"R123457\",\"pad\":\"xxxx\"}");
  ASSERT_TRUE(RemoveRecursively(*dir).ok());
}

TEST(LineReader, OverlongLineIsReportedAndTheNextLineSurvives) {
  std::string contents = "{\"a\":1}\n" + std::string(kMaxLineBytes + 10, 'x') + "\n{\"b\":2}\n";
  auto reader = LineReader::FromString(contents);
  auto lines = ReadAll(reader.get());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[1].too_long);
  EXPECT_EQ(lines[1].number, 2);
  EXPECT_EQ(lines[2].text, "{\"b\":2}");
}

TEST(LineReader, OverlongLineInAFileAcrossBlocks) {
  auto dir = MakeTempDirectory("line_reader_test");
  ASSERT_TRUE(dir.ok());
  const std::string path = *dir + "/long.jsonl";
  std::string contents = "{\"a\":1}\n" + std::string(9 << 20, 'y') + "\n{\"b\":2}\n";
  ASSERT_TRUE(WriteFileAtomically(path, contents).ok());
  auto reader = LineReader::Open(path);
  ASSERT_TRUE(reader.ok());
  auto lines = ReadAll(reader->get());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(lines[1].too_long);
  EXPECT_EQ(lines[2].number, 3);
  EXPECT_EQ(lines[2].text, "{\"b\":2}");
  ASSERT_TRUE(RemoveRecursively(*dir).ok());
}

// A bad line never costs its neighbours: every good line of a file with
// garbage between them parses.
TEST(LineReader, BadNeighboursDoNotLoseValidLines) {
  const std::string good =
      R"({"kind":"patient","facility_id":"F","record_id":"R","event_time":"2026-03-01T08:30:00Z"})";
  const std::string contents = good + "\n{not json\n" + good + "\n\xff\xfe\n" + good + "\n[1]\n" + good;
  auto reader = LineReader::FromString(contents);
  RecordJsonParser parser;
  ParsedRecord parsed;
  Line line;
  std::vector<int64_t> ok_lines, bad_lines;
  while (reader->Next(&line)) {
    parser.Parse(line.text, &parsed, true);
    (parsed.ok() ? ok_lines : bad_lines).push_back(line.number);
  }
  EXPECT_THAT(ok_lines, ::testing::ElementsAre(1, 3, 5, 7));
  EXPECT_THAT(bad_lines, ::testing::ElementsAre(2, 4, 6));
}

TEST(LineReader, MissingFileNamesThePath) {
  auto reader = LineReader::Open("/nonexistent/x.jsonl");
  ASSERT_FALSE(reader.ok());
  EXPECT_THAT(std::string(reader.status().message()), ::testing::HasSubstr("/nonexistent/x.jsonl"));
}

}  // namespace
}  // namespace hisbridge::records
