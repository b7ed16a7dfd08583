#include "libs/view/search_keys.h"

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/view/test_patients.h"

namespace hisbridge::view {
namespace {

using ::testing::HasSubstr;
using testing::OnePatient;
using testing::Person;

const absl::CivilDay kToday(2026, 3, 1);

class SearchKeysTest : public ::testing::Test {
 protected:
  void SetUp() override { matcher_ = match::MakeMatcher("fs", "").value(); }
  PreparedPatient Prepared(const Person& person) {
    hisbridge::v1::Patient p = OnePatient("450321-P0000001", 1, person);
    PreparedPatient out;
    out.patient_id = p.patient_id();
    out.region = p.region();
    out.sources.emplace_back();
    PrepareSource(*matcher_, p.sources(0), p.region(), &out.sources.back());
    return out;
  }
  // Whether the plan's prefix finds the patient and its filters accept it.
  bool Finds(const hisbridge::v1::SearchPatientsRequest& request, const PreparedPatient& patient) {
    auto plan = SearchPlan::Make(request, kToday);
    EXPECT_TRUE(plan.ok()) << plan.status();
    if (!plan.ok()) return false;
    bool prefix = false;
    for (const std::string& key : SearchKeysOf(patient)) prefix |= absl::StartsWith(key, plan->prefix());
    return prefix && plan->Matches(patient);
  }
  std::unique_ptr<match::Matcher> matcher_;
};

TEST_F(SearchKeysTest, EveryCriterionFindsThePatient) {
  const PreparedPatient wang = Prepared({"王曉明", "450321850302123", "1985-03-02", "1", "+86 139-0773-1864",
                                        "广西阳朔县白沙镇遇龙村5组"});
  hisbridge::v1::SearchPatientsRequest r;
  r.set_id_number("450321198503021232");  // the 15-digit id, upgraded
  EXPECT_TRUE(Finds(r, wang));
  r.Clear();
  r.set_phone("13907731864");
  EXPECT_TRUE(Finds(r, wang));
  r.Clear();
  r.set_name("王晓明");  // simplified
  EXPECT_TRUE(Finds(r, wang));
  r.set_birth_date("1985");
  EXPECT_TRUE(Finds(r, wang));
  r.set_birth_date("1985-03-02");
  EXPECT_TRUE(Finds(r, wang));
  r.set_birth_date("1985-03-03");
  EXPECT_FALSE(Finds(r, wang));
  r.Clear();
  r.set_name("wang xiao ming");
  EXPECT_TRUE(Finds(r, wang));
  r.Clear();
  r.set_village("遇龙村");
  EXPECT_TRUE(Finds(r, wang));
  // Criteria combine.
  r.set_phone("13907731864");
  EXPECT_TRUE(Finds(r, wang));
  r.set_phone("13977718642");
  EXPECT_FALSE(Finds(r, wang));
}

TEST_F(SearchKeysTest, KeysHoldNoIdentifiers) {
  const PreparedPatient wang = Prepared({"王小明", "450321198503021232", "1985-03-02", "1", "13907731864", ""});
  for (const std::string& key : SearchKeysOf(wang)) {
    EXPECT_FALSE(absl::StrContains(key, "450321198503021232")) << key;
    EXPECT_FALSE(absl::StrContains(key, "13907731864")) << key;
    EXPECT_FALSE(absl::StrContains(key, "王小明")) << key;
    EXPECT_FALSE(absl::StrContains(key, "1985")) << key;
  }
}

TEST_F(SearchKeysTest, BadRequestsNameTheField) {
  hisbridge::v1::SearchPatientsRequest r;
  EXPECT_THAT(SearchPlan::Make(r, kToday).status().message(), HasSubstr("at least one of"));
  r.set_birth_date("1985");
  EXPECT_THAT(SearchPlan::Make(r, kToday).status().message(), HasSubstr("birth_date: narrows"));
  r.set_name("王小明");
  r.set_birth_date("85-3-2");
  EXPECT_THAT(SearchPlan::Make(r, kToday).status().message(), HasSubstr("birth_date:"));
  r.Clear();
  r.set_id_number("450321198503021233");
  auto s = SearchPlan::Make(r, kToday).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("id_number:"));
  r.Clear();
  r.set_phone("无");
  EXPECT_THAT(SearchPlan::Make(r, kToday).status().message(), HasSubstr("phone:"));
  r.Clear();
  r.set_village("12345");
  EXPECT_THAT(SearchPlan::Make(r, kToday).status().message(), HasSubstr("village:"));
}

TEST_F(SearchKeysTest, PageTokensAreTiedToTheirQuery) {
  const std::string token = EncodePageToken(42, std::string("n\0abc\0P1", 8));
  EXPECT_EQ(DecodePageToken(token, 42).value(), std::string("n\0abc\0P1", 8));
  EXPECT_THAT(DecodePageToken(token, 43).status().message(), HasSubstr("different query"));
  EXPECT_THAT(DecodePageToken("!!", 42).status().message(), HasSubstr("page_token"));
}

}  // namespace
}  // namespace hisbridge::view
