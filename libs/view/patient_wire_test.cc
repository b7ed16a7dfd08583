#include "libs/view/patient_wire.h"

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
