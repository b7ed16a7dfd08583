#include "services/query/integrated_view.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::query {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

hisbridge::v1::ClinicalEvent Event(const std::string& kind, const std::string& facility, const std::string& id,
                                   const std::string& time) {
  hisbridge::v1::ClinicalEvent e;
  e.set_kind(kind);
  e.set_facility_id(facility);
  e.set_record_id("R");
  e.set_event_id(id);
  e.set_event_time(time);
  e.mutable_record()->set_kind(kind);
  e.mutable_record()->set_facility_id(facility);
  e.mutable_record()->set_event_time(time);
  return e;
}

hisbridge::v1::ClinicalEvent Referral(const std::string& type, const std::string& facility, const std::string& id,
                                      const std::string& time, const std::string& other) {
  hisbridge::v1::ClinicalEvent e = Event("encounter", facility, id, time);
  e.mutable_record()->set_encounter_type(type);
  if (type == "referral_out") e.mutable_record()->set_referral_to(other);
  if (type == "referral_in") e.mutable_record()->set_referral_from(other);
  return e;
}

class IntegratedViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    facilities_.Add({"450321-CS-011", "遇龙村卫生室", "450321", records::FacilityTier::kVillageClinic});
    facilities_.Add({"450321-WS-001", "白沙镇卫生院", "450321", records::FacilityTier::kTownshipHealthCentre});
    facilities_.Add({"450321-XY-001", "阳朔县人民医院", "450321", records::FacilityTier::kCountyHospital});
    patient_.set_patient_id("450321-P0000001");
    *patient_.add_events() = Event("encounter", "450321-CS-011", "E1", "2026-03-01T08:00:00+08:00");
    *patient_.add_events() = Referral("referral_out", "450321-CS-011", "E2", "2026-03-02T08:00:00+08:00",
                                      "450321-WS-001");
    *patient_.add_events() = Referral("referral_in", "450321-WS-001", "E3", "2026-03-02T15:00:00+08:00",
                                      "450321-CS-011");
    *patient_.add_events() = Event("observation", "450321-WS-001", "O1", "2026-03-02T15:10:00+08:00");
    *patient_.add_events() = Referral("referral_out", "450321-WS-001", "E4", "2026-03-05T09:00:00+08:00",
                                      "450321-XY-001");
    *patient_.add_events() = Event("medication", "450321-XY-001", "M1", "2026-03-06T09:00:00+08:00");
    // The county hospital received the patient without a matching out.
    *patient_.add_events() = Referral("referral_in", "450321-XY-001", "E5", "2026-03-09T09:00:00+08:00",
                                      "450321-CS-011");
  }
  records::FacilityDirectory facilities_;
  hisbridge::v1::Patient patient_;
};

std::vector<std::string> Ids(const hisbridge::v1::IntegratedView& view) {
  std::vector<std::string> ids;
  for (const auto& t : view.timeline()) ids.push_back(t.event().event_id());
  return ids;
}

TEST_F(IntegratedViewTest, OneTimelineWithNamesAndTheReferralChain) {
  hisbridge::v1::IntegratedView view;
  BuildIntegratedView(patient_, TimelineFilter{}, facilities_, &view);
  EXPECT_THAT(Ids(view), ElementsAre("E1", "E2", "E3", "O1", "E4", "M1", "E5"));
  EXPECT_EQ(view.timeline(0).facility_name(), "遇龙村卫生室");
  EXPECT_EQ(view.patient().events_size(), 0);
  EXPECT_EQ(view.patient().patient_id(), "450321-P0000001");
  ASSERT_EQ(view.referrals_size(), 3);
  // The out and its in are one step.
  EXPECT_EQ(view.referrals(0).from_facility_name(), "遇龙村卫生室");
  EXPECT_EQ(view.referrals(0).to_facility_name(), "白沙镇卫生院");
  EXPECT_EQ(view.referrals(0).encounter_id(), "E2");
  EXPECT_EQ(view.referrals(1).from_facility_id(), "450321-WS-001");
  EXPECT_EQ(view.referrals(1).to_facility_id(), "450321-XY-001");
  EXPECT_EQ(view.referrals(2).encounter_id(), "E5");
  EXPECT_EQ(view.referrals(2).to_facility_name(), "阳朔县人民医院");
}

TEST_F(IntegratedViewTest, FiltersByTimeAndKind) {
  hisbridge::v1::GetIntegratedViewRequest request;
  request.set_from("2026-03-02T00:00:00+08:00");
  request.set_to("2026-03-06T09:00:00+08:00");  // inclusive
  request.add_kinds("observation");
  request.add_kinds("medication");
  auto filter = MakeTimelineFilter(request);
  ASSERT_TRUE(filter.ok()) << filter.status();
  hisbridge::v1::IntegratedView view;
  BuildIntegratedView(patient_, *filter, facilities_, &view);
  EXPECT_THAT(Ids(view), ElementsAre("O1", "M1"));
  // Referrals inside the window, whatever the kinds.
  EXPECT_EQ(view.referrals_size(), 2);
}

TEST_F(IntegratedViewTest, WireLevelViewCarriesTheStoredEventBytes) {
  auto bytes = BuildIntegratedViewBytes(patient_.SerializeAsString(), TimelineFilter{}, facilities_);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  hisbridge::v1::IntegratedView view;
  ASSERT_TRUE(view.ParseFromString(*bytes));
  ASSERT_EQ(view.timeline_size(), patient_.events_size());
  for (int i = 0; i < view.timeline_size(); ++i) {
    EXPECT_EQ(view.timeline(i).event().SerializeAsString(), patient_.events(i).SerializeAsString());
  }
  // Parsed and built as messages, the answer is the same.
  hisbridge::v1::IntegratedView expected;
  BuildIntegratedView(patient_, TimelineFilter{}, facilities_, &expected);
  EXPECT_EQ(view.SerializeAsString(), expected.SerializeAsString());
  EXPECT_EQ(BuildIntegratedViewBytes("\xff\xff", TimelineFilter{}, facilities_).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(IntegratedViewTest, BadFiltersNameTheField) {
  hisbridge::v1::GetIntegratedViewRequest request;
  request.set_from("yesterday");
  EXPECT_THAT(MakeTimelineFilter(request).status().message(), HasSubstr("from:"));
  request.set_from("2026-03-02T00:00:00+08:00");
  request.set_to("2026-03-01T00:00:00+08:00");
  EXPECT_THAT(MakeTimelineFilter(request).status().message(), HasSubstr("is after to"));
  request.clear_to();
  request.add_kinds("encounter");
  request.add_kinds("vaccination");
  auto s = MakeTimelineFilter(request).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("kinds[1]"));
}

}  // namespace
}  // namespace hisbridge::query
