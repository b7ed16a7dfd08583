#include "libs/synth/error_rates.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace hisbridge::synth {
namespace {

using K = RateKind;

// In enum order (checked at start-up by Info()).
constexpr RateInfo kRates[] = {
    {Rate::kIdMissingVillageClinic, "id.missing.village_clinic", 0.40, K::kError,
     "village-clinic records without the resident id the person has"},
    {Rate::kIdMissingTownship, "id.missing.township", 0.15, K::kError,
     "township-health-centre records without the person's resident id"},
    {Rate::kIdMissingHospital, "id.missing.hospital", 0.06, K::kError,
     "county and TCM hospital records without the person's resident id"},
    {Rate::kIdOneDigit, "id.one_digit", 0.015, K::kError, "records with an id: one digit wrong"},
    {Rate::kIdTransposition, "id.transposition", 0.008, K::kError,
     "records with an id: two adjacent digits swapped"},
    {Rate::kIdLegacy15, "id.legacy15", 0.06, K::kError,
     "records with an id of a person born before 1990: the legacy 15-digit form"},
    {Rate::kIdFormat, "id.format", 0.02, K::kError,
     "records with an id: spaces, lower-case x, a leading apostrophe or full-width digits (still valid)"},
    {Rate::kIdRelative, "id.relative", 0.04, K::kError,
     "records of children under 14 (and of people over 75 living with a grown child): a relative's id written"},
    {Rate::kNameHomophone, "name.homophone", 0.03, K::kError,
     "one given-name character replaced by another with the same toneless pinyin"},
    {Rate::kNameSimilarChar, "name.similar_char", 0.008, K::kError,
     "one given-name character replaced by a visually similar one (same four-corner code)"},
    {Rate::kNameNearHomophone, "name.near_homophone", 0.01, K::kError,
     "one given-name character replaced by a southern-accent near-homophone (n/l, h/f, z/zh, c/ch, s/sh, -n/-ng)"},
    {Rate::kNameTraditional, "name.traditional", 0.01, K::kError,
     "records whose name has a character with a traditional form: written traditional"},
    {Rate::kNamePinyin, "name.pinyin", 0.004, K::kError, "name written in pinyin only (WANG XIAOMING)"},
    {Rate::kNameSpace, "name.space", 0.015, K::kError, "stray spaces inside or after the name"},
    {Rate::kNameFullwidth, "name.fullwidth", 0.006, K::kError,
     "full-width characters: ideographic space, full-width note or asterisk"},
    {Rate::kDobLunarShift, "dob.lunar_shift", 0.10, K::kError,
     "records of people born before 1970: the lunar birthday written as the date (20-50 days early)"},
    {Rate::kDobJanFirst, "dob.jan_first", 0.05, K::kError,
     "records of people born before 1960 (not on 1 January): an unknown birthday written as 1 January"},
    {Rate::kDobDayMonthSwap, "dob.day_month_swap", 0.015, K::kError,
     "records whose birth day is 1-12 and differs from the month: day and month swapped"},
    {Rate::kDobYearOff, "dob.year_off", 0.008, K::kError, "birth year one off"},
    {Rate::kDobYearOnly, "dob.year_only", 0.01, K::kError, "only the birth year (\"1956\", \"1956-00-00\")"},
    {Rate::kDobMissing, "dob.missing", 0.02, K::kError, "no birth date"},
    {Rate::kPhoneMissing, "phone.missing", 0.08, K::kError, "records of people with a phone: none written"},
    {Rate::kPhoneOneDigit, "phone.one_digit", 0.015, K::kError, "records with a phone: one digit wrong"},
    {Rate::kPhoneRelative, "phone.relative", 0.04, K::kError,
     "records of people with their own phone and a relative's: the relative's written"},
    {Rate::kAddressVillageOnly, "address.village_only", 0.06, K::kError,
     "address abbreviated to the village (\"遇龙村5组\")"},
    {Rate::kAddressMissing, "address.missing", 0.04, K::kError, "no address"},
    {Rate::kSexUnknown, "sex.unknown", 0.01, K::kError, "sex written as 0/9 or left out"},
    {Rate::kSexWrong, "sex.wrong", 0.003, K::kError, "the other sex"},
    {Rate::kRecordDuplicate, "record.duplicate", 0.025, K::kError,
     "registrations after which the facility registers the same person again under a new number"},
    {Rate::kDuplicateErrorFactor, "duplicate.error_factor", 2.0, K::kFactor,
     "error rates on duplicate registrations are multiplied by this (why the search failed)"},
    {Rate::kDuplicateMerged, "duplicate.merged", 0.35, K::kStructure,
     "duplicates later folded into the first record by the facility (op:merge)"},
    {Rate::kDuplicateDeleted, "duplicate.deleted", 0.15, K::kStructure,
     "duplicates later deleted by the facility (op:delete)"},
    {Rate::kRecordDeleted, "record.deleted", 0.003, K::kStructure,
     "other records deleted by their facility (registered in error)"},
    {Rate::kResendCorrection, "resend.correction", 0.30, K::kStructure,
     "records with an error: re-sent later with one error corrected"},
    {Rate::kResendSame, "resend.same", 0.05, K::kStructure, "records re-sent later unchanged"},
    {Rate::kResendAfterChange, "resend.after_change", 0.35, K::kStructure,
     "records of a person who moved or changed phone: re-sent with the new value"},
    {Rate::kPersonMoved, "person.moved", 0.03, K::kStructure, "households moving within the county"},
    {Rate::kPersonPhoneChange, "person.phone_change", 0.08, K::kStructure,
     "phone owners switching to a new number during the window"},
    {Rate::kPersonMigrant, "person.migrant", 0.12, K::kStructure,
     "married-in spouses whose resident id was issued by another county"},
    {Rate::kFamilyTwins, "family.twins", 0.015, K::kStructure, "births that are twins"},
    {Rate::kFamilySimilarName, "family.similar_name", 0.08, K::kStructure,
     "children named after a parent (王明 / 王小明, 王建国 / 王建军)"},
    {Rate::kNewbornPlaceholder, "newborn.placeholder", 0.80, K::kStructure,
     "babies born in the window: birth registered under a placeholder (李梅之子, 王之女)"},
    {Rate::kNewbornRenamed, "newborn.renamed", 0.40, K::kStructure,
     "placeholder birth records later re-sent with the child's name"},
    {Rate::kInfantNickname, "infant.nickname", 0.08, K::kStructure,
     "other records of infants under one: a nickname (王小宝, 宝宝)"},
    {Rate::kEmergencyUnknown, "emergency.unknown", 0.003, K::kStructure,
     "unidentified emergency patients (无名氏) per person of the county"},
    {Rate::kEmergencyIdentified, "emergency.identified", 0.30, K::kStructure,
     "无名氏 records that are a county resident, re-sent once identified"},
    {Rate::kOrderLate, "order.late", 0.02, K::kStructure,
     "lines delivered late (1 hour to 10 days after their event_time)"},
};
static_assert(sizeof(kRates) / sizeof(kRates[0]) == static_cast<size_t>(Rate::kCount), "one entry per rate");

}  // namespace

