#include "libs/linker/survivorship.h"

#include "gtest/gtest.h"

namespace hisbridge::linker {
namespace {

hisbridge::v1::Record Rec(const std::string& facility, const std::string& name, const std::string& phone,
                          const std::string& id = "") {
  hisbridge::v1::Record r;
  r.set_facility_id(facility);
  r.set_record_id("R-" + facility);
  r.set_name(name);
  r.set_phone(phone);
  r.set_id_number(id);
  return r;
}

const hisbridge::v1::FieldProvenance* Find(const google::protobuf::RepeatedPtrField<hisbridge::v1::FieldProvenance>& p,
                                           const std::string& field) {
  for (const auto& f : p) {
    if (f.field() == field) return &f;
  }
  return nullptr;
}

TEST(Survivorship, RulesApplyInOrder) {
  hisbridge::v1::Record village = Rec("CUN", "王晓明", "13800000001", "450321198503021231");  // invalid id
  hisbridge::v1::Record township = Rec("WS", "王小明", "13800000002", "450321198503021232");
  hisbridge::v1::Record county = Rec("XY", "王小明", "", "");
  std::vector<SurvivorshipInput> inputs = {
      {&village, /*trust=*/1, /*event_micros=*/300, /*valid_resident_id=*/false},
      {&township, 2, 100, true},
      {&county, 4, 200, false},
  };
  hisbridge::v1::Demographics golden;
  google::protobuf::RepeatedPtrField<hisbridge::v1::FieldProvenance> provenance;
  ChooseGoldenDemographics(inputs, &golden, &provenance);
  // A valid resident id beats the village clinic's invalid one.
  EXPECT_EQ(golden.id_number(), "450321198503021232");
  EXPECT_EQ(Find(provenance, "id_number")->rule(), "valid_resident_id");
  // The county hospital's name wins by trust.
  EXPECT_EQ(golden.name(), "王小明");
  EXPECT_EQ(Find(provenance, "name")->facility_id(), "XY");
  EXPECT_EQ(Find(provenance, "name")->rule(), "source_trust");
  // Phone: township beats village by trust.
  EXPECT_EQ(golden.phone(), "13800000002");
}

TEST(Survivorship, FrequencyThenRecency) {
  hisbridge::v1::Record a = Rec("A", "李红", "");
  hisbridge::v1::Record b = Rec("B", "李虹", "");
  hisbridge::v1::Record c = Rec("C", "李虹", "");
  std::vector<SurvivorshipInput> inputs = {{&a, 1, 900, false}, {&b, 1, 100, false}, {&c, 1, 200, false}};
  hisbridge::v1::Demographics golden;
  google::protobuf::RepeatedPtrField<hisbridge::v1::FieldProvenance> provenance;
  ChooseGoldenDemographics(inputs, &golden, &provenance);
  EXPECT_EQ(golden.name(), "李虹");
  EXPECT_EQ(Find(provenance, "name")->rule(), "frequency");
  EXPECT_EQ(Find(provenance, "name")->facility_id(), "C");  // the more recent of the two
  std::vector<SurvivorshipInput> two = {{&a, 1, 900, false}, {&b, 1, 100, false}};
  ChooseGoldenDemographics(two, &golden, &provenance);
  EXPECT_EQ(golden.name(), "李红");
  EXPECT_EQ(Find(provenance, "name")->rule(), "recency");
  std::vector<SurvivorshipInput> one = {{&a, 1, 900, false}};
  ChooseGoldenDemographics(one, &golden, &provenance);
  EXPECT_EQ(Find(provenance, "name")->rule(), "only_value");
  EXPECT_EQ(Find(provenance, "phone"), nullptr);
}

}  // namespace
}  // namespace hisbridge::linker
