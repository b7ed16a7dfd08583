#include "libs/synth/population.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/resident_id.h"
#include "libs/core/utf8.h"
#include "libs/synth/corruption.h"
#include "libs/synth/random.h"

namespace hisbridge::synth {
namespace {

// Stream purposes (the first key of Rng::Stream).
enum : uint64_t { kHouseholds = 0x1001, kClans = 0x1002, kPhones = 0x1003, kIds = 0x1004 };

// Mobile prefixes of the three operators, roughly by subscriber share.
constexpr const char* kMobilePrefixes[] = {"134", "135", "136", "137", "138", "139", "150", "151", "152", "157",
                                           "158", "159", "182", "183", "187", "188", "198", "130", "131", "132",
                                           "155", "156", "166", "176", "185", "186", "133", "153", "173", "177",
                                           "180", "181", "189", "199"};

struct Clan {
  std::string surname;
  Ethnicity ethnicity;
  double share;
  // The clan's generation characters (字辈) for men born 1900-24, 1925-49,
  // 1950-74 and 1975-99: cousins of one generation share one.
  std::string generation[4];
};

class Builder {
 public:
  Builder(const County& county, const PopulationOptions& options, const ErrorRates& rates)
      : county_(county),
        options_(options),
        rates_(rates),
        names_(NameTables::Get()),
        rng_(Rng::Stream(options.seed, kHouseholds)),
        phone_rng_(Rng::Stream(options.seed, kPhones)),
        id_rng_(Rng::Stream(options.seed, kIds)) {
    std::vector<double> sizes;
    for (const Village& v : county.villages) sizes.push_back(v.size);
    village_choice_ = WeightedChoice(sizes);
    for (size_t v = 0; v < county.villages.size(); ++v) clans_.push_back(DrawClans(static_cast<int>(v)));
  }

  Population Build() {
    pop_.reference_day = options_.end;
    while (static_cast<int64_t>(pop_.people.size()) < options_.people) AddHousehold();
    Trim();
    for (Household& h : pop_.households) AssignPhones(h);
    for (Person& p : pop_.people) AssignInsurance(p);
    return std::move(pop_);
  }

 private:
  // --- villages and clans ---

  std::vector<Clan> DrawClans(int village) {
    // Many southern villages are one or two lineages (宗族): most
    // households share a surname, so same-name neighbours are common.
    Rng rng = Rng::Stream(options_.seed, kClans, static_cast<uint64_t>(village));
    const Township& t = county_.townships[county_.villages[village].township];
    std::vector<Clan> clans;
    if (county_.villages[village].urban) return clans;
    const int n = static_cast<int>(rng.UniformInt(0, 3));
    double remaining = rng.UniformDouble() * 0.45 + 0.25;
    for (int i = 0; i < n; ++i) {
      Clan c;
      c.ethnicity = DrawEthnicity(t, rng);
      c.surname = names_.DrawSurname(c.ethnicity, rng);
      c.share = remaining * (i + 1 == n ? 1.0 : 0.6);
      remaining -= c.share;
      for (int g = 0; g < 4; ++g) c.generation[g] = names_.DrawGivenChar(true, 1912 + 25 * g, rng);
      clans.push_back(c);
    }
    return clans;
  }

  static Ethnicity DrawEthnicity(const Township& t, Rng& rng) {
    const double u = rng.UniformDouble();
    if (u < t.yao_share) return Ethnicity::kYao;
    if (u < t.yao_share + t.zhuang_share) return Ethnicity::kZhuang;
    return Ethnicity::kHan;
  }

  // --- people ---

  absl::CivilDay BirthForAge(int age) {
    absl::CivilDay d = options_.end - static_cast<int>(std::lround(age * 365.25)) - rng_.UniformInt(0, 364);
    return d;
  }

