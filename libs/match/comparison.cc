#include "libs/match/comparison.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/han.h"
#include "libs/core/identifier.h"

namespace hisbridge::match {
namespace {

constexpr absl::string_view kResidentIdLevels[] = {"exact",     "same_invalid", "typo",
                                                   "different_both_valid", "different", "missing"};
constexpr absl::string_view kOtherIdLevels[] = {"exact", "different", "missing"};
constexpr absl::string_view kNameLevels[] = {"exact",     "variant",   "latin_equal",        "homophone",
                                             "dialect",   "visual",    "reordered",          "one_char_different",
                                             "pinyin_close", "different", "missing"};
constexpr absl::string_view kBirthDateLevels[] = {"exact",      "swapped",   "typo",      "year_off", "within_60_days",
                                                  "same_month", "same_year", "different", "missing"};
constexpr absl::string_view kSexLevels[] = {"same", "different", "missing"};
constexpr absl::string_view kPhoneLevels[] = {"exact", "same_local_number", "one_digit_off", "different", "missing"};
constexpr absl::string_view kAddressLevels[] = {"village", "township", "county", "different", "missing"};

// The dialect class of every toneless syllable: initials z/zh, c/ch, s/sh,
// n/l/r and f/h before u fold together, and a final -ng folds into -n.
class DialectClasses {
 public:
  DialectClasses() {
    std::map<std::string, uint16_t> ids;
    classes_.resize(core::SyllableCount());
    for (size_t i = 0; i < classes_.size(); ++i) {
      std::string s(core::SyllableText(static_cast<core::SyllableId>(i)));
      if (s.size() > 1 && (s[0] == 'z' || s[0] == 'c' || s[0] == 's') && s[1] == 'h') {
        s.erase(1, 1);
      } else if (s.size() > 1 && (s[0] == 'n' || s[0] == 'r') && s != "ng") {
        s[0] = 'l';
      } else if (s.size() > 1 && s[0] == 'h' && s[1] == 'u') {
        s[0] = 'f';
      }
      if (s.size() > 2 && s.compare(s.size() - 2, 2, "ng") == 0) s.pop_back();
      auto [it, inserted] = ids.emplace(s, static_cast<uint16_t>(ids.size()));
      classes_[i] = it->second;
    }
  }
  uint16_t Of(core::SyllableId id) const { return id < classes_.size() ? classes_[id] : 0xFFFF; }

