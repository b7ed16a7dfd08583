#include "libs/csv/csv_reader.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/charset/charset.h"

namespace hisbridge::csv {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<CsvRow> ReadAll(absl::string_view data) {
  CsvReader reader(data);
  std::vector<CsvRow> rows;
  CsvRow row;
  while (reader.Next(&row)) rows.push_back(row);
  return rows;
}

TEST(CsvReaderTest, QuotedFieldsWithDelimitersNewlinesAndQuotes) {
  auto rows = ReadAll("\xEF\xBB\xBFname,address,note\r\n王小明,\"阳朔县,白沙镇\",\"line1\nline2 \"\"quoted\"\"\"\r\n\r\nlast,,\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(rows[0].fields, ElementsAre("name", "address", "note"));
  EXPECT_EQ(rows[0].begin_offset, 3);
  EXPECT_THAT(rows[1].fields, ElementsAre("王小明", "阳朔县,白沙镇", "line1\nline2 \"quoted\""));
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[2].line, 5);  // the quoted newline and the blank line count
  EXPECT_THAT(rows[2].fields, ElementsAre("last", "", ""));
  EXPECT_EQ(rows[2].end_offset, static_cast<int64_t>(std::string("\xEF\xBB\xBFname,address,note\r\n王小明,\"阳朔县,白沙镇\",\"line1\nline2 \"\"quoted\"\"\"\r\n\r\nlast,,\n").size()));
}

TEST(CsvReaderTest, BadRowIsReportedAndReadingContinues) {
  auto rows = ReadAll("a,b\n1,\"x\"y\n2,\"never closed\n3,ok\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_FALSE(rows[1].ok());
  EXPECT_EQ(rows[1].line, 2);
  EXPECT_EQ(rows[1].error_column, 2);
  EXPECT_THAT(rows[1].error, HasSubstr("after the closing quote"));
  EXPECT_FALSE(rows[2].ok());
  EXPECT_EQ(rows[2].line, 3);
  EXPECT_THAT(rows[2].error, HasSubstr("not closed"));
  ASSERT_TRUE(rows[3].ok());
  EXPECT_EQ(rows[3].line, 4);
  EXPECT_THAT(rows[3].fields, ElementsAre("3", "ok"));
}

TEST(CsvReaderTest, Gb18030BytesSplitExactly) {
  // 纜 is C0 7C in GBK: its trail byte is '|', harmless with ','. The reader
  // never splits inside a character for ',' because no trail byte is ','.
  auto gb = charset::FromUtf8("姓名,地址\n王小明,\"广西,阳朔\"\n", charset::Encoding::kGb18030);
  ASSERT_TRUE(gb.ok());
  auto rows = ReadAll(*gb);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(*charset::ToUtf8(rows[1].fields[0], charset::Encoding::kGb18030), "王小明");
  EXPECT_EQ(*charset::ToUtf8(rows[1].fields[1], charset::Encoding::kGb18030), "广西,阳朔");
}

TEST(CsvReaderTest, ResumesAtAnOffset) {
  const std::string data = "h1,h2\nA,1\nB,2\n";
  auto all = ReadAll(data);
  ASSERT_EQ(all.size(), 3u);
  CsvReader resumed(absl::string_view(data).substr(all[1].end_offset), all[1].end_offset, 3);
  CsvRow row;
  ASSERT_TRUE(resumed.Next(&row));
  EXPECT_EQ(row.line, 3);
  EXPECT_EQ(row.begin_offset, all[2].begin_offset);
  EXPECT_THAT(row.fields, ElementsAre("B", "2"));
  EXPECT_FALSE(resumed.Next(&row));
}

TEST(CsvReaderTest, CrOnlyAndNoFinalNewline) {
  auto rows = ReadAll("a,b\rc,d");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(rows[1].fields, ElementsAre("c", "d"));
  EXPECT_EQ(rows[1].line, 2);
}

}  // namespace
}  // namespace hisbridge::csv