  int32_t NewPerson(int32_t household, bool male, absl::CivilDay birth, const std::string& surname,
                    Ethnicity ethnicity) {
    Person p;
    p.household = household;
    p.male = male;
    p.birth = birth;
    p.surname = surname;
    p.ethnicity = ethnicity;
    p.given = names_.DrawGivenName(male, static_cast<int>(birth.year()), rng_);
    const int year = static_cast<int>(birth.year());
    if (male && year >= 1900 && year < 2000) {
      // Men of a village lineage often carry its generation character, so
      // 蒋光华, 蒋光明 and 蒋光华 again are neighbours of the same age.
      for (const Clan& c : clans_[pop_.households[household].village]) {
        if (c.surname == surname && rng_.Bernoulli(0.35)) {
          p.given = c.generation[(year - 1900) / 25];
          for (int attempt = 0; attempt < 8; ++attempt) {
            const std::string& second = names_.DrawGivenChar(true, year, rng_);
            if (second != p.given) {
              p.given += second;
              break;
            }
          }
          break;
        }
      }
    }
    pop_.people.push_back(std::move(p));
    const int32_t index = static_cast<int32_t>(pop_.people.size() - 1);
    pop_.households[household].members.push_back(index);
    return index;
  }

  // A married-in spouse: another village's surname, sometimes another
  // county's resident id.
  int32_t NewSpouse(int32_t household, bool male, absl::CivilDay birth, Ethnicity partner_ethnicity) {
    const Township& t = county_.townships[county_.villages[pop_.households[household].village].township];
    const Ethnicity e = rng_.Bernoulli(0.75) ? partner_ethnicity : DrawEthnicity(t, rng_);
    const int32_t i = NewPerson(household, male, birth, names_.DrawSurname(e, rng_), e);
    pop_.people[i].migrant = rng_.Bernoulli(rates_[Rate::kPersonMigrant] * (male ? 0.2 : 1.0));
    if (!male) {
      ++pop_.counts.married_in_women;
      pop_.counts.migrant_women += pop_.people[i].migrant;
    }
    return i;
  }

  // Children of a couple (either parent may be -1), born so the mother is
  // 19-40; `max_age` drops children who have left home.
  void AddChildren(int32_t household, int32_t father, int32_t mother, int count, int max_age) {
    const Person& m = pop_.people[mother >= 0 ? mother : father];
    absl::CivilDay birth = m.birth + static_cast<int>(365.25 * std::clamp(rng_.Normal(23.5, 2.5), 19.0, 33.0));
    const std::string surname = pop_.people[father >= 0 ? father : mother].surname;
    const Ethnicity father_e = pop_.people[father >= 0 ? father : mother].ethnicity;
    const Ethnicity mother_e = pop_.people[mother >= 0 ? mother : father].ethnicity;
    // Families of the older cohorts often share a generation character
    // (辈分字) among brothers and among sisters.
    const bool generation_names = m.birth.year() < 1975 && rng_.Bernoulli(0.3);
    std::string generation_char[2];
    for (int k = 0; k < count; ++k) {
      if (birth > options_.end) break;
      const bool male = rng_.Bernoulli(0.53);
      const bool twins = rng_.Bernoulli(rates_[Rate::kFamilyTwins]);
      ++pop_.counts.births;
      pop_.counts.twin_births += twins;
      const int age = AgeOn(birth, options_.end);
      if (age <= max_age) {
        Ethnicity e = father_e;
        // Children of mixed marriages are usually registered as the
        // minority (preferential policies).
        if (father_e == Ethnicity::kHan && mother_e != Ethnicity::kHan && rng_.Bernoulli(0.6)) e = mother_e;
        const std::string child_surname =
            rng_.Bernoulli(0.05) && mother >= 0 ? pop_.people[mother].surname : surname;
        const int32_t c = NewPerson(household, male, birth, child_surname, e);
        Person& child = pop_.people[c];
        child.father = father;
        child.mother = mother;
        if (generation_names) {
          std::string& g = generation_char[male ? 1 : 0];
          if (g.empty()) g = names_.DrawGivenChar(male, static_cast<int>(birth.year()), rng_);
          child.given = GenerationName(g, male, static_cast<int>(birth.year()));
        }
        const int32_t parent = male ? father : mother;
        if (parent >= 0) {
          ++pop_.counts.children_with_parent;
          if (rng_.Bernoulli(rates_[Rate::kFamilySimilarName])) {
            ++pop_.counts.named_after_parent;
            child.given = NamedAfter(pop_.people[parent].given, male, static_cast<int>(birth.year()));
          }
        }
        if (twins) AddTwin(c);
      }
      birth = birth + static_cast<int>(365.25 * rng_.UniformInt(2, 5)) + rng_.UniformInt(0, 200);
    }
  }

