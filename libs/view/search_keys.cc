#include "libs/view/search_keys.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "libs/core/name.h"
#include "libs/core/phone.h"
#include "libs/core/resident_id.h"
#include "libs/index/kv_store.h"

namespace hisbridge::view {
namespace {

using index::JoinKey;

constexpr absl::string_view kVillageSuffixes[] = {"村民委员会", "居民委员会", "村委会", "居委会",
                                                  "社区",       "嘎查",       "村"};

bool AllDigits(absl::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// "1985" or "1985-03-02" (a real date); "" when neither.
bool ValidBirthQuery(absl::string_view s) {
  if (s.size() == 4) return AllDigits(s);
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!AllDigits(s.substr(0, 4)) || !AllDigits(s.substr(5, 2)) || !AllDigits(s.substr(8, 2))) return false;
  const int y = std::stoi(std::string(s.substr(0, 4)));
  const int m = std::stoi(std::string(s.substr(5, 2)));
  const int d = std::stoi(std::string(s.substr(8, 2)));
  const absl::CivilDay day(y, m, d);
  return day.year() == y && day.month() == m && day.day() == d;
}

// Index keys hold tokens of values, never the identifiers, names or
// phones themselves (match::Token, keyed per deployment once an at-rest
// token key is installed): row keys are not encrypted.
std::string ValueToken(absl::string_view kind, absl::string_view value) {
  return absl::StrFormat("%016x", match::Token(JoinKey({"search", kind, value})));
}

absl::Status Invalid(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

}  // namespace

std::string BirthText(const core::BirthDate& date) {
  if (!date.ok()) return "";
  switch (date.precision) {
    case core::DatePrecision::kDay:
      return absl::StrFormat("%04d-%02d-%02d", date.year, date.month, date.day);
    case core::DatePrecision::kMonth:
      return absl::StrFormat("%04d-%02d", date.year, date.month);
    case core::DatePrecision::kYear:
      return absl::StrFormat("%04d", date.year);
    case core::DatePrecision::kNone:
      break;
  }
  return "";
}

std::string VillageNameOf(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  for (absl::string_view suffix : kVillageSuffixes) {
    if (text.size() > suffix.size() && absl::ConsumeSuffix(&text, suffix)) break;
  }
  return std::string(text);
}

std::set<std::string> SearchKeysOf(const PreparedPatient& patient) {
  std::set<std::string> keys;
  const std::string& id = patient.patient_id;
  for (const PreparedSource& source : patient.sources) {
    const match::MatchRecord& r = source.record;
    if (!r.resident_id.empty()) keys.insert(JoinKey({"i", ValueToken("i", r.resident_id), id}));
    for (const core::PhoneNumber& phone : r.phones) {
      if (phone.usable()) keys.insert(JoinKey({"p", ValueToken("p", phone.digits), id}));
    }
    const std::string birth = BirthText(r.best_birth_date());
    const std::string year = birth.substr(0, 4);
    if (!r.name.han.empty()) {
      keys.insert(JoinKey({"n", ValueToken("n", r.name.han), ValueToken("by", year), ValueToken("bd", birth), id}));
    }
    if (!r.name.pinyin.empty()) {
      keys.insert(
          JoinKey({"y", ValueToken("y", r.name.pinyin), ValueToken("by", year), ValueToken("bd", birth), id}));
    }
    if (r.village_key.size() == 12 && AllDigits(r.village_key)) {
      keys.insert(JoinKey({"v", ValueToken("v", r.village_key), id}));
    }
    if (!r.village_name.empty()) keys.insert(JoinKey({"w", ValueToken("w", r.village_name), id}));
  }
  return keys;
}

absl::StatusOr<SearchPlan> SearchPlan::Make(const hisbridge::v1::SearchPatientsRequest& request,
                                            absl::CivilDay today) {
  SearchPlan plan;
  const std::string id_number(absl::StripAsciiWhitespace(request.id_number()));
  const std::string phone(absl::StripAsciiWhitespace(request.phone()));
  const std::string name(absl::StripAsciiWhitespace(request.name()));
  const std::string birth(absl::StripAsciiWhitespace(request.birth_date()));
  const std::string village(absl::StripAsciiWhitespace(request.village()));
  if (id_number.empty() && phone.empty() && name.empty() && village.empty()) {
    if (!birth.empty()) {
      return Invalid("birth_date",
                     "narrows a search by name, id_number, phone or village; give one of those too");
    }
    return absl::InvalidArgumentError("give at least one of id_number, phone, name (with birth_date) or village");
  }
  if (!id_number.empty()) {
    core::ResidentIdResult parsed = core::ParseResidentId(id_number, today);
    if (!parsed.ok()) {
      return Invalid("id_number", absl::StrCat("\"", id_number, "\" is not a valid resident id: ",
                                               core::DescribeResidentIdProblem(parsed)));
    }
    plan.resident_id_ = parsed.canonical;
  }
  if (!phone.empty()) {
    core::PhoneResult parsed = core::ParsePhones(phone);
    for (const core::PhoneNumber& n : parsed.numbers) {
      if (n.usable()) {
        plan.phone_ = n.digits;
        break;
      }
    }
    if (plan.phone_.empty()) {
      return Invalid("phone", absl::StrCat("\"", phone, "\" holds no usable phone number (a mobile, a landline "
                                           "with or without its area code, or a foreign number)"));
    }
  }
  if (!name.empty()) {
    core::NormalizedName parsed = core::NormalizeName(name);
    if (parsed.empty()) return Invalid("name", absl::StrCat("\"", name, "\" has nothing name-like to search for"));
    if (parsed.script == core::NameScript::kHan) {
      plan.han_name_ = parsed.han;
    } else {
      plan.pinyin_name_ = parsed.pinyin;
    }
  }
  if (!birth.empty()) {
    if (!ValidBirthQuery(birth)) {
      return Invalid("birth_date", absl::StrCat("\"", birth, "\" is neither a date YYYY-MM-DD nor a year YYYY"));
    }
    plan.birth_ = birth;
  }
  if (!village.empty()) {
    if (village.size() == 12 && AllDigits(village)) {
      plan.village_code_ = village;
    } else if (AllDigits(village)) {
      return Invalid("village", absl::StrCat("\"", village, "\" is not a 12-digit village code (统计用区划代码)"));
    } else {
      plan.village_name_ = VillageNameOf(village);
    }
  }

  // Scan the most selective index; the other criteria filter.
  if (!plan.resident_id_.empty()) {
    plan.prefix_ = JoinKey({"i", ValueToken("i", plan.resident_id_), ""});
  } else if (!plan.phone_.empty()) {
    plan.prefix_ = JoinKey({"p", ValueToken("p", plan.phone_), ""});
  } else if (!plan.han_name_.empty() || !plan.pinyin_name_.empty()) {
    const bool han = !plan.han_name_.empty();
    plan.prefix_ = JoinKey({han ? "n" : "y", ValueToken(han ? "n" : "y", han ? plan.han_name_ : plan.pinyin_name_), ""});
    // A year narrows by the year token, a full date by the date token.
    if (!plan.birth_.empty()) {
      plan.prefix_ += ValueToken("by", plan.birth_.substr(0, 4));
      plan.prefix_.push_back('\0');
    }
    if (plan.birth_.size() == 10) {
      plan.prefix_ += ValueToken("bd", plan.birth_);
      plan.prefix_.push_back('\0');
    }
  } else if (!plan.village_code_.empty()) {
    plan.prefix_ = JoinKey({"v", ValueToken("v", plan.village_code_), ""});
  } else {
    plan.prefix_ = JoinKey({"w", ValueToken("w", plan.village_name_), ""});
  }
  plan.fingerprint_ = match::Token(JoinKey({"search-v1", plan.resident_id_, plan.phone_, plan.han_name_,
                                            plan.pinyin_name_, plan.birth_, plan.village_code_, plan.village_name_}));
  return plan;
}

bool SearchPlan::SourceMatches(const match::MatchRecord& r, char criterion) const {
  switch (criterion) {
    case 'i':
      return r.resident_id == resident_id_;
    case 'p':
      for (const core::PhoneNumber& n : r.phones) {
        if (n.usable() && n.digits == phone_) return true;
      }
      return false;
    case 'n':
    case 'y': {
      if (criterion == 'n' ? r.name.han != han_name_ : r.name.pinyin != pinyin_name_) return false;
      if (birth_.empty()) return true;
      const std::string b = BirthText(r.best_birth_date());
      return birth_.size() == 4 ? absl::StartsWith(b, birth_) : b == birth_;
    }
    case 'b': {
      const std::string b = BirthText(r.best_birth_date());
      return birth_.size() == 4 ? absl::StartsWith(b, birth_) : b == birth_;
    }
    case 'v':
      return r.village_key == village_code_;
    case 'w':
      return r.village_name == village_name_;
  }
  return false;
}

bool SearchPlan::Matches(const PreparedPatient& patient) const {
  std::string criteria;
  if (!resident_id_.empty()) criteria.push_back('i');
  if (!phone_.empty()) criteria.push_back('p');
  if (!han_name_.empty()) criteria.push_back('n');
  if (!pinyin_name_.empty()) criteria.push_back('y');
  // Without a name the birth date is a criterion of its own.
  if (!birth_.empty() && han_name_.empty() && pinyin_name_.empty()) criteria.push_back('b');
  if (!village_code_.empty()) criteria.push_back('v');
  if (!village_name_.empty()) criteria.push_back('w');
  for (char c : criteria) {
    bool any = false;
    for (const PreparedSource& s : patient.sources) {
      if (SourceMatches(s.record, c)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

std::string EncodePageToken(uint64_t fingerprint, absl::string_view last_key) {
  std::string raw = index::EncodeUint64(fingerprint);
  raw.append(last_key.data(), last_key.size());
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token, uint64_t fingerprint) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < 8) {
    return Invalid("page_token", "is not a token this service returned; pass next_page_token unchanged");
  }
  if (index::DecodeUint64(absl::string_view(raw).substr(0, 8)) != fingerprint) {
    return Invalid("page_token", "belongs to a different query; repeat the query's criteria unchanged when paging");
  }
  return raw.substr(8);
}

}  // namespace hisbridge::view
