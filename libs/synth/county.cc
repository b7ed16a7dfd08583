#include "libs/synth/county.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/region.h"
#include "libs/synth/random.h"

namespace hisbridge::synth {
namespace {

struct PrefectureFacts {
  const char* code;
  const char* area_code;
  double zhuang;  // rough share of Zhuang households in the prefecture's countryside
  double yao;
};

// Landline area codes of Guangxi's prefectures and rough ethnic shares
// (orders of magnitude from the 2020 census by prefecture; the generator
// needs plausibility, not demography).
constexpr PrefectureFacts kGuangxiPrefectures[] = {
    {"4501", "0771", 0.55, 0.01}, {"4502", "0772", 0.25, 0.03}, {"4503", "0773", 0.05, 0.04},
    {"4504", "0774", 0.02, 0.01}, {"4505", "0779", 0.02, 0.00}, {"4506", "0770", 0.30, 0.01},
    {"4507", "0777", 0.05, 0.01}, {"4508", "0775", 0.20, 0.01}, {"4509", "0775", 0.01, 0.00},
    {"4510", "0776", 0.80, 0.07}, {"4511", "0774", 0.05, 0.08}, {"4512", "0778", 0.65, 0.12},
    {"4513", "0772", 0.60, 0.06}, {"4514", "0771", 0.85, 0.01},
};

// What people write for a village: 石城村委会 -> 石城村, 民主社区居委会 -> 民主社区,
// 黄沙河居委会 -> 黄沙河社区.
std::string AddressNameOf(absl::string_view official, bool* urban) {
  struct Rule {
    absl::string_view suffix;
    absl::string_view replacement;
    bool urban;
  };
  static constexpr Rule kRules[] = {
      {"社区居民委员会", "社区", true}, {"社区居委会", "社区", true}, {"村民委员会", "村", false},
      {"村委会", "村", false},           {"居民委员会", "社区", true}, {"居委会", "社区", true},
  };
  for (const Rule& rule : kRules) {
    if (absl::EndsWith(official, rule.suffix)) {
      *urban = rule.urban;
      absl::string_view stem = official.substr(0, official.size() - rule.suffix.size());
      if (absl::EndsWith(stem, "街") && rule.urban) return std::string(stem);
      return absl::StrCat(stem, rule.replacement);
    }
  }
  *urban = false;
  return std::string(official);
}

RecordIdScheme Scheme(absl::string_view prefix, int digits, int64_t first) {
  RecordIdScheme s;
  s.prefix = std::string(prefix);
  s.digits = digits;
  s.first_number = first;
  return s;
}

// Vendors differ: the traits below are drawn per facility, weighted by what
// each tier's systems typically do.
HisTraits DrawTraits(FacilityTier tier, Rng& rng) {
  HisTraits t;
  switch (tier) {
    case FacilityTier::kCountyHospital:
      t.schemes.push_back(Scheme("MZ", 8, rng.UniformInt(300000, 2000000)));
      t.schemes.push_back(Scheme("ZY", 7, rng.UniformInt(50000, 300000)));
      break;
    case FacilityTier::kTcmHospital: {
      static constexpr absl::string_view kPrefixes[] = {"MZ", "ZY", "K", ""};
      const absl::string_view p = kPrefixes[rng.Uniform(4)];
      // A TCM hospital numbering 门诊 with "ZY" (中医) is real and confusing.
      t.schemes.push_back(Scheme(p, p.empty() ? 10 : 8, rng.UniformInt(100000, 900000)));
      break;
    }
    case FacilityTier::kTownshipHealthCentre: {
      static constexpr absl::string_view kPrefixes[] = {"DA", "DA", "JK", "MZ", "WS"};
      const absl::string_view p = kPrefixes[rng.Uniform(5)];
      t.schemes.push_back(Scheme(p, rng.Bernoulli(0.5) ? 5 : 6, rng.UniformInt(1000, 20000)));
      break;
    }
    case FacilityTier::kVillageClinic: {
      static constexpr absl::string_view kPrefixes[] = {"CS", "CS", "JK", "DA", ""};
      const absl::string_view p = kPrefixes[rng.Uniform(5)];
      t.schemes.push_back(Scheme(p, p.empty() ? 6 : 5, rng.UniformInt(1, 1500)));
      break;
    }
  }
  const bool village = tier == FacilityTier::kVillageClinic;
  const bool township = tier == FacilityTier::kTownshipHealthCentre;
  {
    const double w[] = {0.82, 0.07, 0.06, 0.05};
    t.date_style = static_cast<DateStyle>(rng.Pick(w));
  }
  {
    const double w[] = {0.62, 0.15, 0.08, 0.05, village ? 0.10 : 0.02};
    t.phone_style = static_cast<PhoneStyle>(rng.Pick(w));
  }
  {
    const double hospital[] = {0.45, 0.20, 0.30, 0.05};
    const double local[] = {0.15, 0.10, 0.45, 0.30};
    t.address_style = static_cast<AddressStyle>(rng.Pick(village || township ? local : hospital));
  }
  t.writes_address_code = rng.Bernoulli(township ? 0.6 : village ? 0.1 : 0.4);
  t.writes_ethnicity = rng.Bernoulli(township ? 0.9 : village ? 0.4 : 0.5);
  t.ethnicity_as_text = rng.Bernoulli(0.15);
  t.writes_id_type = rng.Bernoulli(0.3);
  t.writes_insurance_id = !village && rng.Bernoulli(0.35);
  t.sex_as_text = rng.Bernoulli(village ? 0.08 : 0.03);
  t.local_lab_codes = rng.Bernoulli(village ? 0.3 : 0.1);
  return t;
}

void AddCounties(absl::string_view prefix, absl::string_view exclude, std::vector<std::string>* out) {
  for (const core::Region* r : core::CountiesUnder(prefix)) {
    // Statistics-only units (development zones, xxxx7x) issue no ids.
    if (r->code == exclude || r->code[4] == '7') continue;
    if (absl::StrContains(r->name, "开发区") || absl::StrContains(r->name, "管理区")) continue;
    out->emplace_back(r->code);
  }
}

}  // namespace

absl::string_view FacilityTierName(FacilityTier tier) {
  switch (tier) {
    case FacilityTier::kCountyHospital: return "county_hospital";
    case FacilityTier::kTcmHospital: return "tcm_hospital";
    case FacilityTier::kTownshipHealthCentre: return "township_health_centre";
    case FacilityTier::kVillageClinic: return "village_clinic";
  }
  return "other";
}

absl::StatusOr<County> BuildCounty(absl::string_view code, uint64_t seed) {
  const core::Region* region = code.size() == 6 ? core::FindRegion(code) : nullptr;
  if (region == nullptr || region->level() != core::RegionLevel::kCounty) {
    return absl::InvalidArgumentError(
        absl::StrCat("county \"", code, "\" is not a 6-digit county code of the region table"));
  }
  if (!absl::StartsWith(code, "45")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "county ", code, " ", region->name,
        " has no village data: the region table ships village codes for Guangxi (45....) only"));
  }
  const core::Region* prefecture = core::ParentOf(*region);
  const core::Region* province = prefecture != nullptr ? core::ParentOf(*prefecture) : nullptr;
  County county;
  county.code = std::string(code);
  county.name = std::string(region->name);
  county.prefecture_name = prefecture != nullptr ? std::string(prefecture->name) : "";
  county.province_name = province != nullptr ? std::string(province->name) : "";
  county.province_short = province != nullptr ? std::string(province->short_name) : "";
  const PrefectureFacts* facts = &kGuangxiPrefectures[2];
  for (const PrefectureFacts& f : kGuangxiPrefectures) {
    if (code.substr(0, 4) == f.code) facts = &f;
  }
  county.area_code = facts->area_code;
  double county_yao = facts->yao;
  double county_zhuang = facts->zhuang;
  if (absl::StrContains(region->name, "瑶族")) county_yao = std::max(county_yao, 0.35);
  if (absl::StrContains(region->name, "壮族")) county_zhuang = std::max(county_zhuang, 0.5);

  Rng rng = Rng::Stream(seed, 0xC0C0, 1);
  auto add_facility = [&](std::string id, std::string name, FacilityTier tier, int township, int village) {
    Facility f;
    f.id = std::move(id);
    f.name = std::move(name);
    f.tier = tier;
    f.township = township;
    f.village = village;
    f.traits = DrawTraits(tier, rng);
    county.facilities.push_back(std::move(f));
    return static_cast<int>(county.facilities.size() - 1);
  };
  const std::string stem =
      absl::EndsWith(county.name, "县") || absl::EndsWith(county.name, "市") || absl::EndsWith(county.name, "区")
          ? county.name
          : county.name + "县";
  county.county_hospital =
      add_facility(absl::StrCat(code, "-XY-001"), absl::StrCat(stem, "人民医院"), FacilityTier::kCountyHospital, -1, -1);
  county.tcm_hospital =
      add_facility(absl::StrCat(code, "-ZY-001"), absl::StrCat(stem, "中医医院"), FacilityTier::kTcmHospital, -1, -1);

  int clinic_number = 0;
  for (const core::Region* t : core::ChildrenOf(*region)) {
    std::vector<const core::Region*> villages = core::ChildrenOf(*t);
    if (villages.empty()) continue;  // farms and the like without villages
    std::stable_sort(villages.begin(), villages.end(), [](const core::Region* a, const core::Region* b) {
      return absl::StrContains(a->name, "村") > absl::StrContains(b->name, "村");
    });
    if (villages.size() > static_cast<size_t>(kMaxVillagesPerTownship)) villages.resize(kMaxVillagesPerTownship);
    std::sort(villages.begin(), villages.end(),
              [](const core::Region* a, const core::Region* b) { return a->code < b->code; });
    Township township;
    township.code = std::string(t->code);
    township.name = std::string(t->name);
    township.zhuang_share = county_zhuang;
    township.yao_share = county_yao;
    if (absl::StrContains(t->name, "瑶族")) township.yao_share = 0.65;
    if (absl::StrContains(t->name, "壮族")) township.zhuang_share = 0.7;
    const int township_index = static_cast<int>(county.townships.size());
    township.health_centre =
        add_facility(absl::StrFormat("%s-WS-%03d", code, township_index + 1), absl::StrCat(t->name, "卫生院"),
                     FacilityTier::kTownshipHealthCentre, township_index, -1);
    for (const core::Region* v : villages) {
      Village village;
      village.code = std::string(v->code);
      village.name = std::string(v->name);
      village.address_name = AddressNameOf(v->name, &village.urban);
      village.township = township_index;
      village.groups = static_cast<int>(rng.UniformInt(6, 16));
      // Village sizes vary several-fold; the township seat is larger.
      village.size = std::exp(rng.Normal(0, 0.45)) * (village.urban ? 1.6 : 1.0);
      const int village_index = static_cast<int>(county.villages.size());
      const std::string clinic_name =
          absl::StrCat(village.address_name, village.urban ? "卫生服务站" : "卫生室");
      village.clinic = add_facility(absl::StrFormat("%s-CS-%04d", code, ++clinic_number), clinic_name,
                                    FacilityTier::kVillageClinic, township_index, village_index);
      township.villages.push_back(village_index);
      county.villages.push_back(std::move(village));
    }
    county.townships.push_back(std::move(township));
  }
  if (county.townships.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("county ", code, " ", county.name, " has no villages"));
  }
  AddCounties(code.substr(0, 4), code, &county.same_prefecture_counties);
  for (const core::Region* p : core::ChildrenOf(*province)) {
    if (p->code != code.substr(0, 4)) AddCounties(p->code, code, &county.same_province_counties);
  }
  // Marriage migration into Guangxi comes mostly from Hunan, Guangdong,
  // Guizhou and Yunnan.
  for (absl::string_view p : {"43", "44", "52", "53"}) AddCounties(p, code, &county.other_province_counties);
  return county;
}

}  // namespace hisbridge::synth
