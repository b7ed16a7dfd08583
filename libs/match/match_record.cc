#include "libs/match/match_record.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "libs/core/identifier.h"
#include "libs/core/normalize.h"
#include "libs/core/patient.h"
#include "libs/security/hmac.h"

namespace hisbridge::match {
namespace {

// FNV-1a over the bytes, then the splitmix64 finaliser so that values that
// differ in one character spread over all 64 bits.
uint64_t Fnv1aMix(absl::string_view text) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

void ToFields(const hisbridge::v1::Record& r, core::PatientFields* f) {
  f->name = r.name();
  f->sex = r.sex();
  f->birth_date = r.birth_date();
  f->id_type = r.id_type();
  f->id_number = r.id_number();
  f->insurance_id = r.insurance_id();
  f->health_card_id = r.health_card_id();
  f->phone = r.phone();
  f->address = r.address();
  f->address_code = r.address_code();
  f->ethnicity.clear();  // not matching evidence
}

// "19850302" for a full date; "" otherwise.
std::string Ymd(const core::BirthDate& d) {
  if (!d.ok() || d.precision != core::DatePrecision::kDay) return "";
  char buf[9];
  const int y = static_cast<int>(d.date.year());
  if (y < 1000 || y > 9999) return "";
  buf[0] = static_cast<char>('0' + y / 1000);
  buf[1] = static_cast<char>('0' + y / 100 % 10);
  buf[2] = static_cast<char>('0' + y / 10 % 10);
  buf[3] = static_cast<char>('0' + y % 10);
  buf[4] = static_cast<char>('0' + d.date.month() / 10);
  buf[5] = static_cast<char>('0' + d.date.month() % 10);
  buf[6] = static_cast<char>('0' + d.date.day() / 10);
  buf[7] = static_cast<char>('0' + d.date.day() % 10);
  buf[8] = '\0';
  return std::string(buf, 8);
}

std::string Year(const core::BirthDate& d) {
  if (!d.ok() || d.precision == core::DatePrecision::kNone) return "";
  return absl::StrCat(d.year);
}

core::Sex BestSex(const MatchRecord& r) { return core::IsKnownSex(r.sex) ? r.sex : r.id_sex; }

// Blocking keys, in a fixed order. Each is "<kind>:<values>"; kinds:
//   id  the 18-character resident id (as read, valid or not)
//   ox  another document of the same type (insurance, health card, passport)
//   ds  birth date + sex (stated and id-derived dates)
//   nb  full-name pinyin + birth year
//   sg  surname pinyin + given-name initials + birth date
//   ph  phone digits
//   vd  village (name) + birth date
//   nv  full-name pinyin + village (name)
//   nt  full-name pinyin + township
//   sv  surname pinyin + village (name) + birth year
// True pairs of the same person almost always share one: every error the
// generator and real data make spoils some keys and leaves others.
template <typename Fn>
void ForEachBlockingKey(const MatchRecord& r, Fn&& emit) {
  if (!r.id_digits18.empty()) emit(absl::StrCat("id:", r.id_digits18.view()));
  for (const OtherIdentifier& o : r.other_ids) emit(absl::StrCat("ox:", static_cast<int>(o.type), ":", o.value));

  std::string dates[2] = {Ymd(r.birth_date), Ymd(r.id_birth_date)};
  if (dates[1] == dates[0]) dates[1].clear();
  std::string years[2] = {Year(r.birth_date), Year(r.id_birth_date)};
  if (years[1] == years[0]) years[1].clear();
  const core::Sex sex = BestSex(r);
  const absl::string_view sex_code = core::IsKnownSex(sex) ? core::SexCode(sex) : "u";
  for (const std::string& d : dates) {
    if (!d.empty()) emit(absl::StrCat("ds:", d, ":", sex_code));
  }
  // Villages by name, not code: one clinic writes only "大坪村", which the
  // address parser cannot always resolve to its code.
  const std::string& village = !r.village_name.empty() ? r.village_name : r.village_key;
  const core::NormalizedName& n = r.name;
  const bool name_usable = !n.empty() && !n.pinyin.empty() && !r.placeholder_name;
  if (name_usable) {
    for (const std::string& y : years) {
      if (!y.empty()) emit(absl::StrCat("nb:", n.pinyin, ":", y));
    }
    if (!n.surname_pinyin.empty() && !n.given_initials.empty()) {
      for (const std::string& d : dates) {
        if (!d.empty()) emit(absl::StrCat("sg:", n.surname_pinyin, ":", n.given_initials, ":", d));
      }
    }
    if (!village.empty()) emit(absl::StrCat("nv:", n.pinyin, ":", village));
    if (!r.township_key.empty()) emit(absl::StrCat("nt:", n.pinyin, ":", r.township_key));
  }
  // Surname + village + birth year: a given name mistyped beyond its
  // pinyin (a visually similar character) together with a shifted birth
  // date still meets the other records of the village's family.
  if (!r.placeholder_name && !n.surname_pinyin.empty() && !village.empty()) {
    for (const std::string& y : years) {
      if (!y.empty()) emit(absl::StrCat("sv:", n.surname_pinyin, ":", village, ":", y));
    }
  }
  for (const core::PhoneNumber& p : r.phones) emit(absl::StrCat("ph:", p.digits));
  if (!village.empty()) {
    for (const std::string& d : dates) {
      if (!d.empty()) emit(absl::StrCat("vd:", village, ":", d));
    }
  }
}

}  // namespace

// Keyed (HMAC-SHA256 under the process token key, libs/security): the
// blocking index and its tokens on disk then reveal nothing about the
// identifiers and names they were made from, even to someone who can
// guess them. The inner and outer hash states are precomputed once.
uint64_t FastHash(absl::string_view text) { return Fnv1aMix(text); }

uint64_t Token(absl::string_view text) { return security::ProcessTokenHmac().Prefix64(text); }

std::string CanonicalResidentId(const hisbridge::v1::Record& patient, absl::CivilDay today) {
  // Only the resident identity card (CV02.01.101 code 01, the default when
  // no type is given) is a resident id; a passport number that happens to
  // be 18 digits long must never be compared with one.
  if (!patient.id_type().empty() && patient.id_type() != "01") return "";
  if (patient.id_number().empty()) return "";
  const core::ResidentIdResult parsed = core::ParseResidentId(patient.id_number(), today);
  return parsed.ok() ? parsed.canonical : "";
}

void PrepareMatchRecord(const hisbridge::v1::Record& patient, const PrepareOptions& options,
                        MatchRecord* out) {
  out->resident_id.clear();
  out->id_digits18.clear();
  out->id_valid = false;
  out->id_of_relative = false;
  out->other_ids.clear();
  out->name = core::NormalizedName();
  out->name_token = out->pinyin_token = 0;
  out->placeholder_name = false;
  out->birth_date = core::BirthDate();
  out->id_birth_date = core::BirthDate();
  out->sex = out->id_sex = core::Sex::kUnknown;
  out->age_years = -1;
  out->phones.clear();
  out->phone_tokens.clear();
  out->county_key.clear();
  out->township_key.clear();
  out->village_key.clear();
  out->village_name.clear();
  out->blocking_tokens.clear();

  if (options.id_only) {
    out->resident_id = CanonicalResidentId(patient, options.today);
    out->id_digits18 = out->resident_id;
    out->id_valid = !out->resident_id.empty();
    if (out->id_valid) out->blocking_tokens.push_back(Token(absl::StrCat("id:", out->resident_id)));
    return;
  }

  // One scratch record per thread: normalisation allocates little once its
  // strings have grown.
  thread_local core::PatientFields fields;
  thread_local core::NormalizedPatient normalized;
  ToFields(patient, &fields);
  core::NormalizeOptions normalize_options;
  normalize_options.today = options.today;
  normalize_options.county_hint = options.county_hint;
  core::Normalize(fields, normalize_options, &normalized);

  const core::ResidentIdResult& id = normalized.resident_id;
  if (id.ok()) {
    out->resident_id = id.canonical;
    out->id_valid = true;
  }
  out->id_digits18 = id.digits18;
  if (id.has_birth_date && !id.digits18.empty()) {
    out->id_birth_date.status = core::DateStatus::kValid;
    out->id_birth_date.precision = core::DatePrecision::kDay;
    out->id_birth_date.date = id.birth_date;
    out->id_birth_date.year = static_cast<int>(id.birth_date.year());
    out->id_birth_date.month = id.birth_date.month();
    out->id_birth_date.day = id.birth_date.day();
    out->id_sex = id.sex;
  }
  for (const core::Identifier& other : normalized.identifiers) {
    if (other.value.empty()) continue;
    out->other_ids.push_back({static_cast<uint8_t>(other.type), other.value});
  }

  std::swap(out->name, normalized.name);
  const core::NormalizedName& n = out->name;
  out->placeholder_name = n.is_placeholder();

  // A child registered on a parent's card, an old man on his son's: the id
  // is a relative's when its birth date cannot be the record's own (the
  // dates disagree beyond every typo and lunar-calendar slip), or when an
  // infant's placeholder record carries the id of someone years old. Such
  // an id would link the record to the relative: it is set aside (kept in
  // the record, never used for matching).
  if (!out->id_digits18.empty() && out->id_birth_date.ok()) {
    bool relatives = false;
    const core::BirthDate& stated = normalized.birth_date;
    if (stated.ok() && stated.precision == core::DatePrecision::kDay) {
      relatives = core::CompareBirthDates(stated, out->id_birth_date) == core::DateMatch::kDifferent &&
                  std::abs(stated.year - out->id_birth_date.year) > 1;
    } else if (stated.ok() && stated.precision != core::DatePrecision::kNone) {
      relatives = std::abs(stated.year - out->id_birth_date.year) > 1;
    }
    const bool infant_placeholder = n.placeholder == core::PlaceholderReason::kNewborn ||
                                    n.placeholder == core::PlaceholderReason::kChildOf ||
                                    n.placeholder == core::PlaceholderReason::kInfantNickname;
    if (infant_placeholder && out->id_birth_date.date < options.today - 3 * 366) relatives = true;
    if (relatives) {
      out->id_of_relative = true;
      out->resident_id.clear();
      out->id_digits18.clear();
      out->id_valid = false;
      out->id_birth_date = core::BirthDate();
      out->id_sex = core::Sex::kUnknown;
    }
  }
  if (!n.empty()) {
    out->name_token = FastHash(absl::StrCat("n:", n.script == core::NameScript::kHan ? n.han : n.pinyin));
    if (!n.pinyin.empty()) out->pinyin_token = FastHash(absl::StrCat("p:", n.pinyin));
  }

  out->birth_date = normalized.birth_date;
  out->sex = normalized.sex;
  if (const core::BirthDate& born = out->best_birth_date(); born.ok()) {
    int age = static_cast<int>(options.today.year() - born.year);
    if (born.precision == core::DatePrecision::kDay &&
        (options.today.month() < born.month ||
         (options.today.month() == born.month && options.today.day() < born.day))) {
      --age;
    }
    out->age_years = std::max(0, age);
  }
  for (const core::PhoneNumber& p : normalized.phones) {
    if (!p.usable()) continue;
    if (std::any_of(out->phones.begin(), out->phones.end(),
                    [&](const core::PhoneNumber& q) { return q.digits == p.digits; })) {
      continue;
    }
    out->phones.push_back(p);
    out->phone_tokens.push_back(FastHash(absl::StrCat("ph:", p.digits)));
  }
  out->county_key = normalized.address.county_key;
  out->township_key = normalized.address.township_key;
  out->village_key = normalized.address.village_key;
  out->village_name = normalized.address.village_name;

  ForEachBlockingKey(*out, [&](const std::string& key) { out->blocking_tokens.push_back(Token(key)); });
  std::sort(out->blocking_tokens.begin(), out->blocking_tokens.end());
  out->blocking_tokens.erase(std::unique(out->blocking_tokens.begin(), out->blocking_tokens.end()),
                             out->blocking_tokens.end());
}

std::vector<std::string> BlockingKeys(const MatchRecord& record) {
  std::vector<std::string> keys;
  if (record.name.empty() && record.id_digits18.empty() && !record.resident_id.empty()) {
    keys.push_back(absl::StrCat("id:", record.resident_id));  // id-only preparation
    return keys;
  }
  ForEachBlockingKey(record, [&](const std::string& key) { keys.push_back(key); });
  return keys;
}

}  // namespace hisbridge::match
