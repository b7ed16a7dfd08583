#include "connectors/file/csv_mapping.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::connectors::file {
namespace {

using ::testing::HasSubstr;

TEST(CsvMappingTest, ColumnsConstantsAndConversions) {
  auto m = CsvMapping::Parse(
      "# comment\n@encoding = gbk\nkind = \"patient\"\nfacility_id = \"F1\"\nrecord_id = 档案号\nname = 姓名\n"
      "sex = 性别 | map 男=1 女=2\nbirth_date = 出生日期 | date %Y/%m/%d\nevent_time = 时间\n"
      "diagnosis_code = 诊断\n");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->encoding(), "gbk");
  ASSERT_TRUE(m->Bind({"档案号", "姓名", "性别", "出生日期", "时间", "诊断"}).ok());
  hisbridge::v1::Record r;
  std::map<std::string, std::string> columns;
  m->MapRow({"DA1", " 王小明 ", "男", "1985/03/02", "2026-03-01 08:30:00", "I10;E11"}, &r, &columns);
  EXPECT_EQ(r.kind(), "patient");
  EXPECT_EQ(r.facility_id(), "F1");
  EXPECT_EQ(r.record_id(), "DA1");
  EXPECT_EQ(r.name(), "王小明");
  EXPECT_EQ(r.sex(), "1");
  EXPECT_EQ(r.birth_date(), "1985-03-02");
  EXPECT_EQ(r.event_time(), "2026-03-01T08:30:00+08:00");
  ASSERT_EQ(r.diagnoses_size(), 2);
  EXPECT_EQ(r.diagnoses(1).code(), "E11");
  EXPECT_EQ(columns["name"], "\"姓名\" (column 2)");
}

TEST(CsvMappingTest, ErrorsNameTheLine) {
  auto bad_field = CsvMapping::Parse("nmae = 姓名\n");
  EXPECT_THAT(bad_field.status().message(), HasSubstr("mapping line 1"));
  EXPECT_THAT(bad_field.status().message(), HasSubstr("nmae"));
  EXPECT_THAT(CsvMapping::Parse("name 姓名\n").status().message(), HasSubstr("expected"));
  EXPECT_THAT(CsvMapping::Parse("name = 姓名 | upper\n").status().message(), HasSubstr("unknown conversion"));
  auto m = CsvMapping::Parse("\nname = 姓名\n");
  ASSERT_TRUE(m.ok());
  absl::Status s = m->Bind({"名字"});
  EXPECT_THAT(s.message(), HasSubstr("mapping line 2"));
  EXPECT_THAT(s.message(), HasSubstr("\"姓名\" is not in the header"));
}

}  // namespace
}  // namespace hisbridge::connectors::file
