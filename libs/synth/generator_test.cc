// The generator's contract on a 20,000-person county: determinism, the
// presence and rate of every error type, the validity of every id that is
// not deliberately corrupted, the truth of every tag, and the realism
// properties the linker depends on.
#include "libs/synth/generator.h"

#include <cmath>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "libs/core/date.h"
#include "libs/core/han.h"
#include "libs/core/name.h"
#include "libs/core/phone.h"
#include "libs/core/resident_id.h"
#include "libs/eval/link_scorer.h"
#include "libs/records/facility_directory.h"
#include "libs/records/record_json.h"
#include "libs/records/validate.h"
#include "libs/synth/corruption.h"

namespace hisbridge::synth {
namespace {

constexpr absl::CivilDay kToday(2026, 1, 1);

uint64_t HashLines(const Dataset& d) {
  uint64_t h = 1469598103934665603ull;
  d.ForEachLine([&](absl::string_view line) {
    for (unsigned char c : line) h = (h ^ c) * 1099511628211ull;
    h = (h ^ '\n') * 1099511628211ull;
  });
  for (const std::string& s : {d.TruthCsv(), d.ErrorsCsv(), d.FacilitiesCsv()}) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  }
  return h;
}

const Dataset& County20k() {
  static const Dataset* d = [] {
    GenOptions o;
    o.people = 20000;
    o.seed = 20240;
    o.threads = 2;
    auto r = Generate(o);
    EXPECT_TRUE(r.ok()) << r.status();
    return new Dataset(*std::move(r));
  }();
  return *d;
}

TEST(GeneratorTest, SameSeedSameBytesWhateverTheThreads) {
  GenOptions o;
  o.people = 3000;
  o.seed = 99;
  o.threads = 1;
  auto a = Generate(o);
  o.threads = 3;
  auto b = Generate(o);
  o.seed = 100;
  auto c = Generate(o);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(HashLines(*a), HashLines(*b));
  EXPECT_NE(HashLines(*a), HashLines(*c));
  EXPECT_EQ(a->line_count(), b->line_count());
}

TEST(GeneratorTest, TagNamesAreStable) {
  // errors.csv is an interface: the names and their order are pinned.
  const char* const expected[] = {
      "id.missing",          "id.one_digit",        "id.transposition",    "id.legacy15",      "id.format",
      "id.relative",         "name.homophone",      "name.similar_char",   "name.near_homophone",
      "name.traditional",    "name.pinyin",         "name.space",          "name.fullwidth",   "dob.lunar_shift",
      "dob.jan_first",       "dob.day_month_swap",  "dob.year_off",        "dob.year_only",    "dob.missing",
      "phone.missing",       "phone.one_digit",     "phone.relative",      "phone.stale",      "address.village_only",
      "address.missing",     "address.stale",       "sex.unknown",         "sex.wrong",        "id.valid",
      "id.none",             "twin",                "placeholder.newborn", "placeholder.unknown", "duplicate",
      "migrant"};
  ASSERT_EQ(std::size(expected), static_cast<size_t>(Tag::kCount));
  for (size_t i = 0; i < std::size(expected); ++i) EXPECT_EQ(TagName(static_cast<Tag>(i)), expected[i]);
  EXPECT_EQ(TagList(TagBit(Tag::kTwin) | TagBit(Tag::kIdMissing)), "id.missing;twin");
  EXPECT_TRUE(IsErrorTag(Tag::kAddressStale));
  EXPECT_FALSE(IsErrorTag(Tag::kIdValid));
}

TEST(GeneratorTest, NoEventsAndCleanData) {
  GenOptions o;
  o.people = 2000;
  o.events_per_record = 0;
  o.rates.Scale(0);
  auto d = Generate(o);
  ASSERT_TRUE(d.ok());
  d->ForEachLine([](absl::string_view line) { EXPECT_TRUE(absl::StartsWith(line, "{\"kind\":\"patient\"")) << line; });
  for (const SourceRecord& r : d->records()) {
    for (int i = 0; i < static_cast<int>(Tag::kIdValid); ++i) {
      const Tag t = static_cast<Tag>(i);
      // Staleness is a fact about the person, not an error drawn.
      if (t == Tag::kAddressStale || t == Tag::kPhoneStale) continue;
      EXPECT_FALSE(HasTag(r.tags, t)) << TagName(t) << " in clean data";
    }
  }
}

TEST(GeneratorTest, RejectsBadOptions) {
  GenOptions o;
  o.people = 0;
  EXPECT_FALSE(Generate(o).ok());
  o.people = 10;
  o.county = "110101";  // Beijing: no village data
  auto r = Generate(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Guangxi"), absl::string_view::npos);
  o.county = "999999";
  EXPECT_FALSE(Generate(o).ok());
}

TEST(GeneratorTest, CountyShape) {
  const County& c = County20k().county();
  EXPECT_EQ(c.code, "450324");
  EXPECT_EQ(c.name, "全州县");
  EXPECT_GE(c.townships.size(), 15u);
  EXPECT_LE(c.townships.size(), 25u);
  for (const Township& t : c.townships) {
    EXPECT_GE(t.villages.size(), 8u) << t.name;
    EXPECT_LE(t.villages.size(), 20u) << t.name;
  }
  int tiers[4] = {0, 0, 0, 0};
  for (const Facility& f : c.facilities) {
    ++tiers[static_cast<int>(f.tier)];
    EXPECT_TRUE(absl::StartsWith(f.id, "450324-")) << f.id;
  }
  EXPECT_EQ(tiers[0], 1);
  EXPECT_EQ(tiers[1], 1);
  EXPECT_EQ(tiers[2], static_cast<int>(c.townships.size()));
  EXPECT_EQ(tiers[3], static_cast<int>(c.villages.size()));
  EXPECT_EQ(c.facilities[c.county_hospital].id, "450324-XY-001");
  EXPECT_EQ(c.facilities[c.tcm_hospital].id, "450324-ZY-001");
  auto dir = records::FacilityDirectory::FromCsv(County20k().FacilitiesCsv(), "000000");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(dir->size(), c.facilities.size());
  EXPECT_EQ(dir->TierOf("450324-WS-001"), records::FacilityTier::kTownshipHealthCentre);
  EXPECT_EQ(dir->RegionOf("450324-CS-0001"), "450324");
}

TEST(GeneratorTest, EveryLineIsAValidSpecLine) {
  records::RecordJsonParser parser;
  records::ParsedRecord parsed;
  int64_t lines = 0, patients = 0, merges = 0, deletes = 0, out_of_order = 0, with_code = 0;
  std::set<std::string> encounter_types;
  std::string previous_time;
  County20k().ForEachLine([&](absl::string_view line) {
    ++lines;
    parser.Parse(line, &parsed);
    ASSERT_TRUE(parsed.ok()) << line << ": " << parsed.errors[0].message();
    const records::ValidationResult v = records::ValidateRecord(parsed.record);
    ASSERT_TRUE(v.ok()) << line << ": " << v.errors[0].message();
    const hisbridge::v1::Record& r = parsed.record;
    if (r.kind() == "patient") {
      ++patients;
      merges += r.op() == "merge";
      deletes += r.op() == "delete";
      with_code += !r.address_code().empty();
    }
    if (r.kind() == "encounter") encounter_types.insert(r.encounter_type());
    if (!previous_time.empty() && r.event_time() < previous_time) ++out_of_order;
    previous_time = r.event_time();
  });
  EXPECT_EQ(lines, static_cast<int64_t>(County20k().line_count()));
  EXPECT_GT(merges, 0);
  EXPECT_GT(deletes, 0);
  EXPECT_GT(out_of_order, 0);
  EXPECT_LT(out_of_order, lines / 10);  // roughly in order
  EXPECT_GT(with_code, patients / 20);
  for (const char* t : {"outpatient", "inpatient", "emergency", "public_health", "referral_out", "referral_in"}) {
    EXPECT_TRUE(encounter_types.count(t)) << t;
  }
  // 2-4 clinical events per patient record by default.
  const double per_record =
      static_cast<double>(County20k().stats().event_lines) / static_cast<double>(County20k().stats().source_records);
  EXPECT_GT(per_record, 2.0);
  EXPECT_LT(per_record, 4.0);
}

// The rate of every error among the records it could apply to, within
// binomial tolerance of the configured rate.
TEST(GeneratorTest, EveryRateIsPresentAtItsConfiguredRate) {
  const Dataset& d = County20k();
  const ErrorRates& rates = d.options().rates;
  for (const RateInfo& info : ErrorRates::All()) {
    if (info.kind == RateKind::kFactor) continue;
    const RateCount& c = d.stats()[info.rate];
    const double p = rates[info.rate];
    SCOPED_TRACE(info.name);
    ASSERT_GT(c.eligible, 0);
    EXPECT_GT(c.applied, 0) << "never applied";
    const double observed = static_cast<double>(c.applied) / static_cast<double>(c.eligible);
    const double tolerance = std::max(4.5 * std::sqrt(p * (1 - p) / static_cast<double>(c.eligible)), 0.002);
    EXPECT_NEAR(observed, p, tolerance) << c.applied << " of " << c.eligible;
  }
}

struct Truth {
  const Person* person;
  const SourceRecord* record;
};

std::vector<char32_t> Chars(absl::string_view s) { return DecodeChars(s); }

bool ShareReading(char32_t a, char32_t b) {
  for (core::SyllableId x : core::Readings(a)) {
    for (core::SyllableId y : core::Readings(b)) {
      if (x == y) return true;
    }
  }
  return false;
}

std::string Digits(absl::string_view phone) {
  std::string out;
  for (char c : phone) {
    if (absl::ascii_isdigit(c)) out.push_back(c);
  }
  if (absl::StartsWith(out, "86") && out.size() == 13) out = out.substr(2);
  return out;
}

// Every tag on every final version says something true about it, and the
// fields without a tag are right.
TEST(GeneratorTest, TagsAreTrue) {
  const Dataset& d = County20k();
  std::map<std::string, int64_t> counts;
  for (const SourceRecord& r : d.records()) {
    const Person& p = d.population().people[r.person];
    ASSERT_NE(r.final_fields, nullptr);
    const RecordFields& f = *r.final_fields;
    const TagSet t = r.tags;
    SCOPED_TRACE(absl::StrCat(d.FacilityOf(r).id, " ", r.record_id, " ", p.name(), " ", TagList(t)));
    for (int i = 0; i < static_cast<int>(Tag::kCount); ++i) {
      if (HasTag(t, static_cast<Tag>(i))) ++counts[std::string(TagName(static_cast<Tag>(i)))];
    }
    const bool placeholder = HasTag(t, Tag::kPlaceholderNewborn) || HasTag(t, Tag::kPlaceholderUnknown);
    // Ids.
    const core::ResidentIdResult id = core::ParseResidentId(f.id_number, kToday);
    EXPECT_EQ(HasTag(t, Tag::kIdNone), f.id_number.empty());
    if (HasTag(t, Tag::kIdValid)) {
      EXPECT_TRUE(id.ok()) << f.id_number;
      EXPECT_EQ(id.canonical, p.resident_id);
    }
    if (HasTag(t, Tag::kIdOneDigit) || HasTag(t, Tag::kIdTransposition)) {
      EXPECT_FALSE(id.ok()) << f.id_number;
      EXPECT_EQ(core::ClassifyIdDifference(f.id_number, p.resident_id),
                HasTag(t, Tag::kIdOneDigit) ? core::IdDifference::kOneCharacterDifferent
                                            : core::IdDifference::kAdjacentTransposition);
    } else if (HasTag(t, Tag::kIdRelative)) {
      // A relative's card: a valid id of someone else in the family.
      EXPECT_TRUE(id.ok()) << f.id_number;
      EXPECT_NE(id.canonical, p.resident_id);
      bool family = false;
      for (int32_t m : d.population().households[p.household].members) {
        family |= d.population().people[m].resident_id == id.canonical;
      }
      for (int32_t parent : {p.mother, p.father}) {
        family |= parent >= 0 && d.population().people[parent].resident_id == id.canonical;
      }
      EXPECT_TRUE(family) << f.id_number;
    } else if (!f.id_number.empty()) {
      // Not deliberately corrupted: valid, and the person's.
      EXPECT_TRUE(HasTag(t, Tag::kIdValid));
      EXPECT_TRUE(id.ok()) << f.id_number;
    }
    if (HasTag(t, Tag::kIdLegacy15)) {
      EXPECT_EQ(f.id_number.size(), 15u);
      EXPECT_TRUE(id.upgraded_from_15);
    }
    if (HasTag(t, Tag::kIdMissing)) {
      EXPECT_FALSE(p.resident_id.empty());
    }
    // Names.
    const core::NormalizedName name = core::NormalizeName(f.name);
    EXPECT_EQ(placeholder, name.is_placeholder()) << f.name;
    const std::vector<char32_t> truth = Chars(p.name()), written = Chars(f.name);
    if (HasTag(t, Tag::kNameHomophone) || HasTag(t, Tag::kNameSimilarChar) || HasTag(t, Tag::kNameNearHomophone)) {
      std::vector<char32_t> w = Chars(name.han);
      ASSERT_EQ(w.size(), truth.size()) << f.name;
      int differences = 0;
      for (size_t i = 0; i < w.size(); ++i) {
        if (w[i] == truth[i]) continue;
        ++differences;
        EXPECT_GE(i, Chars(p.surname).size()) << "the surname changed";
        if (HasTag(t, Tag::kNameHomophone)) {
          EXPECT_TRUE(ShareReading(truth[i], w[i])) << f.name;
        }
        if (HasTag(t, Tag::kNameSimilarChar)) {
          EXPECT_TRUE(core::SameFourCorner(truth[i], w[i])) << f.name;
        }
        if (HasTag(t, Tag::kNameNearHomophone)) {
          EXPECT_FALSE(ShareReading(truth[i], w[i])) << f.name;
          const std::vector<std::string> variants =
              AccentVariants(core::SyllableText(core::Readings(truth[i])[0]));
          const std::string written_syllable(core::SyllableText(core::Readings(w[i])[0]));
          EXPECT_NE(std::find(variants.begin(), variants.end(), written_syllable), variants.end()) << f.name;
        }
      }
      EXPECT_EQ(differences, 1) << f.name;
    }
    if (HasTag(t, Tag::kNameTraditional)) {
      EXPECT_TRUE(name.has(core::NameIssue::kTraditional)) << f.name;
      EXPECT_EQ(name.han, p.name()) << f.name;
    }
    if (HasTag(t, Tag::kNamePinyin)) {
      EXPECT_EQ(name.script, core::NameScript::kLatin) << f.name;
      EXPECT_EQ(core::CompareNames(name, core::NormalizeName(p.name())), core::NameMatch::kLatinEqual) << f.name;
    }
    constexpr TagSet kNameErrors = TagBit(Tag::kNameHomophone) | TagBit(Tag::kNameSimilarChar) |
                                   TagBit(Tag::kNameNearHomophone) |
                                   TagBit(Tag::kNameTraditional) | TagBit(Tag::kNamePinyin) |
                                   TagBit(Tag::kNameSpace) | TagBit(Tag::kNameFullwidth);
    if (!placeholder && (t & kNameErrors) == 0) {
      EXPECT_EQ(f.name, p.name());
    }
    if (!placeholder && (HasTag(t, Tag::kNameSpace) || HasTag(t, Tag::kNameFullwidth)) &&
        (t & (kNameErrors & ~(TagBit(Tag::kNameSpace) | TagBit(Tag::kNameFullwidth)))) == 0) {
      EXPECT_NE(f.name, p.name());
      EXPECT_EQ(name.han, p.name()) << f.name;
    }
    // Birth dates.
    const core::BirthDate dob = core::ParseBirthDate(f.birth_date, kToday);
    if (HasTag(t, Tag::kDobMissing)) {
      EXPECT_TRUE(f.birth_date.empty());
    }
    if (HasTag(t, Tag::kDobYearOnly)) {
      EXPECT_EQ(dob.precision, core::DatePrecision::kYear) << f.birth_date;
      EXPECT_EQ(dob.year, p.birth.year());
    }
    if (HasTag(t, Tag::kDobLunarShift)) {
      ASSERT_TRUE(dob.ok()) << f.birth_date;
      const int64_t shift = p.birth - dob.date;
      EXPECT_GE(shift, 20);
      EXPECT_LE(shift, 50);
    }
    if (HasTag(t, Tag::kDobDayMonthSwap)) {
      EXPECT_EQ(dob.month, p.birth.day());
      EXPECT_EQ(dob.day, p.birth.month());
    }
    if (HasTag(t, Tag::kDobYearOff)) {
      EXPECT_EQ(std::abs(dob.year - static_cast<int>(p.birth.year())), 1);
    }
    if (HasTag(t, Tag::kDobJanFirst)) {
      ASSERT_TRUE(dob.ok()) << f.birth_date;
      EXPECT_EQ(dob.date, absl::CivilDay(p.birth.year(), 1, 1));
      EXPECT_NE(p.birth, dob.date);
    }
    constexpr TagSet kDobErrors = TagBit(Tag::kDobLunarShift) | TagBit(Tag::kDobDayMonthSwap) |
                                  TagBit(Tag::kDobJanFirst) |
                                  TagBit(Tag::kDobYearOff) | TagBit(Tag::kDobYearOnly) | TagBit(Tag::kDobMissing);
    if (!HasTag(t, Tag::kPlaceholderUnknown) && (t & kDobErrors) == 0) {
      ASSERT_TRUE(dob.ok()) << f.birth_date;
      EXPECT_EQ(dob.date, p.birth) << f.birth_date;
    }
    // Phones.
    const std::string phone = Digits(f.phone);
    if (HasTag(t, Tag::kPhoneMissing)) {
      EXPECT_TRUE(f.phone.empty());
    }
    if (HasTag(t, Tag::kPhoneRelative)) {
      EXPECT_EQ(phone, p.relative_phone);
    }
    if (HasTag(t, Tag::kPhoneOneDigit)) {
      const bool near_own = core::ClassifyIdDifference(phone, p.phone) == core::IdDifference::kOneCharacterDifferent ||
                            core::ClassifyIdDifference(phone, p.new_phone) ==
                                core::IdDifference::kOneCharacterDifferent ||
                            core::ClassifyIdDifference(phone, p.contact_phone) ==
                                core::IdDifference::kOneCharacterDifferent;
      EXPECT_TRUE(near_own) << f.phone;
    } else if (!phone.empty() && !HasTag(t, Tag::kPhoneRelative)) {
      EXPECT_TRUE(phone == p.phone || phone == p.new_phone || phone == p.contact_phone) << f.phone;
    }
    // Sex.
    if (HasTag(t, Tag::kSexWrong)) {
      EXPECT_EQ(f.sex, p.male ? (f.sex == "女" ? "女" : "2") : (f.sex == "男" ? "男" : "1"));
    }
    if (!HasTag(t, Tag::kSexWrong) && !HasTag(t, Tag::kSexUnknown) && !HasTag(t, Tag::kPlaceholderUnknown)) {
      EXPECT_TRUE(f.sex == (p.male ? "1" : "2") || f.sex == (p.male ? "男" : "女")) << f.sex;
    }
    // Addresses.
    if (HasTag(t, Tag::kAddressMissing)) {
      EXPECT_TRUE(f.address.empty());
    }
    if (HasTag(t, Tag::kAddressVillageOnly)) {
      EXPECT_FALSE(absl::StrContains(f.address, "镇") && absl::StrContains(f.address, "县")) << f.address;
    }
    if (HasTag(t, Tag::kTwin)) {
      EXPECT_GE(p.twin, 0);
    }
  }
  for (int i = 0; i < static_cast<int>(Tag::kCount); ++i) {
    const std::string name(TagName(static_cast<Tag>(i)));
    EXPECT_GT(counts[name], 0) << "no final version carries " << name;
  }
}

TEST(GeneratorTest, EveryPersonsIdIsValid) {
  absl::flat_hash_set<std::string> seen;
  int64_t with_id = 0, migrants = 0, infants = 0, infants_without = 0;
  const Population& pop = County20k().population();
  for (const Person& p : pop.people) {
    if (AgeOn(p.birth, pop.reference_day) < 1 && !p.stranger) {
      ++infants;
      infants_without += p.resident_id.empty();
    }
    if (p.resident_id.empty()) continue;
    ++with_id;
    const core::ResidentIdResult r = core::ParseResidentId(p.resident_id, kToday);
    ASSERT_TRUE(r.ok()) << p.resident_id;
    EXPECT_EQ(r.birth_date, p.birth);
    EXPECT_EQ(r.sex, p.male ? core::Sex::kMale : core::Sex::kFemale);
    EXPECT_TRUE(seen.insert(p.resident_id).second) << "two people share " << p.resident_id;
    if (r.region_code != "450324") ++migrants;
  }
  EXPECT_GT(with_id, static_cast<int64_t>(pop.people.size()) * 8 / 10);
  EXPECT_GT(migrants, 100);
  ASSERT_GT(infants, 50);
  EXPECT_GT(infants_without, infants / 2) << "most infants have no id";
}

TEST(GeneratorTest, FamiliesAndNamesLookReal) {
  const Population& pop = County20k().population();
  int64_t twins = 0, twin_same_name = 0, similar_parent = 0, elderly = 0, children = 0, residents = 0;
  int64_t zhuang = 0, yao = 0, compound = 0, moved = 0;
  std::map<std::string, int> surnames;
  // Same name, same birth year, same township, different people.
  absl::flat_hash_map<std::string, int> same_name_year_township;
  for (const Person& p : pop.people) {
    if (p.stranger) continue;
    ++residents;
    const int age = AgeOn(p.birth, pop.reference_day);
    elderly += age >= 60;
    children += age < 15;
    zhuang += p.ethnicity == Ethnicity::kZhuang;
    yao += p.ethnicity == Ethnicity::kYao;
    compound += Chars(p.surname).size() == 2;
    ++surnames[p.surname];
    EXPECT_FALSE(core::NormalizeName(p.name()).is_placeholder()) << p.name();
    if (p.twin >= 0) {
      ++twins;
      const Person& t = pop.people[p.twin];
      EXPECT_EQ(t.birth, p.birth);
      EXPECT_EQ(t.household, p.household);
      EXPECT_NE(t.given, p.given);
      if (!p.resident_id.empty() || !t.resident_id.empty()) {
        EXPECT_NE(t.resident_id, p.resident_id);
      }
      // Near-identical names: one character in common (浩然 / 浩宇).
      for (char32_t ch : Chars(t.given)) {
        if (absl::StrContains(p.given, EncodeChars({ch}))) {
          ++twin_same_name;
          break;
        }
      }
    }
    const int32_t parent = p.male ? p.father : p.mother;
    if (parent >= 0) {
      const std::vector<char32_t> a = Chars(p.given), b = Chars(pop.people[parent].given);
      for (char32_t c : a) {
        if (std::find(b.begin(), b.end(), c) != b.end()) {
          ++similar_parent;
          break;
        }
      }
    }
    const Household& h = pop.households[p.household];
    moved += h.moved_village >= 0;
    const int township = County20k().county().villages[h.village].township;
    ++same_name_year_township[absl::StrCat(p.name(), "/", p.birth.year(), "/", township)];
  }
  int64_t same_name_strangers = 0;
  for (const auto& [key, n] : same_name_year_township) same_name_strangers += n > 1 ? n : 0;
  EXPECT_GT(twins, 20);
  EXPECT_EQ(twin_same_name, twins);
  EXPECT_GT(similar_parent, 200);
  // They grow with the square of the density: ~20 at 20,000 people, ~1,000 at 200,000.
  EXPECT_GT(same_name_strangers, 10) << "same-name strangers must occur";
  EXPECT_GT(elderly, residents / 5);
  EXPECT_LT(elderly, residents / 2);
  EXPECT_GT(children, residents / 8);
  EXPECT_GT(yao, residents / 100);
  EXPECT_GT(zhuang, residents / 200);
  EXPECT_GT(compound, 0);
  EXPECT_GT(moved, 100);
  // Real frequency: 王 and 李 among the commonest, 黄 and 蒋 boosted in Guangxi.
  std::vector<std::pair<int, std::string>> ranked;
  for (const auto& [s, n] : surnames) ranked.emplace_back(-n, s);
  std::sort(ranked.begin(), ranked.end());
  std::set<std::string> top10;
  for (size_t i = 0; i < 10 && i < ranked.size(); ++i) top10.insert(ranked[i].second);
  EXPECT_TRUE(top10.count("李")) << ranked[0].second;
  EXPECT_TRUE(top10.count("黄"));
  EXPECT_GT(surnames.size(), 100u);
}

TEST(GeneratorTest, RecordIdsDoNotLeakThePerson) {
  const Dataset& d = County20k();
  // Per facility and prefix, ids are sequential numbers: no person number,
  // name or birth date in them.
  std::map<std::pair<int32_t, std::string>, std::vector<int64_t>> numbers;
  for (const SourceRecord& r : d.records()) {
    size_t k = 0;
    while (k < r.record_id.size() && !absl::ascii_isdigit(r.record_id[k])) ++k;
    int64_t n;
    ASSERT_TRUE(absl::SimpleAtoi(r.record_id.substr(k), &n)) << r.record_id;
    numbers[{r.facility, r.record_id.substr(0, k)}].push_back(n);
  }
  for (auto& [key, list] : numbers) {
    std::sort(list.begin(), list.end());
    EXPECT_EQ(list.back() - list.front() + 1, static_cast<int64_t>(list.size())) << "gaps at facility " << key.first;
  }
}

TEST(GeneratorTest, TruthMatchesLiveRecordsAndScoresPerfectlyAgainstItself) {
  const Dataset& d = County20k();
  const std::string truth = d.TruthCsv();
  auto s = eval::ScoreLinks(truth, truth, d.ErrorsCsv());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->truth_records, d.stats().live_records);
  EXPECT_EQ(s->pair_f1, 1.0);
  EXPECT_EQ(s->bcubed_f1, 1.0);
  EXPECT_EQ(s->twin_false_merge_pairs, 0);
  EXPECT_EQ(s->placeholder_false_merge_pairs, 0);
  EXPECT_GT(s->twin_records, 0);
  EXPECT_GT(s->placeholder_records, 0);
  EXPECT_GT(s->true_pairs, s->truth_records / 2);
  EXPECT_GT(s->name_variant.true_pairs, 0);
  EXPECT_GT(s->both_valid_id.true_pairs, 0);
  EXPECT_GT(s->not_both_valid_id.true_pairs, 0);
  // Unidentified emergency patients are nobody else.
  absl::flat_hash_map<int32_t, int> records_of;
  for (const SourceRecord& r : d.records()) {
    if (r.fate == Fate::kLive) ++records_of[r.person];
  }
  for (const SourceRecord& r : d.records()) {
    if (r.fate != Fate::kLive || !HasTag(r.tags, Tag::kPlaceholderUnknown)) continue;
    EXPECT_EQ(records_of[r.person], 1) << r.record_id;
    EXPECT_TRUE(d.population().people[r.person].stranger);
  }
}

}  // namespace
}  // namespace hisbridge::synth