 private:
  std::vector<uint16_t> classes_;
};

const DialectClasses& Dialects() {
  static const DialectClasses* classes = new DialectClasses();
  return *classes;
}

bool ShareReading(const core::NameChar& a, const core::NameChar& b) {
  for (core::SyllableId x : a.readings()) {
    for (core::SyllableId y : b.readings()) {
      if (x == y) return true;
    }
  }
  return false;
}

bool ShareDialectReading(const core::NameChar& a, const core::NameChar& b) {
  for (core::SyllableId x : a.readings()) {
    for (core::SyllableId y : b.readings()) {
      if (DialectEquivalent(x, y)) return true;
    }
  }
  return false;
}

bool SameFourCorner(const core::NameChar& a, const core::NameChar& b) {
  if (!a.four_corner.valid() || !b.four_corner.valid()) return false;
  if (a.four_corner.main != b.four_corner.main) return false;
  return a.four_corner.supplement < 0 || b.four_corner.supplement < 0 ||
         a.four_corner.supplement == b.four_corner.supplement;
}

std::string IsoDate(const core::BirthDate& d) {
  if (!d.ok()) return "";
  switch (d.precision) {
    case core::DatePrecision::kDay:
      return absl::StrFormat("%04d-%02d-%02d", d.year, d.month, d.day);
    case core::DatePrecision::kMonth:
      return absl::StrFormat("%04d-%02d", d.year, d.month);
    case core::DatePrecision::kYear:
      return absl::StrFormat("%04d", d.year);
    case core::DatePrecision::kNone:
      break;
  }
  return "";
}

level::BirthDate FromDateMatch(core::DateMatch m) {
  switch (m) {
    case core::DateMatch::kExact: return level::kDateExact;
    case core::DateMatch::kDayMonthSwapped: return level::kDateSwapped;
    case core::DateMatch::kTypo: return level::kDateTypo;
    case core::DateMatch::kOneYearOff: return level::kDateYearOff;
    case core::DateMatch::kWithin60Days: return level::kDateWithin60Days;
    case core::DateMatch::kSameMonth: return level::kDateSameMonth;
    case core::DateMatch::kSameYear: return level::kDateSameYear;
    case core::DateMatch::kDifferent: return level::kDateDifferent;
    case core::DateMatch::kMissing: break;
  }
  return level::kDateMissing;
}

core::Sex BestSex(const MatchRecord& r) { return core::IsKnownSex(r.sex) ? r.sex : r.id_sex; }

}  // namespace

absl::string_view FieldName(Field field) {
  switch (field) {
    case Field::kResidentId: return "resident_id";
    case Field::kOtherId: return "other_id";
    case Field::kName: return "name";
    case Field::kBirthDate: return "birth_date";
    case Field::kSex: return "sex";
    case Field::kPhone: return "phone";
    case Field::kAddress: return "address";
  }
  return "";
}

absl::Span<const absl::string_view> LevelNames(Field field) {
  switch (field) {
    case Field::kResidentId: return kResidentIdLevels;
    case Field::kOtherId: return kOtherIdLevels;
    case Field::kName: return kNameLevels;
    case Field::kBirthDate: return kBirthDateLevels;
    case Field::kSex: return kSexLevels;
    case Field::kPhone: return kPhoneLevels;
    case Field::kAddress: return kAddressLevels;
  }
  return {};
}

size_t LevelCount(Field field) { return LevelNames(field).size(); }

int FindLevel(Field field, absl::string_view name) {
  const auto names = LevelNames(field);
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

bool DialectEquivalent(core::SyllableId a, core::SyllableId b) {
  if (a == b) return true;
  if (a == core::kNoSyllable || b == core::kNoSyllable) return false;
  return Dialects().Of(a) == Dialects().Of(b);
}

level::ResidentId CompareResidentId(const MatchRecord& a, const MatchRecord& b) {
  if (a.id_digits18.empty() || b.id_digits18.empty()) return level::kIdMissing;
  if (a.id_digits18 == b.id_digits18) return a.id_valid && b.id_valid ? level::kIdExact : level::kIdSameInvalid;
  if (a.id_valid && b.id_valid) return level::kIdDifferentBothValid;
  // MOD 11-2 catches every single substitution and adjacent transposition,
  // so only a pair with an invalid side can be a typo of each other.
  switch (core::ClassifyIdDifference(a.id_digits18, b.id_digits18)) {
    case core::IdDifference::kOneCharacterDifferent:
    case core::IdDifference::kAdjacentTransposition:
      return level::kIdTypo;
    default:
      return level::kIdDifferent;
  }
}

level::OtherId CompareOtherIds(const MatchRecord& a, const MatchRecord& b, bool* per_person) {
  bool any_same_type = false;
  for (const OtherIdentifier& x : a.other_ids) {
    for (const OtherIdentifier& y : b.other_ids) {
      if (x.type != y.type) continue;
      any_same_type = true;
      if (x.value == y.value) {
        if (per_person != nullptr) {
          *per_person = x.type != static_cast<uint8_t>(core::IdType::kMedicalInsurance);
        }
        return level::kOtherExact;
      }
    }
  }
  if (per_person != nullptr) *per_person = false;
  return any_same_type ? level::kOtherDifferent : level::kOtherMissing;
}

level::OtherId CompareOtherIds(const MatchRecord& a, const MatchRecord& b) { return CompareOtherIds(a, b, nullptr); }

level::Name CompareName(const core::NormalizedName& a, const core::NormalizedName& b) {
  const core::NameMatch m = core::CompareNames(a, b);
  switch (m) {
    case core::NameMatch::kMissing: return level::kNameMissing;
    case core::NameMatch::kExact: return level::kNameExact;
    case core::NameMatch::kTraditionalVariant: return level::kNameVariant;
    case core::NameMatch::kLatinEqual: return level::kNameLatinEqual;
    case core::NameMatch::kHomophone: return level::kNameHomophone;
    case core::NameMatch::kVisuallySimilar: return level::kNameVisual;
    case core::NameMatch::kReordered: return level::kNameReordered;
    case core::NameMatch::kPinyinClose:
    case core::NameMatch::kDifferent:
      break;
  }
  // Finer grades than the core offers for Han names of equal length: every
  // character agrees up to a dialect confusion (王晓敏 / 王小明: min/ming),
  // or exactly one character of a name of three or more differs (王浩然 /
  // 王浩宇: typical of siblings, and of one mistyped character).
  if (a.script == core::NameScript::kHan && b.script == core::NameScript::kHan && a.chars.size() == b.chars.size()) {
    int dialect = 0;
    int different = 0;
    for (size_t i = 0; i < a.chars.size(); ++i) {
      const core::NameChar& x = a.chars[i];
      const core::NameChar& y = b.chars[i];
      if (x.cp == y.cp || ShareReading(x, y) || SameFourCorner(x, y)) continue;
      if (ShareDialectReading(x, y)) {
        ++dialect;
      } else {
        ++different;
      }
    }
    if (different == 0 && dialect > 0) return level::kNameDialect;
    if (different == 1 && a.chars.size() >= 3) return level::kNameOneCharDifferent;
  }
  return m == core::NameMatch::kPinyinClose ? level::kNamePinyinClose : level::kNameDifferent;
}

level::BirthDate CompareBirthDate(const MatchRecord& a, const MatchRecord& b) {
  // Each side may know its birth date twice: as stated and from the
  // resident id. The strongest agreement of any pair counts, so a lunar
  // date stated at one clinic still meets the id's solar date elsewhere.
  const core::BirthDate* as[2] = {&a.birth_date, &a.id_birth_date};
  const core::BirthDate* bs[2] = {&b.birth_date, &b.id_birth_date};
  level::BirthDate best = level::kDateMissing;
  for (const core::BirthDate* x : as) {
    if (!x->ok()) continue;
    for (const core::BirthDate* y : bs) {
      if (!y->ok()) continue;
      level::BirthDate l = FromDateMatch(core::CompareBirthDates(*x, *y));
      // HIS systems (and old resident ids) write 1 January when only the
      // year is known: such a date says no more than its year, both when
      // it meets another date of the year and when it meets another 1
      // January.
      const bool default_day = (x->month == 1 && x->day == 1) || (y->month == 1 && y->day == 1);
      if (default_day && x->year == y->year && l != level::kDateMissing) l = level::kDateSameYear;
      if (l < best) best = l;
    }
  }
  return best;
}

level::Sex CompareSex(const MatchRecord& a, const MatchRecord& b) {
  const core::Sex x = BestSex(a);
  const core::Sex y = BestSex(b);
  if (!core::IsKnownSex(x) || !core::IsKnownSex(y)) return level::kSexMissing;
  return x == y ? level::kSexSame : level::kSexDifferent;
}

level::Phone ComparePhone(const MatchRecord& a, const MatchRecord& b) {
  switch (core::CompareAnyPhones(a.phones, b.phones)) {
    case core::PhoneMatch::kExact: return level::kPhoneExact;
    case core::PhoneMatch::kSameLocalNumber: return level::kPhoneSameLocal;
    case core::PhoneMatch::kOneDigitDifferent: return level::kPhoneOneDigit;
    case core::PhoneMatch::kDifferent: return level::kPhoneDifferent;
    case core::PhoneMatch::kMissing: break;
  }
  return level::kPhoneMissing;
}

level::Address CompareAddress(const MatchRecord& a, const MatchRecord& b) {
  const auto both = [](const std::string& x, const std::string& y) { return !x.empty() && !y.empty(); };
  const auto compatible = [&](const std::string& x, const std::string& y) { return !both(x, y) || x == y; };
  if (both(a.village_key, b.village_key) && a.village_key == b.village_key) return level::kAddressVillage;
  // One clinic resolved the village to its code, the other wrote only
  // "大坪村": the same name in a compatible county and township is the
  // same village.
  if (both(a.village_name, b.village_name) && a.village_name == b.village_name &&
      compatible(a.county_key, b.county_key) && compatible(a.township_key, b.township_key)) {
    return level::kAddressVillage;
  }
  if (both(a.township_key, b.township_key) && a.township_key == b.township_key) return level::kAddressTownship;
  if (both(a.county_key, b.county_key) && a.county_key == b.county_key) {
    // Villages known on both sides only as names that differ, or resolved
    // codes that differ, are different villages of the county; otherwise
    // the county is all that is known to agree.
    return level::kAddressCounty;
  }
  if (both(a.county_key, b.county_key) || both(a.township_key, b.township_key)) return level::kAddressDifferent;
  if (both(a.village_name, b.village_name)) return level::kAddressDifferent;
  return level::kAddressMissing;
}

ComparisonVector Compare(const MatchRecord& a, const MatchRecord& b) {
  ComparisonVector v;
  v[Field::kResidentId] = CompareResidentId(a, b);
  v[Field::kOtherId] = CompareOtherIds(a, b);
  v[Field::kName] = CompareName(a.name, b.name);
  v[Field::kBirthDate] = CompareBirthDate(a, b);
  v[Field::kSex] = CompareSex(a, b);
  v[Field::kPhone] = ComparePhone(a, b);
  v[Field::kAddress] = CompareAddress(a, b);
  return v;
}

std::string MaskIdentifier(absl::string_view value) {
  if (value.size() <= 4) return std::string(value.size(), '*');
  if (value.size() <= 8) return absl::StrCat(std::string(value.size() - 2, '*'), value.substr(value.size() - 2));
  const size_t keep = value.size() >= 16 ? 4 : 3;
  return absl::StrCat(value.substr(0, keep), std::string(value.size() - keep - 4, '*'),
                      value.substr(value.size() - 4));
}

std::string DisplayValue(const MatchRecord& r, Field field) {
  switch (field) {
    case Field::kResidentId:
      return MaskIdentifier(r.id_digits18);
    case Field::kOtherId: {
      std::string out;
      for (const OtherIdentifier& o : r.other_ids) {
        absl::StrAppend(&out, out.empty() ? "" : " ",
                        core::IdTypeCode(static_cast<core::IdType>(o.type)), ":", MaskIdentifier(o.value));
      }
      return out;
    }
    case Field::kName:
      return r.name.script == core::NameScript::kHan ? r.name.han
                                                     : absl::StrCat(r.name.surname, r.name.surname.empty() ? "" : " ",
                                                                    r.name.given);
    case Field::kBirthDate:
      return IsoDate(r.best_birth_date());
    case Field::kSex: {
      const core::Sex s = BestSex(r);
      return core::IsKnownSex(s) ? std::string(core::SexCode(s)) : "";
    }
    case Field::kPhone: {
      std::string out;
      for (const core::PhoneNumber& p : r.phones) absl::StrAppend(&out, out.empty() ? "" : " ", MaskIdentifier(p.digits));
      return out;
    }
    case Field::kAddress:
      return !r.village_key.empty() ? r.village_key : !r.township_key.empty() ? r.township_key : r.county_key;
  }
  return "";
}

}  // namespace hisbridge::match