  std::string GenerationName(const std::string& generation_char, bool male, int year) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::string& second = names_.DrawGivenChar(male, year, rng_);
      if (second != generation_char) return generation_char + second;
    }
    return generation_char;
  }

  // 王明 -> 王小明; 王建国 -> 王建军 / 王国华.
  std::string NamedAfter(const std::string& parent_given, bool male, int year) {
    const std::vector<char32_t> chars = DecodeChars(parent_given);
    if (chars.size() == 1 || rng_.Bernoulli(0.25)) {
      std::string tail;
      core::AppendUtf8(chars.back(), &tail);
      return "小" + tail;
    }
    std::string keep;
    core::AppendUtf8(chars[rng_.Uniform(2)], &keep);
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::string& other = names_.DrawGivenChar(male, year, rng_);
      if (other + keep != parent_given && keep + other != parent_given && other != keep) {
        return rng_.Bernoulli(0.7) ? keep + other : other + keep;
      }
    }
    return keep;
  }

  void AddTwin(int32_t first) {
    const Person& a = pop_.people[first];
    const bool male = rng_.Bernoulli(0.67) ? a.male : !a.male;
    const int32_t b = NewPerson(a.household, male, a.birth, a.surname, a.ethnicity);
    Person& twin = pop_.people[b];
    const Person& sibling = pop_.people[first];
    twin.father = sibling.father;
    twin.mother = sibling.mother;
    twin.twin = first;
    pop_.people[first].twin = b;
    // Near-identical names: 浩然 / 浩宇, 佳怡 / 欣怡.
    std::vector<char32_t> chars = DecodeChars(sibling.given);
    const int year = static_cast<int>(sibling.birth.year());
    for (int attempt = 0; attempt < 12; ++attempt) {
      std::vector<char32_t> mine = chars;
      const std::vector<char32_t> other = DecodeChars(names_.DrawGivenChar(male, year, rng_));
      if (mine.size() == 1) {
        mine.push_back(other[0]);
      } else {
        mine[rng_.Bernoulli(0.6) ? 1 : 0] = other[0];
      }
      if (mine != chars && !(mine.size() == 2 && mine[0] == mine[1])) {
        twin.given = EncodeChars(mine);
        break;
      }
    }
  }

  // --- households ---

  int32_t NewHousehold() {
    Household h;
    h.village = static_cast<int>(village_choice_.Draw(rng_));
    const Village& v = county_.villages[h.village];
    h.group = static_cast<int>(rng_.UniformInt(1, v.groups));
    h.house_number = static_cast<int>(rng_.UniformInt(1, 60));
    ++pop_.counts.households;
    if (rng_.Bernoulli(rates_[Rate::kPersonMoved])) {
      ++pop_.counts.moved;
      const Township& t = county_.townships[v.township];
      h.moved_village = rng_.Bernoulli(0.5) ? t.villages[rng_.Uniform(t.villages.size())]
                                            : static_cast<int>(village_choice_.Draw(rng_));
      if (h.moved_village == h.village) h.moved_village = static_cast<int>(village_choice_.Draw(rng_));
      h.moved_group = static_cast<int>(rng_.UniformInt(1, county_.villages[h.moved_village].groups));
      h.moved_house_number = static_cast<int>(rng_.UniformInt(1, 60));
      const int span = static_cast<int>(options_.end - options_.start);
      h.moved_on = options_.start + static_cast<int>(rng_.UniformInt(span / 10, span * 9 / 10));
      if (h.moved_village == h.village) h.moved_village = -1;
    }
    pop_.households.push_back(std::move(h));
    return static_cast<int32_t>(pop_.households.size() - 1);
  }

  // The head's surname and ethnicity: a village clan's, or the township's mix.
  std::pair<std::string, Ethnicity> HeadLineage(int village) {
    double u = rng_.UniformDouble();
    for (const Clan& c : clans_[village]) {
      if (u < c.share) return {c.surname, c.ethnicity};
      u -= c.share;
    }
    const Ethnicity e = DrawEthnicity(county_.townships[county_.villages[village].township], rng_);
    return {names_.DrawSurname(e, rng_), e};
  }

  int ElderlyAge() {
    // 60-95, thinning with age.
    const double x = -std::log(1.0 - rng_.UniformDouble() * 0.92) * 9.0;
    return 60 + std::min(35, static_cast<int>(x));
  }

  int32_t AddCouple(int32_t h, int husband_age, int32_t* wife) {
    const auto [surname, e] = HeadLineage(pop_.households[h].village);
    const int32_t husband = NewPerson(h, true, BirthForAge(husband_age), surname, e);
    const int wife_age = std::max(18, husband_age - static_cast<int>(std::lround(rng_.Normal(2, 2.5))));
    *wife = NewSpouse(h, false, BirthForAge(wife_age), e);
    return husband;
  }

  // The grandparents of a household (one of them widowed with probability
  // `widowed`) and the son who carries the lineage on: returns the son.
  int32_t AddGrandparentsAndSon(int32_t h, int grand_age, double widowed) {
    const auto [surname, e] = HeadLineage(pop_.households[h].village);
    int32_t grandfather = -1, grandmother = -1;
    const bool both = !rng_.Bernoulli(widowed);
    if (both || rng_.Bernoulli(0.3)) grandfather = NewPerson(h, true, BirthForAge(grand_age), surname, e);
    if (both || grandfather < 0) {
      const int age = std::max(40, grand_age - static_cast<int>(std::lround(rng_.Normal(2, 2.5))));
      grandmother = NewSpouse(h, false, BirthForAge(age), e);
    }
    const int father_age = std::max(20, grand_age - static_cast<int>(rng_.UniformInt(22, 32)));
    const int32_t father = NewPerson(h, true, BirthForAge(father_age), surname, e);
    pop_.people[father].father = grandfather;
    pop_.people[father].mother = grandmother;
    return father;
  }

  static int ChildrenFor(int mother_birth_year, Rng& rng) {
    if (mother_birth_year < 1955) return static_cast<int>(rng.UniformInt(3, 5));
    if (mother_birth_year < 1975) return static_cast<int>(rng.UniformInt(2, 3));
    return static_cast<int>(rng.UniformInt(1, 3));
  }

  void AddHousehold() {
    const int32_t h = NewHousehold();
    const double types[] = {0.20, 0.24, 0.31, 0.17, 0.08};
    switch (rng_.Pick(types)) {
      case 0: {  // elderly couple or widow(er); the children live elsewhere
        const int age = ElderlyAge();
        if (rng_.Bernoulli(0.65)) {
          int32_t wife;
          AddCouple(h, age, &wife);
        } else {
          const bool male = rng_.Bernoulli(0.35);
          const auto [surname, e] = HeadLineage(pop_.households[h].village);
          NewPerson(h, male, BirthForAge(age), male ? surname : names_.DrawSurname(e, rng_), e);
        }
        break;
      }
      case 1: {  // grandparents raising grandchildren; the parents work away
        const int32_t father = AddGrandparentsAndSon(h, static_cast<int>(rng_.UniformInt(52, 80)), 0.25);
        const int father_age = AgeOn(pop_.people[father].birth, options_.end);
        const int32_t mother =
            NewSpouse(h, false, BirthForAge(std::max(19, father_age - 2)), pop_.people[father].ethnicity);
        pop_.people[father].away = true;
        pop_.people[mother].away = true;
        AddChildren(h, father, mother, ChildrenFor(static_cast<int>(pop_.people[mother].birth.year()), rng_), 16);
        break;
      }
      case 2: {  // nuclear family
        int32_t wife;
        const int32_t husband = AddCouple(h, static_cast<int>(rng_.UniformInt(24, 58)), &wife);
        AddChildren(h, husband, wife, ChildrenFor(static_cast<int>(pop_.people[wife].birth.year()), rng_), 21);
        break;
      }
      case 3: {  // three generations under one roof
        const int32_t father = AddGrandparentsAndSon(h, static_cast<int>(rng_.UniformInt(55, 88)), 0.35);
        const int father_age = AgeOn(pop_.people[father].birth, options_.end);
        const int32_t mother =
            NewSpouse(h, false, BirthForAge(std::max(19, father_age - 2)), pop_.people[father].ethnicity);
        AddChildren(h, father, mother, ChildrenFor(static_cast<int>(pop_.people[mother].birth.year()), rng_), 21);
        break;
      }
      default: {  // a single adult
        const bool male = rng_.Bernoulli(0.65);
        const auto [surname, e] = HeadLineage(pop_.households[h].village);
        NewPerson(h, male, BirthForAge(static_cast<int>(rng_.UniformInt(18, 60))), surname, e);
        break;
      }
    }
  }

  // Exactly options_.people: the last household loses its last members.
  void Trim() {
    const int32_t n = static_cast<int32_t>(options_.people);
    if (static_cast<int32_t>(pop_.people.size()) <= n) return;
    pop_.people.resize(n);
    for (Household& h : pop_.households) {
      h.members.erase(std::remove_if(h.members.begin(), h.members.end(), [&](int32_t m) { return m >= n; }),
                      h.members.end());
    }
    while (!pop_.households.empty() && pop_.households.back().members.empty()) pop_.households.pop_back();
    for (Person& p : pop_.people) {
      if (p.mother >= n) p.mother = -1;
      if (p.father >= n) p.father = -1;
      if (p.twin >= n) p.twin = -1;
    }
  }

  // --- identifiers and phones (after the people exist) ---

  std::string NewMobile() {
    for (;;) {
      std::string number = kMobilePrefixes[phone_rng_.Uniform(std::size(kMobilePrefixes))];
      for (int i = 0; i < 8; ++i) number.push_back(static_cast<char>('0' + phone_rng_.Uniform(10)));
      if (phones_.insert(number).second) return number;
    }
  }

  std::string NewLandline() {
    for (;;) {
      std::string number = county_.area_code;
      number.push_back(phone_rng_.Bernoulli(0.5) ? '6' : '8');
      for (int i = 0; i < 6; ++i) number.push_back(static_cast<char>('0' + phone_rng_.Uniform(10)));
      if (phones_.insert(number).second) return number;
    }
  }

  std::string IssuingCounty(const Person& p) {
    if (!p.migrant) return county_.code;
    const double u = id_rng_.UniformDouble();
    const std::vector<std::string>& pool = u < 0.55   ? county_.same_prefecture_counties
                                           : u < 0.85 ? county_.same_province_counties
                                                      : county_.other_province_counties;
    if (pool.empty()) return county_.code;
    return pool[id_rng_.Uniform(pool.size())];
  }

  void AssignId(int32_t index) {
    Person& p = pop_.people[index];
    const int age = AgeOn(p.birth, options_.end);
    const double has_id = age < 1 ? 0.35 : age < 6 ? 0.75 : age < 16 ? 0.9 : 0.99;
    p.id_issued = p.birth;
    if (p.twin >= 0 && p.twin < index) {
      // Twins are registered together: consecutive sequence numbers.
      const Person& t = pop_.people[p.twin];
      p.id_issued = t.id_issued;
      if (!t.resident_id.empty()) {
        const int seq = std::stoi(t.resident_id.substr(14, 3));
        for (int step = 1; step < 40 && p.resident_id.empty(); ++step) {
          const int s = (seq + step) % 1000;
          if ((s % 2 == 1) != p.male) continue;
          MakeUniqueId(&p, t.resident_id.substr(0, 6), s);
        }
      }
      return;
    }
    if (!id_rng_.Bernoulli(has_id)) return;
    if (p.birth >= options_.start - 400) p.id_issued = p.birth + id_rng_.UniformInt(20, 400);
    const std::string region = IssuingCounty(p);
    for (int attempt = 0; attempt < 100 && p.resident_id.empty(); ++attempt) {
      int s = static_cast<int>(id_rng_.Uniform(1000));
      if ((s % 2 == 1) != p.male) s = (s + 1) % 1000;
      MakeUniqueId(&p, region, s);
    }
  }

  void MakeUniqueId(Person* p, const std::string& region, int sequence) {
    auto id = core::MakeResidentId(region, p->birth, sequence);
    if (id.ok() && ids_.insert(*id).second) p->resident_id = *std::move(id);
  }

  void AssignPhones(Household& h) {
    if (phone_rng_.Bernoulli(0.08)) h.landline = NewLandline();
    for (int32_t m : h.members) {
      AssignId(m);
      Person& p = pop_.people[m];
      const int age = AgeOn(p.birth, options_.end);
      const double own = age < 12 ? 0 : age < 18 ? 0.35 : age < 60 ? 0.95 : age < 70 ? 0.7 : age < 80 ? 0.45 : 0.2;
      if (phone_rng_.Bernoulli(own)) {
        p.phone = NewMobile();
        ++pop_.counts.phone_owners;
        if (phone_rng_.Bernoulli(rates_[Rate::kPersonPhoneChange])) {
          ++pop_.counts.phone_changes;
          p.new_phone = NewMobile();
          p.phone_changed =
              options_.start + static_cast<int>(phone_rng_.Uniform(static_cast<uint64_t>(options_.end - options_.start)));
        }
      }
    }
    // An adult child in the city answers for parents without a phone.
    std::string child_in_city;
    for (int32_t m : h.members) {
      Person& p = pop_.people[m];
      const int age = AgeOn(p.birth, options_.end);
      std::vector<std::string> relatives;
      auto add = [&](int32_t r) {
        if (r >= 0 && r != m && !pop_.people[r].phone.empty()) relatives.push_back(pop_.people[r].phone);
      };
      if (age < 18) {
        add(p.mother);
        add(p.father);
      }
      for (int32_t r : h.members) add(r);
      if (age >= 55) {
        if (child_in_city.empty() && phone_rng_.Bernoulli(0.6)) child_in_city = NewMobile();
        if (!child_in_city.empty()) relatives.push_back(child_in_city);
      }
      if (!relatives.empty()) p.relative_phone = relatives[0];
      if (!p.phone.empty()) {
        for (const std::string& r : relatives) {
          if (r != p.phone) {
            p.relative_phone = r;
            break;
          }
        }
        if (p.relative_phone == p.phone) p.relative_phone.clear();
        continue;
      }
      if (!relatives.empty() && phone_rng_.Bernoulli(age < 18 ? 0.9 : 0.75)) {
        p.contact_phone = relatives[age >= 55 && relatives.size() > 1 && phone_rng_.Bernoulli(0.5) ? relatives.size() - 1 : 0];
      } else if (!h.landline.empty()) {
        p.contact_phone = h.landline;
      }
    }
  }

  void AssignInsurance(Person& p) {
    // Rural residents' medical insurance (城乡居民医保) numbers are mostly the
    // resident id itself; older cards have their own number.
    if (!p.resident_id.empty() && id_rng_.Bernoulli(0.6)) {
      p.insurance_id = p.resident_id;
    } else if (id_rng_.Bernoulli(p.resident_id.empty() ? 0.3 : 0.9)) {
      p.insurance_id = absl::StrFormat("%s%08d", county_.code.substr(0, 4), id_rng_.Uniform(100000000));
    }
  }

  const County& county_;
  const PopulationOptions& options_;
  const ErrorRates& rates_;
  const NameTables& names_;
  Rng rng_;
  Rng phone_rng_;
  Rng id_rng_;
  WeightedChoice village_choice_;
  std::vector<std::vector<Clan>> clans_;
  absl::flat_hash_set<std::string> ids_;
  absl::flat_hash_set<std::string> phones_;
  Population pop_;
};

}  // namespace

int AgeOn(absl::CivilDay birth, absl::CivilDay day) {
  int age = static_cast<int>(day.year() - birth.year());
  if (day.month() < birth.month() || (day.month() == birth.month() && day.day() < birth.day())) --age;
  return age;
}

Residence ResidenceOn(const Household& h, absl::CivilDay day) {
  if (h.moved_village >= 0 && day >= h.moved_on) return {h.moved_village, h.moved_group, h.moved_house_number, true};
  return {h.village, h.group, h.house_number, false};
}

Population BuildPopulation(const County& county, const PopulationOptions& options, const ErrorRates& rates) {
  Builder builder(county, options, rates);
  return builder.Build();
}

}  // namespace hisbridge::synth
