#include "libs/report/report_format.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/report/data_quality.h"

namespace hisbridge::report {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

hisbridge::v1::FacilityQuality Facility(const std::string& id, const std::string& name, int64_t records,
                                        double id_filled, double invalid_id_rate) {
  hisbridge::v1::FacilityQuality f;
  f.set_facility_id(id);
  f.set_facility_name(name);
  f.set_records(records);
  for (const char* field : kReportFields) {
    auto* c = f.add_completeness();
    c->set_field(field);
    c->set_filled(std::string(field) == "id_number" ? id_filled : 1.0);
    c->set_invalid(std::string(field) == "birth_date" ? 0.25 : 0.0);
  }
  f.set_invalid_id_rate(invalid_id_rate);
  f.set_in_facility_duplicate_rate(0.02);
  f.set_auto_link_rate(0.5);
  f.set_review_rate(0.1);
  f.set_new_patient_rate(0.4);
  return f;
}

hisbridge::v1::DataQualityReport TwoFacilities() {
  hisbridge::v1::DataQualityReport report;
  report.set_generated_at("2024-05-01T00:00:00Z");
  *report.add_facilities() = Facility("450324-WS-001", "全州镇卫生院", 100, 1.0, 0.1);
  auto* b = report.add_facilities();
  *b = Facility("450324-CS-0001", "石城村卫生室, \"东\"", 300, 0.5, 0.2);
  (*b->mutable_rejects_by_reason())["event_time:rfc3339"] = 2;
  (*b->mutable_rejects_by_reason())["record_id:required"] = 5;
  (*b->mutable_rejects_by_reason())["a:b"] = 2;
  return report;
}

TEST(DisplayWidthTest, HanCharactersTakeTwoColumns) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("全州县"), 6u);
  EXPECT_EQ(DisplayWidth("WS-全州"), 7u);
  EXPECT_EQ(DisplayWidth("\xff"), 1u);  // invalid UTF-8: one column per byte
}

TEST(SortedRejectsTest, MostFrequentFirstThenByName) {
  const auto report = TwoFacilities();
  EXPECT_THAT(SortedRejects(report.facilities(1)),
              ElementsAre(Pair("record_id:required", 5), Pair("a:b", 2), Pair("event_time:rfc3339", 2)));
}

TEST(FormatCsvTest, HeaderRowsAndQuoting) {
  const std::string csv = FormatCsv(TwoFacilities());
  const std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "facility_id,facility_name,records,name_filled,name_invalid,sex_filled,sex_invalid,birth_date_filled,"
            "birth_date_invalid,id_number_filled,id_number_invalid,phone_filled,phone_invalid,address_filled,"
            "address_invalid,invalid_id_rate,in_facility_duplicate_rate,auto_link_rate,review_rate,new_patient_rate,"
            "rejects_by_reason");
  EXPECT_EQ(lines[1],
            "450324-WS-001,全州镇卫生院,100,1.000000,0.000000,1.000000,0.000000,1.000000,0.250000,1.000000,0.000000,"
            "1.000000,0.000000,1.000000,0.000000,0.100000,0.020000,0.500000,0.100000,0.400000,");
  EXPECT_THAT(lines[2], HasSubstr("450324-CS-0001,\"石城村卫生室, \"\"东\"\"\",300,"));
  EXPECT_THAT(lines[2], HasSubstr(",record_id:required=5;a:b=2;event_time:rfc3339=2"));
}

TEST(FormatTableTest, AlignedRowsTotalAndHeading) {
  TableOptions options;
  options.heading = {"hisbridge data-quality report"};
  options.max_reasons = 2;
  const std::string table = FormatTable(TwoFacilities(), options);
  const std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_GE(lines.size(), 8u);
  EXPECT_EQ(lines[0], "hisbridge data-quality report");
  EXPECT_EQ(lines[1], "");
  const std::string& header = lines[2];
  EXPECT_THAT(header, HasSubstr("facility"));
  EXPECT_THAT(header, HasSubstr("bad-id%"));
  // Every row ends its "records" column where the header does, whatever
  // the width of the Han names before it.
  const size_t records_end = DisplayWidth(header.substr(0, header.find("records") + 7));
  int rows = 0;
  for (const std::string& line : lines) {
    if (line.rfind("450324-", 0) != 0 && line.rfind("TOTAL", 0) != 0) continue;
    ++rows;
    const std::vector<std::string> cells = absl::StrSplit(line, absl::ByString("  "), absl::SkipEmpty());
    ASSERT_GE(cells.size(), 3u) << line;
    const size_t end = DisplayWidth(line.substr(0, line.find(cells[2]) + cells[2].size()));
    EXPECT_EQ(end, records_end) << line;
  }
  EXPECT_EQ(rows, 3);
  EXPECT_THAT(table, HasSubstr("5 record_id:required, 2 a:b, +1 more"));
  // All facilities: 400 records; ids present 100 + 150, bad 10 + 30: 16%.
  const auto total = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("TOTAL", 0) == 0; });
  ASSERT_NE(total, lines.end());
  EXPECT_THAT(*total, HasSubstr(" 400 "));
  EXPECT_THAT(*total, HasSubstr(" 16.0 "));
  EXPECT_THAT(*total, HasSubstr(" 62.5 "));  // id filled: (100 + 150) / 400
}

TEST(FormatTableTest, EmptyReportSaysSo) {
  hisbridge::v1::DataQualityReport empty;
  EXPECT_THAT(FormatTable(empty), HasSubstr("(no facility has records or rejects in this scope)"));
}

}  // namespace
}  // namespace hisbridge::report
