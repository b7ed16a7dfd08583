#include "libs/fhir/json.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::fhir {
namespace {

using ::testing::HasSubstr;

TEST(JsonTest, ParsesEveryTypeAndKeepsMemberOrder) {
  auto j = ParseJson(R"({"b":1,"a":[true,null,"x",2.5,-7],"c":{"d":"王"}})");
  ASSERT_TRUE(j.ok()) << j.status();
  ASSERT_TRUE(j->is_object());
  ASSERT_EQ(j->members().size(), 3u);
  EXPECT_EQ(j->members()[0].first, "b");
  EXPECT_EQ(j->members()[1].first, "a");
  const std::vector<Json>& a = j->GetArray("a");
  ASSERT_EQ(a.size(), 5u);
  EXPECT_TRUE(a[0].bool_value());
  EXPECT_TRUE(a[1].is_null());
  EXPECT_EQ(a[2].string(), "x");
  EXPECT_FALSE(a[3].is_integer());
  EXPECT_DOUBLE_EQ(a[3].number(), 2.5);
  EXPECT_TRUE(a[4].is_integer());
  EXPECT_EQ(a[4].integer(), -7);
  EXPECT_EQ(j->Find("c")->GetString("d"), "王");
}

TEST(JsonTest, IntegerAndFractionAreDistinguished) {
  auto j = ParseJson(R"([5, 5.0, 1e2, 18446744073709551615])");
  ASSERT_TRUE(j.ok());
  EXPECT_TRUE(j->items()[0].is_integer());
  EXPECT_FALSE(j->items()[1].is_integer());
  EXPECT_FALSE(j->items()[2].is_integer());
  EXPECT_FALSE(j->items()[3].is_integer());  // beyond int64
  EXPECT_EQ(j->items()[1].NumberText(), "5");
}

TEST(JsonTest, DuplicateMembersStayVisible) {
  auto j = ParseJson(R"({"gender":"male","gender":"female"})");
  ASSERT_TRUE(j.ok());
  ASSERT_EQ(j->members().size(), 2u);
  EXPECT_EQ(j->GetString("gender"), "male");  // Find gives the first
}

TEST(JsonTest, SkipsByteOrderMark) {
  auto j = ParseJson("\xEF\xBB\xBF{\"resourceType\":\"Patient\"}");
  ASSERT_TRUE(j.ok()) << j.status();
  EXPECT_EQ(j->GetString("resourceType"), "Patient");
}

TEST(JsonTest, RejectsWhatIsNotJson) {
  EXPECT_THAT(ParseJson("").status().message(), HasSubstr("empty"));
  EXPECT_THAT(ParseJson("{\"a\":").status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseJson("{\"a\":1} x").status().message(), HasSubstr("not valid JSON"));
  EXPECT_THAT(ParseJson("{\"a\":\"\xFF\"}").status().message(), HasSubstr("UTF-8"));
  std::string deep(kMaxJsonDepth + 5, '[');
  deep.append(kMaxJsonDepth + 5, ']');
  EXPECT_THAT(ParseJson(deep).status().message(), HasSubstr("deeper"));
}

TEST(JsonTest, WritesEscapedUtf8AndRoundTrips) {
  Json o = Json::Object();
  o.Set("text", Json::String("王小明 \"q\" \\ \n\x01"));
  o.Set("n", Json::Number(120.5));
  o.Set("i", Json::Integer(7));
  o.Set("list", Json::Array()).Append(Json::Bool(false));
  o.Set("bad", Json::String("a\xFF" "b"));
  const std::string text = WriteJson(o);
  EXPECT_EQ(text,
            "{\"text\":\"王小明 \\\"q\\\" \\\\ \\n\\u0001\",\"n\":120.5,\"i\":7,\"list\":[false],"
            "\"bad\":\"a\xEF\xBF\xBD" "b\"}");
  auto back = ParseJson(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->GetString("text"), "王小明 \"q\" \\ \n\x01");
  EXPECT_THAT(WriteJson(o, /*pretty=*/true), HasSubstr("\n  \"n\": 120.5,\n"));
}

TEST(JsonTest, SetReplacesAndAccessorsAreSafeOnOtherTypes) {
  Json o;
  o.Set("a", Json::Integer(1));
  o.Set("a", Json::Integer(2));
  EXPECT_EQ(o.members().size(), 1u);
  EXPECT_EQ(o.Find("a")->integer(), 2);
  Json s = Json::String("x");
  EXPECT_EQ(s.Find("a"), nullptr);
  EXPECT_TRUE(s.items().empty());
  EXPECT_EQ(s.GetString("a"), "");
  EXPECT_EQ(Json::Integer(3).string(), "");
}

}  // namespace
}  // namespace hisbridge::fhir
