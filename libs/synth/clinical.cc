#include "libs/synth/clinical.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/synth/json_line.h"

namespace hisbridge::synth {
namespace {

struct Diagnosis {
  const char* code;
  const char* display;
  Topic topic;
};

constexpr Diagnosis kAcute[] = {
    {"J06.9", "急性上呼吸道感染", Topic::kInfection}, {"J20.9", "急性支气管炎", Topic::kInfection},
    {"K29.7", "胃炎", Topic::kGeneral},               {"M54.5", "下背痛", Topic::kGeneral},
    {"K59.0", "便秘", Topic::kGeneral},               {"L30.9", "皮炎", Topic::kGeneral},
    {"R51", "头痛", Topic::kGeneral},                 {"A09.9", "胃肠炎", Topic::kInfection},
    {"M17.9", "膝关节病", Topic::kGeneral},           {"H10.9", "结膜炎", Topic::kInfection},
};
constexpr Diagnosis kChild[] = {
    {"J06.9", "急性上呼吸道感染", Topic::kInfection}, {"A09.9", "胃肠炎", Topic::kInfection},
    {"J20.9", "急性支气管炎", Topic::kInfection},     {"B08.4", "手足口病", Topic::kInfection},
    {"R50.9", "发热", Topic::kInfection},
};
constexpr Diagnosis kInpatient[] = {
    {"J18.9", "肺炎", Topic::kInfection},       {"I63.9", "脑梗死", Topic::kHypertension},
    {"J44.1", "慢性阻塞性肺病急性加重", Topic::kInfection}, {"K35.8", "急性阑尾炎", Topic::kInfection},
    {"I50.9", "心力衰竭", Topic::kHypertension}, {"K80.2", "胆囊结石", Topic::kGeneral},
};
constexpr Diagnosis kEmergency[] = {
    {"S06.0", "脑震荡", Topic::kInjury},     {"T14.9", "损伤", Topic::kInjury},
    {"R10.4", "腹痛", Topic::kGeneral},      {"S52.5", "桡骨下端骨折", Topic::kInjury},
    {"T65.9", "中毒", Topic::kGeneral},      {"I21.9", "急性心肌梗死", Topic::kHypertension},
};
constexpr Diagnosis kHypertension = {"I10", "原发性高血压", Topic::kHypertension};
constexpr Diagnosis kDiabetes = {"E11.9", "2型糖尿病", Topic::kDiabetes};
constexpr Diagnosis kCheckup = {"Z00.0", "健康查体", Topic::kGeneral};
constexpr Diagnosis kVaccination = {"Z23", "需要预防接种", Topic::kChild};
constexpr Diagnosis kChildCheck = {"Z00.1", "儿童常规健康检查", Topic::kChild};
constexpr Diagnosis kLiveBirth = {"Z38.0", "单胎活产婴儿", Topic::kNewborn};

struct Drug {
  const char* code;
  const char* name;
  const char* dose;
  const char* route;
  const char* frequency;
  int days;
};
constexpr Drug kHypertensionDrugs[] = {
    {"XC08CA05", "硝苯地平缓释片", "10mg", "口服", "bid", 30},
    {"XC09AA02", "马来酸依那普利片", "10mg", "口服", "qd", 30},
    {"XC08CA01", "苯磺酸氨氯地平片", "5mg", "口服", "qd", 30},
    {"XC09CA01", "氯沙坦钾片", "50mg", "口服", "qd", 28},
};
constexpr Drug kDiabetesDrugs[] = {
    {"XA10BA02", "盐酸二甲双胍片", "0.5g", "口服", "tid", 30},
    {"XA10BB09", "格列齐特缓释片", "30mg", "口服", "qd", 30},
};
constexpr Drug kInfectionDrugs[] = {
    {"XJ01CA04", "阿莫西林胶囊", "0.5g", "口服", "tid", 5},
    {"XJ01DC02", "头孢呋辛酯片", "0.25g", "口服", "bid", 5},
    {"ZA01AAL0", "连花清瘟胶囊", "1.4g", "口服", "tid", 5},
    {"XN02BE01", "对乙酰氨基酚片", "0.5g", "口服", "prn", 3},
};
constexpr Drug kGeneralDrugs[] = {
    {"XA02BC01", "奥美拉唑肠溶胶囊", "20mg", "口服", "qd", 14},
    {"XM01AE01", "布洛芬缓释胶囊", "0.3g", "口服", "bid", 5},
    {"ZC03AAF0", "复方丹参滴丸", "270mg", "口服", "tid", 30},
    {"XB05BB01", "0.9%氯化钠注射液", "250ml", "静脉滴注", "qd", 3},
};
constexpr Drug kChildDrugs[] = {
    {"XJ07BC01", "乙型肝炎疫苗", "10μg", "肌内注射", "once", 1},
    {"XJ07BF03", "脊髓灰质炎减毒活疫苗", "1粒", "口服", "once", 1},
    {"XJ07CA02", "百白破疫苗", "0.5ml", "肌内注射", "once", 1},
    {"XJ07BD52", "麻腮风疫苗", "0.5ml", "皮下注射", "once", 1},
};
constexpr Drug kNewbornDrugs[] = {
    {"XB02BA01", "维生素K1注射液", "1mg", "肌内注射", "once", 1},
    {"XJ07BC01", "乙型肝炎疫苗", "10μg", "肌内注射", "once", 1},
};

template <size_t N>
const Diagnosis& PickDx(const Diagnosis (&list)[N], Rng& rng) {
  return list[rng.Uniform(N)];
}
template <size_t N>
const Drug& PickDrug(const Drug (&list)[N], Rng& rng) {
  return list[rng.Uniform(N)];
}

const char* Department(FacilityTier tier, EncounterType type, int age, Rng& rng) {
  if (type == EncounterType::kEmergency) return "急诊科";
  if (type == EncounterType::kPublicHealth) return age < 7 ? "预防接种门诊" : "公共卫生科";
  if (tier == FacilityTier::kVillageClinic) return "全科";
  if (tier == FacilityTier::kTcmHospital) return rng.Bernoulli(0.6) ? "中医内科" : "针灸推拿科";
  if (tier == FacilityTier::kTownshipHealthCentre) return rng.Bernoulli(0.7) ? "全科" : (age < 14 ? "儿科" : "内科");
  if (age < 14) return "儿科";
  static constexpr const char* kDepartments[] = {"心血管内科", "呼吸内科", "消化内科", "普外科", "骨科",
                                                 "神经内科", "内分泌科"};
  return kDepartments[rng.Uniform(7)];
}

}  // namespace

HealthProfile DrawHealth(int age, Rng& rng) {
  HealthProfile h;
  h.hypertension = rng.Bernoulli(age < 35 ? 0.02 : age < 60 ? 0.2 : 0.45);
  h.diabetes = rng.Bernoulli(age < 35 ? 0.005 : age < 60 ? 0.06 : 0.12);
  return h;
}

absl::string_view EncounterTypeName(EncounterType type) {
  switch (type) {
    case EncounterType::kOutpatient: return "outpatient";
    case EncounterType::kInpatient: return "inpatient";
    case EncounterType::kEmergency: return "emergency";
    case EncounterType::kPublicHealth: return "public_health";
    case EncounterType::kReferralOut: return "referral_out";
    case EncounterType::kReferralIn: return "referral_in";
  }
  return "outpatient";
}

EncounterType DrawEncounterType(FacilityTier tier, int age, Rng& rng) {
  const bool public_health_age = age < 7 || age >= 65;
  switch (tier) {
    case FacilityTier::kVillageClinic:
      return rng.Bernoulli(public_health_age ? 0.4 : 0.15) ? EncounterType::kPublicHealth
                                                           : EncounterType::kOutpatient;
    case FacilityTier::kTownshipHealthCentre: {
      const double w[] = {0.55, 0.08, 0.05, public_health_age ? 0.4 : 0.15};
      return static_cast<EncounterType>(rng.Pick(w));
    }
    case FacilityTier::kCountyHospital: {
      const double w[] = {0.8, 0.0, 0.2};
      return static_cast<EncounterType>(rng.Pick(w));
    }
    case FacilityTier::kTcmHospital:
      return rng.Bernoulli(0.05) ? EncounterType::kInpatient : EncounterType::kOutpatient;
  }
  return EncounterType::kOutpatient;
}

Topic AppendEncounter(const EventSubject& s, absl::string_view encounter_id, absl::string_view time,
                      EncounterType type, absl::string_view referral_facility, Rng& rng, std::string* out) {
  const Diagnosis* dx;
  if (s.newborn) {
    dx = &kLiveBirth;
  } else if (type == EncounterType::kPublicHealth) {
    dx = s.age < 7 ? (rng.Bernoulli(0.7) ? &kVaccination : &kChildCheck)
         : s.health.hypertension ? &kHypertension
         : s.health.diabetes     ? &kDiabetes
                                 : &kCheckup;
  } else if (type == EncounterType::kInpatient) {
    dx = &PickDx(kInpatient, rng);
  } else if (type == EncounterType::kEmergency) {
    dx = &PickDx(kEmergency, rng);
  } else if (s.age < 14) {
    dx = &PickDx(kChild, rng);
  } else if (s.health.hypertension && rng.Bernoulli(0.5)) {
    dx = &kHypertension;
  } else if (s.health.diabetes && rng.Bernoulli(0.5)) {
    dx = &kDiabetes;
  } else {
    dx = &PickDx(kAcute, rng);
  }
  std::string diagnoses = "[";
  auto add_dx = [&](const Diagnosis& d) {
    if (diagnoses.size() > 1) diagnoses += ",";
    absl::StrAppend(&diagnoses, "{\"code\":\"", d.code, "\",\"system\":\"ICD-10\",\"display\":\"", d.display, "\"}");
  };
  add_dx(*dx);
  if (dx != &kHypertension && s.health.hypertension && !s.newborn && rng.Bernoulli(0.3)) add_dx(kHypertension);
  diagnoses += "]";
  JsonLine line(out);
  line.Str("kind", "encounter")
      .Str("facility_id", s.facility_id)
      .Str("record_id", s.record_id)
      .Str("encounter_id", encounter_id)
      .Str("event_time", time)
      .Str("encounter_type", EncounterTypeName(type))
      .Str("department", s.newborn ? "产科" : Department(s.facility->tier, type, s.age, rng))
      .Raw("diagnoses", diagnoses);
  if (type == EncounterType::kReferralOut) line.Str("referral_to", referral_facility);
  if (type == EncounterType::kReferralIn) line.Str("referral_from", referral_facility);
  line.End();
  return dx->topic;
}

void AppendObservation(const EventSubject& s, absl::string_view observation_id, absl::string_view encounter_id,
                       absl::string_view time, Topic topic, Rng& rng, std::string* out) {
  struct Obs {
    const char* loinc;
    const char* local;
    const char* display;
    const char* unit;
    std::string value;
    const char* range;
    const char* flag;
  };
  Obs o;
  const bool bp = topic == Topic::kHypertension || (topic == Topic::kGeneral && s.age >= 35 && rng.Bernoulli(0.6));
  if (topic == Topic::kNewborn) {
    const double kg = std::clamp(rng.Normal(3.2, 0.45), 1.8, 4.8);
    o = {"8339-4", "CSTZ", "出生体重", "kg", absl::StrFormat("%.2f", kg), "2.5-4.0", kg < 2.5 ? "L" : "N"};
  } else if (topic == Topic::kDiabetes) {
    const double v = std::clamp(rng.Normal(s.health.diabetes ? 8.2 : 5.4, 1.4), 3.5, 19.0);
    o = {"14771-0", "KFXT", "空腹血糖", "mmol/L", absl::StrFormat("%.1f", v), "3.9-6.1", v > 6.1 ? "H" : "N"};
  } else if (bp) {
    if (rng.Bernoulli(0.5)) {
      const int v = static_cast<int>(std::clamp(rng.Normal(s.health.hypertension ? 152 : 124, 16), 85.0, 220.0));
      o = {"8480-6", "SSY", "收缩压", "mmHg", absl::StrCat(v), "90-139", v >= 140 ? "H" : "N"};
    } else {
      const int v = static_cast<int>(std::clamp(rng.Normal(s.health.hypertension ? 92 : 78, 10), 50.0, 130.0));
      o = {"8462-4", "SZY", "舒张压", "mmHg", absl::StrCat(v), "60-89", v >= 90 ? "H" : "N"};
    }
  } else if (topic == Topic::kInfection || topic == Topic::kChild) {
    const double v = std::clamp(rng.Normal(topic == Topic::kInfection ? 37.9 : 36.7, 0.6), 35.8, 40.8);
    o = {"8310-5", "TW", "体温", "Cel", absl::StrFormat("%.1f", v), "36.0-37.3", v > 37.3 ? "H" : "N"};
  } else {
    const int v = static_cast<int>(std::clamp(rng.Normal(78, 11), 45.0, 140.0));
    o = {"8867-4", "XL", "心率", "/min", absl::StrCat(v), "60-100", v > 100 ? "H" : v < 60 ? "L" : "N"};
  }
  const bool local = s.facility->traits.local_lab_codes;
  JsonLine line(out);
  line.Str("kind", "observation")
      .Str("facility_id", s.facility_id)
      .Str("record_id", s.record_id)
      .Str("observation_id", observation_id)
      .Str("encounter_id", encounter_id)
      .Str("event_time", time)
      .Str("code", local ? o.local : o.loinc)
      .Str("system", local ? "local" : "LOINC")
      .Str("display", o.display)
      .Raw("value", o.value)
      .Str("unit", o.unit)
      .Str("reference_range", o.range)
      .Str("abnormal_flag", o.flag)
      .End();
}

void AppendMedication(const EventSubject& s, absl::string_view medication_id, absl::string_view encounter_id,
                      absl::string_view time, Topic topic, Rng& rng, std::string* out) {
  const Drug* d;
  switch (topic) {
    case Topic::kHypertension: d = &PickDrug(kHypertensionDrugs, rng); break;
    case Topic::kDiabetes: d = &PickDrug(kDiabetesDrugs, rng); break;
    case Topic::kInfection: d = &PickDrug(kInfectionDrugs, rng); break;
    case Topic::kChild: d = &PickDrug(kChildDrugs, rng); break;
    case Topic::kNewborn: d = &PickDrug(kNewbornDrugs, rng); break;
    default: d = &PickDrug(kGeneralDrugs, rng); break;
  }
  JsonLine line(out);
  line.Str("kind", "medication")
      .Str("facility_id", s.facility_id)
      .Str("record_id", s.record_id)
      .Str("medication_id", medication_id)
      .Str("encounter_id", encounter_id)
      .Str("event_time", time)
      .Str("drug_code", d->code)
      .Str("drug_name", d->name)
      .Str("dose", d->dose)
      .Str("route", d->route)
      .Str("frequency", d->frequency)
      .Int("days", d->days)
      .End();
}

}  // namespace hisbridge::synth
