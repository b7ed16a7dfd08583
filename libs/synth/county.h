// The synthetic county: a real county of the region table (libs/core/
// region.h) with its real townships and villages, and the facilities of its
// medical community (县域医共体):
//
//   one county hospital   <county>-XY-001   县人民医院        county_hospital
//   one TCM hospital      <county>-ZY-001   县中医医院        tcm_hospital
//   a health centre per township   -WS-nnn  <township>卫生院   township_health_centre
//   a clinic per village           -CS-nnnn <village>卫生室    village_clinic
//
// Village codes ship for Guangxi only, so only Guangxi counties (code 45....)
// can be built. A township keeps at most kMaxVillagesPerTownship villages
// (villagers' committees first, then residents' committees, in code order).
//
// Every facility also gets the habits of its HIS vendor (HisTraits): how it
// numbers patients, writes dates, phones and addresses, which optional
// fields it fills. Real county data varies by facility in exactly these
// ways, so a linker tuned on the county must cope with all of them.
//
// Thread safety: a County is an immutable value after BuildCounty.
#ifndef HISBRIDGE_LIBS_SYNTH_COUNTY_H_
#define HISBRIDGE_LIBS_SYNTH_COUNTY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::synth {

inline constexpr int kMaxVillagesPerTownship = 20;

// The tiers of libs/records/facility_directory.h, with the same names.
enum class FacilityTier : uint8_t {
  kCountyHospital,
  kTcmHospital,
  kTownshipHealthCentre,
  kVillageClinic,
};
// "county_hospital", "tcm_hospital", "township_health_centre", "village_clinic".
absl::string_view FacilityTierName(FacilityTier tier);

// How a facility's HIS writes a birth date.
enum class DateStyle : uint8_t { kIso, kCompact, kSlash, kIsoWithTime };
// How it writes phones.
enum class PhoneStyle : uint8_t { kPlain, kDashed, kSpaced, kCountryCode, kJsonNumber };
// Which address form its registrars usually type.
enum class AddressStyle : uint8_t { kFull, kProvinceShort, kTownship, kTownshipNoGroup };

// A numbering scheme: prefix + zero-padded sequence ("MZ00012345").
struct RecordIdScheme {
  std::string prefix;
  int digits = 8;
  int64_t first_number = 1;  // where the sequence stood when the window opened
};

struct HisTraits {
  // schemes[0]: outpatient / archive numbers; schemes[1] (county hospital
  // only): inpatient numbers (住院号), a separate record of the same person.
  std::vector<RecordIdScheme> schemes;
  DateStyle date_style = DateStyle::kIso;
  PhoneStyle phone_style = PhoneStyle::kPlain;
  AddressStyle address_style = AddressStyle::kTownship;
  bool writes_address_code = false;  // 12-digit 统计用区划代码
  bool writes_ethnicity = false;
  bool ethnicity_as_text = false;  // "汉族" instead of "01"
  bool writes_id_type = false;     // "id_type":"01"
  bool writes_insurance_id = false;
  bool sex_as_text = false;        // "男"/"女" instead of "1"/"2"
  bool local_lab_codes = false;    // observations in a local code system, not LOINC
};

struct Facility {
  std::string id;    // "450324-WS-003"
  std::string name;  // "庙头镇卫生院"
  FacilityTier tier = FacilityTier::kVillageClinic;
  int township = -1;  // index into County::townships; -1 for county-level facilities
  int village = -1;   // index into County::villages; village clinics only
  HisTraits traits;
};

struct Village {
  std::string code;          // 12 digits
  std::string name;          // official: "石城村委会"
  std::string address_name;  // as people write it: "石城村", "民主社区"
  bool urban = false;        // a residents' committee (社区)
  int township = 0;
  int clinic = 0;   // facility index
  int groups = 10;  // 村民小组 1..groups
  double size = 1;  // relative population
};

struct Township {
  std::string code;  // 9 digits
  std::string name;  // "蕉江瑶族乡"
  std::vector<int> villages;
  int health_centre = 0;  // facility index
  // Shares of households of these ethnic groups (the rest are Han).
  double zhuang_share = 0;
  double yao_share = 0;
};

struct County {
  std::string code;             // "450324"
  std::string name;             // "全州县"
  std::string prefecture_name;  // "桂林市"
  std::string province_name;    // "广西壮族自治区"
  std::string province_short;   // "广西"
  std::string area_code;        // landline area code, "0773"
  std::vector<Township> townships;
  std::vector<Village> villages;
  std::vector<Facility> facilities;
  int county_hospital = 0;
  int tcm_hospital = 0;
  // County codes that migrants' resident ids come from: the same
  // prefecture, the rest of the province, neighbouring provinces.
  std::vector<std::string> same_prefecture_counties;
  std::vector<std::string> same_province_counties;
  std::vector<std::string> other_province_counties;
};

// The default county: 全州县 (Guilin, Guangxi): 18 townships, two of them
// Yao townships, 8-20 villages each after the cap.
inline constexpr absl::string_view kDefaultCountyCode = "450324";

// Builds the county `code` (6 digits, Guangxi). The HIS traits are drawn
// from `seed`. INVALID_ARGUMENT naming the code when it is unknown, not a
// county, or has no village data.
absl::StatusOr<County> BuildCounty(absl::string_view code, uint64_t seed);

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_COUNTY_H_
