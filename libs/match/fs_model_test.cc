#include "libs/match/fs_model.h"

#include <cmath>
#include <string>

#include "gtest/gtest.h"

namespace hisbridge::match {
namespace {

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(FsModel, DefaultModelLoadsAndIsSane) {
  const FsModel& model = FsModel::Default();
  EXPECT_FALSE(model.id().empty());
  EXPECT_GT(model.thresholds().upper, model.thresholds().lower);
  // Agreement is evidence for, disagreement against.
  EXPECT_GT(model.weight(Field::kResidentId, level::kIdExact), 10);
  EXPECT_GT(model.weight(Field::kName, level::kNameExact), 0);
  EXPECT_LT(model.weight(Field::kName, level::kNameDifferent), 0);
  EXPECT_LT(model.weight(Field::kBirthDate, level::kDateDifferent), 0);
  EXPECT_TRUE(model.term_frequency(Field::kName, level::kNameExact));
  EXPECT_FALSE(model.term_frequency(Field::kBirthDate, level::kDateExact));
  const double w = model.weight(Field::kPhone, level::kPhoneExact);
  EXPECT_NEAR(w, std::log2(model.m(Field::kPhone, 0) / model.u(Field::kPhone, 0)), 1e-9);
}

TEST(FsModel, RoundTripsThroughJson) {
  const FsModel& model = FsModel::Default();
  auto again = FsModel::FromJson(model.ToJson());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->id(), model.id());
  EXPECT_EQ(again->weight(Field::kName, level::kNameHomophone), model.weight(Field::kName, level::kNameHomophone));
}

TEST(FsModel, ErrorsNameTheFieldLevelAndRule) {
  const std::string json(FsModel::DefaultJson());
  auto bad_field = FsModel::FromJson(Replace(json, "\"birth_date\"", "\"birthday\""));
  ASSERT_FALSE(bad_field.ok());
  EXPECT_NE(bad_field.status().message().find("unknown comparison field \"birthday\""), std::string::npos)
      << bad_field.status();
  auto bad_level = FsModel::FromJson(Replace(json, "\"homophone\"", "\"sounds_alike\""));
  ASSERT_FALSE(bad_level.ok());
  EXPECT_NE(bad_level.status().message().find("no level \"sounds_alike\""), std::string::npos)
      << bad_level.status();
  auto not_json = FsModel::FromJson("{ nope");
  EXPECT_FALSE(not_json.ok());
  hisbridge::match::v1::Model proto = FsModel::Default().proto();
  proto.mutable_comparisons(2)->mutable_levels(0)->set_m(1.5);
  auto bad_m = FsModel::FromProto(proto);
  ASSERT_FALSE(bad_m.ok());
  EXPECT_NE(bad_m.status().message().find("name.exact.m = 1.5 must be in (0, 1]"), std::string::npos)
      << bad_m.status();
  proto = FsModel::Default().proto();
  proto.mutable_thresholds()->set_lower(proto.thresholds().upper() + 1);
  EXPECT_FALSE(FsModel::FromProto(proto).ok());
  proto = FsModel::Default().proto();
  proto.mutable_comparisons()->RemoveLast();
  auto missing = FsModel::FromProto(proto);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("is missing"), std::string::npos);
}

TEST(FsModel, LoadReportsThePath) {
  auto missing = FsModel::Load("/nonexistent/model.json");
  EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace hisbridge::match