ErrorRates::ErrorRates() {
  for (const RateInfo& info : kRates) values_[static_cast<int>(info.rate)] = info.default_value;
}

absl::Span<const RateInfo> ErrorRates::All() { return kRates; }

const RateInfo& ErrorRates::Info(Rate r) { return kRates[static_cast<int>(r)]; }

absl::Status ErrorRates::Set(absl::string_view name, double value) {
  for (const RateInfo& info : kRates) {
    if (info.name != name) continue;
    const double max = info.kind == RateKind::kFactor ? 10.0 : 1.0;
    if (!(value >= 0 && value <= max)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("rate %s must be between 0 and %g, not %g", name, max, value));
    }
    values_[static_cast<int>(info.rate)] = value;
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown rate \"", name, "\" (hisbridge gen --print-default-rates lists them)"));
}

absl::Status ErrorRates::Parse(absl::string_view text) {
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    const size_t hash = line.find('#');
    if (hash != absl::string_view::npos) line = line.substr(0, hash);
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": expected name=value, got \"", line, "\""));
    }
    const absl::string_view name = absl::StripAsciiWhitespace(line.substr(0, eq));
    const absl::string_view value_text = absl::StripAsciiWhitespace(line.substr(eq + 1));
    double value;
    if (!absl::SimpleAtod(value_text, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line_number, ": \"", value_text, "\" is not a number"));
    }
    absl::Status s = Set(name, value);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("line ", line_number, ": ", s.message()));
  }
  return absl::OkStatus();
}

void ErrorRates::Scale(double factor) {
  for (const RateInfo& info : kRates) {
    if (info.kind != RateKind::kError) continue;
    double& v = values_[static_cast<int>(info.rate)];
    v = std::clamp(v * factor, 0.0, 1.0);
  }
}

std::string ErrorRates::ToText() const {
  std::string out =
      "# hisbridge gen rates: name=value, one per line ('#' starts a comment).\n"
      "# Record errors are scaled together by --error-scale; structure rates and factors are not.\n";
  RateKind section = RateKind::kFactor;
  bool first = true;
  for (const RateInfo& info : kRates) {
    const RateKind kind = info.kind == RateKind::kFactor ? RateKind::kStructure : info.kind;
    if (first || kind != section) {
      absl::StrAppend(&out, "\n# --- ", kind == RateKind::kError ? "record errors" : "structure", " ---\n");
      section = kind;
      first = false;
    }
    absl::StrAppend(&out, absl::StrFormat("%-28s= %-6g # %s\n", info.name, (*this)[info.rate], info.meaning));
  }
  return out;
}

}  // namespace hisbridge::synth
