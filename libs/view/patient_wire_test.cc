#include "libs/view/patient_wire.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace hisbridge::view {
namespace {

TEST(PatientWireTest, ReadsTheHeaderAndStripsEventsWithoutParsing) {
  hisbridge::v1::Patient p;
  p.set_patient_id("450321-P0000002");
  p.set_version(7);
  p.set_status(hisbridge::v1::PATIENT_STATUS_MERGED);
  p.set_merged_into("450321-P0000001");
  p.mutable_demographics()->set_name("王小明");
  p.add_sources()->set_record_id("R1");
  for (int i = 0; i < 3; ++i) p.add_events()->set_event_id("E" + std::to_string(i));
  p.set_updated_at("2026-03-01T00:00:00Z");
  const std::string bytes = p.SerializeAsString();

  auto header = ReadPatientHeader(bytes);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(header->patient_id, "450321-P0000002");
  EXPECT_EQ(header->version, 7);
  EXPECT_EQ(header->status, hisbridge::v1::PATIENT_STATUS_MERGED);
  EXPECT_EQ(header->merged_into, "450321-P0000001");

  auto stripped = StripPatientEvents(bytes);
  ASSERT_TRUE(stripped.ok());
  hisbridge::v1::Patient without;
  ASSERT_TRUE(without.ParseFromString(*stripped));
  hisbridge::v1::Patient expected = p;
  expected.clear_events();
  EXPECT_EQ(without.SerializeAsString(), expected.SerializeAsString());
}

TEST(PatientWireTest, WalksTheEventsInPlace) {
  hisbridge::v1::Patient p;
  p.set_patient_id("450321-P0000001");
  p.add_sources()->set_record_id("R1");
  for (int i = 0; i < 3; ++i) {
    auto* e = p.add_events();
    e->set_kind(i == 1 ? "observation" : "encounter");
    e->set_facility_id("450321-WS-001");
    e->set_event_id("E" + std::to_string(i));
    e->set_event_time("2026-03-0" + std::to_string(i + 1) + "T08:00:00+08:00");
    e->mutable_record()->set_code("I10");
    if (i == 2) {
      e->mutable_record()->set_encounter_type("referral_out");
      e->mutable_record()->set_referral_to("450321-XY-001");
    }
  }
  p.set_updated_at("2026-03-01T00:00:00Z");
  const std::string bytes = p.SerializeAsString();

  std::vector<EventFields> seen;
  std::vector<std::string> copies;
  std::string without;
  ASSERT_TRUE(ForEachPatientEvent(bytes, &without, [&](const EventFields& e) {
                seen.push_back(e);
                copies.emplace_back(e.serialized);
              }).ok());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].kind, "observation");
  EXPECT_EQ(seen[2].event_id, "E2");
  EXPECT_EQ(seen[2].event_time, "2026-03-03T08:00:00+08:00");
  EXPECT_EQ(seen[2].facility_id, "450321-WS-001");
  EXPECT_EQ(seen[2].encounter_type, "referral_out");
  EXPECT_EQ(seen[2].referral_to, "450321-XY-001");
  EXPECT_TRUE(seen[0].referral_to.empty());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(copies[static_cast<size_t>(i)], p.events(i).SerializeAsString());
  EXPECT_EQ(without, StripPatientEvents(bytes).value());

  // An event that is not a message is DATA_LOSS, not a partial walk.
  hisbridge::v1::Patient bad;
  bad.set_patient_id("450321-P0000001");
  std::string broken = bad.SerializeAsString();
  broken += std::string("\x4a\x03\xff\xff\xff", 5);  // field 9, 3 bytes that are no message
  EXPECT_EQ(ForEachPatientEvent(broken, nullptr, [](const EventFields&) {}).code(), absl::StatusCode::kDataLoss);
}

TEST(PatientWireTest, MalformedBytesAreDataLoss) {
  hisbridge::v1::Patient p;
  p.set_patient_id("450321-P0000002");
  std::string bytes = p.SerializeAsString();
  bytes.resize(bytes.size() - 3);  // cut inside the id
  EXPECT_EQ(ReadPatientHeader(bytes).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(StripPatientEvents("\xff\xff\xff").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace hisbridge::view
