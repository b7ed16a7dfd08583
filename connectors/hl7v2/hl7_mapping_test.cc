#include "connectors/hl7v2/hl7_mapping.h"

#include <dirent.h>

#include <algorithm>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"
#include "libs/records/validate.h"

namespace hisbridge::connectors::hl7v2 {
namespace {

using ::testing::HasSubstr;

std::string Testdata(const std::string& name) {
  return ReadFileToString(std::string(HISBRIDGE_HL7_TESTDATA) + "/" + name).value();
}

MappedMessage MapFile(const std::string& name) {
  hl7::ParseResult parsed = hl7::Parse(Testdata(name));
  EXPECT_TRUE(parsed.ok()) << name << ": " << (parsed.errors.empty() ? "" : parsed.errors[0].message);
  if (!parsed.ok()) return {};
  return MapMessage(*parsed.message, MappingOptions());
}

TEST(Hl7MappingTest, AdtA04ChinesePatientAndVisit) {
  MappedMessage m = MapFile("adt_a04_zh_wangxiaoming.hl7");
  ASSERT_TRUE(m.errors.empty()) << m.errors[0].message;
  ASSERT_EQ(m.records.size(), 2u);
  const auto& p = m.records[0].record;
  EXPECT_EQ(p.kind(), "patient");
  EXPECT_EQ(p.facility_id(), "450321-WS-003");
  EXPECT_EQ(p.record_id(), "MZ00017");
  EXPECT_EQ(p.id_number(), "450321198503021232");
  EXPECT_EQ(p.id_type(), "01");
  EXPECT_EQ(p.name(), "王小明");
  EXPECT_EQ(p.sex(), "1");
  EXPECT_EQ(p.birth_date(), "1985-03-02");
  EXPECT_EQ(p.address(), "广西壮族自治区桂林市阳朔县遇龙村5组");
  EXPECT_EQ(p.phone(), "138-1234-5678");
  EXPECT_EQ(p.ethnicity(), "01");
  EXPECT_EQ(p.event_time(), "2026-03-01T08:30:00+08:00");
  EXPECT_EQ(m.records[0].origins.at("record_id").ToString(), "PID-3.1");
  const auto& e = m.records[1].record;
  EXPECT_EQ(e.kind(), "encounter");
  EXPECT_EQ(e.encounter_id(), "V20260301001");
  EXPECT_EQ(e.encounter_type(), "outpatient");
  EXPECT_EQ(e.department(), "全科");
  ASSERT_EQ(e.diagnoses_size(), 1);
  EXPECT_EQ(e.diagnoses(0).code(), "I10");
  EXPECT_EQ(e.diagnoses(0).display(), "高血压");
  EXPECT_EQ(e.diagnoses(0).system(), "ICD-10");
  for (const auto& r : m.records) EXPECT_TRUE(records::ValidateRecord(r.record).ok());
}

TEST(Hl7MappingTest, Gb18030MessageDecodesNames) {
  MappedMessage m = MapFile("adt_a04_zh_gb18030_liguiying.hl7");
  ASSERT_TRUE(m.errors.empty());
  ASSERT_EQ(m.records.size(), 1u);
  EXPECT_EQ(m.records[0].record.name(), "李桂英");
  EXPECT_EQ(m.records[0].record.record_id(), "CS7");
  EXPECT_EQ(m.records[0].record.sex(), "2");
  EXPECT_EQ(m.records[0].record.address(), "广西壮族自治区桂林市阳朔县白沙镇遇龙村3组");
  EXPECT_EQ(m.records[0].record.event_time(), "2026-03-03T14:30:00+08:00");  // no offset: +08:00 assumed
}

TEST(Hl7MappingTest, OruR01Observations) {
  MappedMessage m = MapFile("oru_r01_zh_blood_pressure.hl7");
  ASSERT_TRUE(m.errors.empty());
  ASSERT_EQ(m.records.size(), 3u);
  const auto& sys = m.records[0].record;
  EXPECT_EQ(sys.kind(), "observation");
  EXPECT_EQ(sys.record_id(), "MZ00017");
  EXPECT_EQ(sys.observation_id(), "BP20260301-17-1");
  EXPECT_EQ(sys.encounter_id(), "V20260301001");
  EXPECT_EQ(sys.code(), "8480-6");
  EXPECT_EQ(sys.display(), "收缩压");
  EXPECT_EQ(sys.system(), "LOINC");
  EXPECT_EQ(sys.value().number_value(), 152);
  EXPECT_EQ(sys.unit(), "mm[Hg]");
  EXPECT_EQ(sys.reference_range(), "90-139");
  EXPECT_EQ(sys.abnormal_flag(), "H");
  EXPECT_EQ(sys.event_time(), "2026-03-01T09:05:00+08:00");  // OBX-14
  const auto& hr = m.records[2].record;
  EXPECT_EQ(hr.value().string_value(), "72 次/分");
  EXPECT_EQ(hr.event_time(), "2026-03-01T09:00:00+08:00");  // OBR-7
  for (const auto& r : m.records) EXPECT_TRUE(records::ValidateRecord(r.record).ok());
}

TEST(Hl7MappingTest, A40MergesMrgIntoPid) {
  MappedMessage m = MapFile("adt_a40_zh_merge.hl7");
  ASSERT_TRUE(m.errors.empty());
  ASSERT_EQ(m.records.size(), 1u);
  EXPECT_EQ(m.records[0].record.op(), "merge");
  EXPECT_EQ(m.records[0].record.record_id(), "MZ00017");
  EXPECT_EQ(m.records[0].record.merged_record_id(), "MZ00099");
  MappedMessage two = MapFile("adt_a40_v2.8_two_merges.hl7");
  EXPECT_EQ(two.records.size(), 2u) << (two.errors.empty() ? "" : two.errors[0].message);
}

TEST(Hl7MappingTest, A03EncounterWithDiagnoses) {
  MappedMessage m = MapFile("adt_a03_zh_discharge.hl7");
  ASSERT_TRUE(m.errors.empty());
  ASSERT_EQ(m.records.size(), 1u);
  EXPECT_EQ(m.records[0].record.kind(), "encounter");
  EXPECT_EQ(m.records[0].record.encounter_type(), "inpatient");
  EXPECT_EQ(m.records[0].record.department(), "内科");
  EXPECT_EQ(m.records[0].record.diagnoses_size(), 2);
}

// Every ADT event the connector lists, on the same registration: the
// patient events give an upsert (and the visit, PV1-19 being present), the
// visit events only the encounter; the trigger is read from MSH-9.2, or
// from EVN-1 for v2.2 senders that leave MSH-9.2 empty.
TEST(Hl7MappingTest, EveryListedAdtEventMaps) {
  const std::string base = Testdata("adt_a04_zh_wangxiaoming.hl7");
  struct Case {
    std::string trigger;
    std::vector<std::string> kinds;
  };
  const std::vector<Case> cases = {
      {"A01", {"patient", "encounter"}}, {"A04", {"patient", "encounter"}}, {"A05", {"patient", "encounter"}},
      {"A08", {"patient", "encounter"}}, {"A28", {"patient", "encounter"}}, {"A31", {"patient", "encounter"}},
      {"A03", {"encounter"}},            {"A11", {"encounter"}},
  };
  for (const Case& c : cases) {
    for (const bool in_evn_only : {false, true}) {
      std::string message = absl::StrReplaceAll(
          base, {{"ADT^A04^ADT_A01", in_evn_only ? "ADT" : absl::StrCat("ADT^", c.trigger)},
                 {"EVN|A04|", absl::StrCat("EVN|", c.trigger, "|")}});
      hl7::ParseResult parsed = hl7::Parse(message);
      ASSERT_TRUE(parsed.ok()) << c.trigger;
      MappedMessage m = MapMessage(*parsed.message, MappingOptions());
      ASSERT_EQ(m.code, hl7::AckCode::kAccept) << c.trigger << ": " << (m.errors.empty() ? "" : m.errors[0].message);
      std::vector<std::string> kinds;
      for (const auto& r : m.records) {
        kinds.push_back(r.record.kind());
        EXPECT_TRUE(records::ValidateRecord(r.record).ok()) << c.trigger << " " << r.record.kind();
        EXPECT_EQ(r.record.record_id(), "MZ00017") << c.trigger;
        EXPECT_EQ(r.record.event_time(), "2026-03-01T08:30:00+08:00") << c.trigger;  // EVN-2, no offset: +08:00
      }
      EXPECT_EQ(kinds, c.kinds) << c.trigger << (in_evn_only ? " (EVN-1 only)" : "");
      if (!m.records.empty() && m.records[0].record.kind() == "patient") {
        EXPECT_EQ(m.records[0].record.name(), "王小明") << c.trigger;
        EXPECT_EQ(m.records[0].record.op(), "") << c.trigger;  // the default: upsert
      }
      EXPECT_EQ(m.records.back().record.encounter_id(), "V20260301001") << c.trigger;
    }
  }
  // The visit events need the visit number.
  for (const std::string trigger : {"A03", "A11"}) {
    std::string message = absl::StrReplaceAll(
        base, {{"ADT^A04^ADT_A01", absl::StrCat("ADT^", trigger)}, {"|V20260301001", "|"}});
    hl7::ParseResult parsed = hl7::Parse(message);
    ASSERT_TRUE(parsed.ok());
    MappedMessage m = MapMessage(*parsed.message, MappingOptions());
    EXPECT_EQ(m.code, hl7::AckCode::kError) << trigger;
    ASSERT_FALSE(m.errors.empty()) << trigger;
    EXPECT_EQ(m.errors[0].location.ToString(), "PV1-19") << trigger << ": " << m.errors[0].message;
    EXPECT_TRUE(m.records.empty()) << trigger;
  }
  // Events outside the list are refused as such (table 0357 code 201).
  hl7::ParseResult a02 = hl7::Parse(absl::StrReplaceAll(base, {{"ADT^A04^ADT_A01", "ADT^A02^ADT_A02"}}));
  ASSERT_TRUE(a02.ok());
  MappedMessage refused = MapMessage(*a02.message, MappingOptions());
  EXPECT_EQ(refused.code, hl7::AckCode::kReject);
  ASSERT_FALSE(refused.errors.empty());
  EXPECT_EQ(refused.errors[0].code, hl7::ErrorCode::kUnsupportedEventCode);
  EXPECT_THAT(refused.errors[0].message, HasSubstr("A02"));
}

// PID-8 to GB/T 2261.1 and the ER7 escapes inside mapped fields.
TEST(Hl7MappingTest, SexCodesAndEscapesInFields) {
  const std::string base = Testdata("adt_a04_zh_wangxiaoming.hl7");
  const std::vector<std::pair<std::string, std::string>> sexes = {
      {"M", "1"}, {"F", "2"}, {"U", "0"}, {"O", "9"}, {"A", "9"}, {"N", "9"}, {"男", "1"}, {"女", "2"}, {"2", "2"}, {"X", "X"}};  // X: kept, a finding
  for (const auto& [hl7_code, county_code] : sexes) {
    hl7::ParseResult parsed =
        hl7::Parse(absl::StrReplaceAll(base, {{"|19850302|M|", absl::StrCat("|19850302|", hl7_code, "|")}}));
    ASSERT_TRUE(parsed.ok());
    MappedMessage m = MapMessage(*parsed.message, MappingOptions());
    ASSERT_FALSE(m.records.empty()) << hl7_code;
    EXPECT_EQ(m.records[0].record.sex(), county_code) << hl7_code;
  }
  // A street with an escaped field separator, component separator and an
  // \X..\ hex escape (UTF-8 bytes of 组).
  hl7::ParseResult parsed =
      hl7::Parse(absl::StrReplaceAll(base, {{"遇龙村5组^", "遇龙村\\F\\5\\S\\6\\XE7BB84\\^"}}));
  ASSERT_TRUE(parsed.ok());
  MappedMessage m = MapMessage(*parsed.message, MappingOptions());
  ASSERT_FALSE(m.records.empty());
  EXPECT_EQ(m.records[0].record.address(), "广西壮族自治区桂林市阳朔县遇龙村|5^6组");
}

TEST(Hl7MappingTest, MissingRecordIdIsAnApplicationError) {
  MappedMessage m = MapFile("adt_a04_zh_missing_record_id.hl7");
  EXPECT_EQ(m.code, hl7::AckCode::kError);
  ASSERT_EQ(m.errors.size(), 1u);
  EXPECT_EQ(m.errors[0].location.ToString(), "PID-3");
  EXPECT_EQ(m.errors[0].code, hl7::ErrorCode::kRequiredFieldMissing);
  EXPECT_THAT(m.errors[0].message, HasSubstr("MR, PI, PT"));
  EXPECT_THAT(m.errors[0].message, HasSubstr("NNCHN"));
  EXPECT_TRUE(m.records.empty());
}

TEST(Hl7MappingTest, FacilityOverrideAndMap) {
  hl7::ParseResult parsed = hl7::Parse(Testdata("adt_a04_zh_wangxiaoming.hl7"));
  ASSERT_TRUE(parsed.ok());
  MappingOptions o;
  o.facility_map["450321-WS-003"] = "450321-WS-THREE";
  EXPECT_EQ(MapMessage(*parsed.message, o).records[0].record.facility_id(), "450321-WS-THREE");
  o.facility = "FIXED";
  EXPECT_EQ(MapMessage(*parsed.message, o).records[0].record.facility_id(), "FIXED");
}

TEST(Hl7MappingTest, Hl7Timestamps) {
  const absl::TimeZone cst = absl::FixedTimeZone(8 * 3600);
  EXPECT_EQ(*Hl7TimeToRfc3339("20260301083000", cst), "2026-03-01T08:30:00+08:00");
  EXPECT_EQ(*Hl7TimeToRfc3339("202603010830", cst), "2026-03-01T08:30:00+08:00");
  EXPECT_EQ(*Hl7TimeToRfc3339("20260301", cst), "2026-03-01T00:00:00+08:00");
  EXPECT_EQ(*Hl7TimeToRfc3339("20120918173931-0500", cst), "2012-09-18T17:39:31-05:00");
  EXPECT_EQ(*Hl7TimeToRfc3339("20110613122406.637", cst), "2011-06-13T12:24:06.637+08:00");
  EXPECT_FALSE(Hl7TimeToRfc3339("2026-03-01", cst).ok());
  EXPECT_FALSE(Hl7TimeToRfc3339("20261341", cst).ok());
  EXPECT_FALSE(Hl7TimeToRfc3339("202603", cst).ok());
}

// Every public sample gets a definite, sensible answer; none crashes.
TEST(Hl7MappingTest, PublicSamplesGetSensibleAnswers) {
  const std::map<std::string, std::string> expected = {
      {"adt_a01_v2.3.1_bom_escE_broken_chars.hl7", "AA"},
      {"adt_a01_v2.3_bom_accmgr.hl7", "AA"},
      {"adt_a01_v2.5.1_bom_goodhealth.hl7", "AA"},
      {"adt_a01_v2.5_ssmix2_iso2022jp_kanji.hl7", "AA"},
      {"adt_a01_v2.6_bad_msh2_literal_backslash_r.hl7", "AR"},  // MSH-2 repeats '\'
      {"adt_a03_v2.5_pid3x4_empty_rep.hl7", "AE"},  // PID-3 types PK, CF, SSN: none is a record id
      {"adt_a04_v2.3.1_literal_SOM_prefix.hl7", "AR"},  // text before MSH
      {"adt_a04_v2.3_bom_pid3x3.hl7", "AA"},  // "MR" given as CX.4 instead of CX.5
      {"adt_a08_v2.5_ssmix2_iso2022jp_kanji.hl7", "AA"},
      {"adt_a08_v2.8_full.hl7", "AA"},
      {"adt_a24_nonstandard_delimiters.hl7", "AR"},  // A24 is not a supported event
      {"adt_a28_v2.8.hl7", "AA"},
      {"adt_a31_v2.3.1_crlf_accmgr.hl7", "AA"},
      {"adt_a31_v2.8.hl7", "AA"},
      {"adt_a40_v2.3_mirth.hl7", "AA"},  // 17-digit timestamp: milliseconds without a dot
      {"adt_a40_v2.8_two_merges.hl7", "AA"},
      {"bar_p01_3char_encoding_msh2.hl7", "AR"},  // BAR is not a supported type
      {"fuzz_adt_a20_invalid_utf8_msh2.hl7", "AR"},
      {"fuzz_adt_a40_no_pid_no_mrg.hl7", "AE"},  // empty MSH-4 (then: no PID/MRG)
      {"fuzz_msh2_caret_only_hang.hl7", "AR"},
      {"oml_o21_v2.5_nonascii_empty_msh7_msh10.hl7", "AR"},
      {"orm_o01_v2.3_escape_sequences.hl7", "AR"},
      {"oru_r01_v2.4_cr.hl7", "AA"},
      {"oru_r01_v2.5.1_blank_pid3.hl7", "AE"},  // empty MSH-4; PID-3 blank
      {"oru_r01_v2.5.1_nist_lri_cbc.hl7", "AA"},
      {"oru_r01_v2.5_lab_spm.hl7", "AE"},  // empty MSH-4: needs --facility
  };
  std::string report;
  for (const auto& [file, want] : expected) {
    hl7::ParseResult parsed = hl7::Parse(Testdata(file));
    std::string got;
    std::string why;
    if (!parsed.ok()) {
      got = "AR";
      why = parsed.errors[0].message;
    } else {
      MappedMessage m = MapMessage(*parsed.message, MappingOptions());
      got = std::string(hl7::AckCodeName(m.code));
      if (!m.errors.empty()) why = m.errors[0].message;
      for (const auto& r : m.records) {
        auto v = records::ValidateRecord(r.record);
        if (!v.ok() && got == "AA") got = "AE", why = v.errors[0].message();
      }
    }
    EXPECT_EQ(got, want) << file << ": " << why;
    if (got != "AA") {
      EXPECT_FALSE(why.empty()) << file;
    }
    absl::StrAppend(&report, file, " -> ", got, " ", why, "\n");
  }
  std::cout << report;
}

}  // namespace
}  // namespace hisbridge::connectors::hl7v2
