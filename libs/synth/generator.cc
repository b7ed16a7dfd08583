#include "libs/synth/generator.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "libs/base/file_util.h"
#include "libs/base/status_macros.h"
#include "libs/core/resident_id.h"
#include "libs/core/utf8.h"
#include "libs/synth/clinical.h"
#include "libs/synth/corruption.h"
#include "libs/synth/json_line.h"
#include "libs/synth/random.h"

namespace hisbridge::synth {
namespace {

// Stream purposes (first key of Rng::Stream), one per independent decision.
enum : uint64_t {
  kPlanPerson = 0x2001,
  kPlanEmergency = 0x2002,
  kPlanDuplicate = 0x2003,
  kPlanDelete = 0x2004,
  kPlanReferral = 0x2005,
  kRender = 0x2006,
  kHealth = 0x2007,
  kDelivery = 0x2008,
};

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;
// Registrations are sequenced and rendered in blocks of this many, so the
// output does not depend on the number of threads.
constexpr size_t kBlock = 2048;

constexpr absl::string_view kTagNames[] = {
    "id.missing",       "id.one_digit",       "id.transposition",     "id.legacy15",         "id.format",
    "id.relative",      "name.homophone",     "name.similar_char",    "name.near_homophone", "name.traditional",
    "name.pinyin",      "name.space",         "name.fullwidth",       "dob.lunar_shift",     "dob.jan_first",
    "dob.day_month_swap", "dob.year_off",     "dob.year_only",
    "dob.missing",      "phone.missing",      "phone.one_digit",      "phone.relative",      "phone.stale",
    "address.village_only", "address.missing", "address.stale",       "sex.unknown",         "sex.wrong",
    "id.valid",         "id.none",            "twin",                 "placeholder.newborn", "placeholder.unknown",
    "duplicate",        "migrant",
};
static_assert(sizeof(kTagNames) / sizeof(kTagNames[0]) == static_cast<size_t>(Tag::kCount), "one name per tag");

// --- time: seconds since 1970-01-01T00:00:00 in China Standard Time ---

const absl::CivilSecond kEpoch(1970, 1, 1, 0, 0, 0);

int64_t SecondsOf(absl::CivilDay day) { return (absl::CivilSecond(day) - kEpoch); }
absl::CivilDay DayOf(int64_t seconds) { return absl::CivilDay(kEpoch + seconds); }

// "2025-03-01T08:30:00+08:00". Written by hand: two million timestamps
// through a format string cost more than everything else on the line.
std::string FormatTime(int64_t seconds) {
  // Days to civil date (H. Hinnant's algorithm, proleptic Gregorian).
  int64_t days = seconds >= 0 ? seconds / kDay : -((-seconds + kDay - 1) / kDay);
  int64_t rest = seconds - days * kDay;
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2);
  char buf[26] = "0000-00-00T00:00:00+08:00";
  auto put = [&](int at, int64_t value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) buf[at + i] = static_cast<char>('0' + value % 10);
  };
  put(0, year, 4);
  put(5, month, 2);
  put(8, day, 2);
  put(11, rest / kHour, 2);
  rest %= kHour;
  put(14, rest / kMinute, 2);
  put(17, rest % kMinute, 2);
  return std::string(buf, 25);
}

// A moment in a day's clinic hours (08:00-11:30, 14:30-17:30).
int64_t ClinicTime(absl::CivilDay day, Rng& rng) {
  const int64_t minute = rng.Bernoulli(0.6) ? rng.UniformInt(8 * 60, 11 * 60 + 30) : rng.UniformInt(14 * 60 + 30, 17 * 60 + 30);
  return SecondsOf(day) + minute * kMinute + rng.UniformInt(0, 59);
}

// --- planning ---

enum class RegKind : uint8_t { kVisit, kInpatient, kBirth, kDuplicate, kEmergencyIdentified, kEmergencyUnknown };

struct Referral {
  int64_t time;
  bool out;
  int32_t other_facility;
};

struct PlannedMerge {
  int32_t merged;  // registration index
  int64_t time;
};

struct Registration {
  int32_t person = 0;
  int32_t facility = 0;
  uint8_t scheme = 0;
  RegKind kind = RegKind::kVisit;
  int64_t time = 0;   // the first version
  int64_t limit = 0;  // nothing of this record after this moment
  Fate fate = Fate::kLive;
  int32_t survivor = -1;
  std::vector<Referral> referrals;
  std::vector<PlannedMerge> merges;
  std::string record_id;
  bool in_merge = false;  // survivor or merged: its patient lines are never delivered late
};

struct Plan {
  std::vector<Registration> regs;
};

class Planner {
 public:
  Planner(const GenOptions& options, const County& county, Population* population)
      : o_(options), county_(county), pop_(*population) {
    start_ = SecondsOf(o_.start);
    end_ = SecondsOf(o_.end) + kDay - 1;
  }

  Plan Build(GenStats* stats) {
    const int32_t residents = static_cast<int32_t>(pop_.people.size());
    for (int32_t p = 0; p < residents; ++p) PlanPerson(p);
    PlanEmergencies(residents, stats);
    PlanDuplicates(stats);
    PlanDeletes(stats);
    PlanReferrals();
    AssignRecordIds();
    return std::move(plan_);
  }

 private:
  int32_t Add(Registration r) {
    r.limit = end_;
    plan_.regs.push_back(std::move(r));
    return static_cast<int32_t>(plan_.regs.size() - 1);
  }

  // The facility a person living at `res` goes to, by distance and age.
  int32_t DrawFacility(const Residence& res, int age, bool away, Rng& rng) {
    const Village& v = county_.villages[res.village];
    const Township& t = county_.townships[v.township];
    int32_t candidates[6];
    double weights[6];
    int n = 0;
    auto add = [&](int32_t f, double w) {
      candidates[n] = f;
      weights[n++] = w;
    };
    add(v.clinic, away ? 0.5 : age < 6 ? 3.0 : 5.0);
    add(t.health_centre, 3.5);
    add(county_.county_hospital, away ? 3.0 : age >= 60 ? 2.6 : 1.8);
    add(county_.tcm_hospital, age >= 50 ? 1.0 : 0.7);
    if (t.villages.size() > 1) {
      int other = t.villages[rng.Uniform(t.villages.size())];
      if (other != res.village) add(county_.villages[other].clinic, 0.5);
    }
    const int ti = v.township;
    const int neighbour = ti + (rng.Bernoulli(0.5) ? 1 : -1);
    if (neighbour >= 0 && neighbour < static_cast<int>(county_.townships.size())) {
      add(county_.townships[neighbour].health_centre, 0.4);
    }
    return candidates[rng.Pick(absl::Span<const double>(weights, n))];
  }

  void PlanPerson(int32_t p) {
    const Person& person = pop_.people[p];
    const Household& h = pop_.households[person.household];
    Rng rng = Rng::Stream(o_.seed, kPlanPerson, static_cast<uint64_t>(p));
    const int age = AgeOn(person.birth, o_.end);
    int64_t earliest = std::max(start_, SecondsOf(person.birth));
    const int64_t latest = end_ - kDay;
    if (earliest > latest) earliest = latest;
    int k;
    if (person.away) {
      k = rng.Bernoulli(0.75) ? 1 : 2;
    } else {
      const double w[] = {34, 30, 18, 10, 5, 3};
      k = 1 + static_cast<int>(rng.Pick(w));
      if ((age >= 60 || age < 3) && rng.Bernoulli(0.3)) k = std::min(6, k + 1);
    }
    std::vector<int32_t> chosen;
    if (person.birth >= o_.start) {
      // Born in the window: the birth is registered where it happened.
      Registration r;
      r.person = p;
      r.kind = RegKind::kBirth;
      const Residence res = ResidenceOn(h, person.birth);
      r.facility = rng.Bernoulli(0.75) ? county_.county_hospital
                                       : county_.townships[county_.villages[res.village].township].health_centre;
      r.time = std::min(latest, SecondsOf(person.birth) + rng.UniformInt(1 * kHour, 20 * kHour));
      chosen.push_back(r.facility);
      Add(std::move(r));
    }
    for (int attempt = 0; attempt < 40 && static_cast<int>(chosen.size()) < k; ++attempt) {
      Registration r;
      r.person = p;
      const absl::CivilDay day = DayOf(earliest + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(latest - earliest + 1))));
      r.time = std::max(earliest, std::min(latest, ClinicTime(day, rng)));
      r.facility = DrawFacility(ResidenceOn(h, day), AgeOn(person.birth, day), person.away, rng);
      if (std::find(chosen.begin(), chosen.end(), r.facility) != chosen.end()) continue;
      chosen.push_back(r.facility);
      const int32_t index = Add(std::move(r));
      const Registration& added = plan_.regs[index];
      if (added.facility == county_.county_hospital) {
        // An admission gets an inpatient number (住院号): a second record
        // of the same person at the same hospital.
        const double admit = age < 15 ? 0.05 : age < 60 ? 0.08 : 0.2;
        if (rng.Bernoulli(admit)) {
          Registration in;
          in.person = p;
          in.facility = added.facility;
          in.scheme = 1;
          in.kind = RegKind::kInpatient;
          in.time = std::min(latest, added.time + rng.UniformInt(10 * kMinute, 200 * kDay));
          Add(std::move(in));
        }
      }
    }
  }

  void PlanEmergencies(int32_t residents, GenStats* stats) {
    const int64_t count =
        static_cast<int64_t>(std::llround(o_.rates[Rate::kEmergencyUnknown] * static_cast<double>(o_.people)));
    (*stats)[Rate::kEmergencyUnknown].eligible = o_.people;
    (*stats)[Rate::kEmergencyUnknown].applied = count;
    for (int64_t j = 0; j < count; ++j) {
      Rng rng = Rng::Stream(o_.seed, kPlanEmergency, static_cast<uint64_t>(j));
      Registration r;
      r.facility = rng.Bernoulli(0.8) ? county_.county_hospital : county_.tcm_hospital;
      const int64_t t = start_ + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(end_ - 2 * kDay - start_)));
      r.time = t;
      int32_t person = -1;
      ++(*stats)[Rate::kEmergencyIdentified].eligible;
      if (residents > 0 && rng.Bernoulli(o_.rates[Rate::kEmergencyIdentified])) {
        for (int attempt = 0; attempt < 50; ++attempt) {
          const int32_t candidate = static_cast<int32_t>(rng.Uniform(static_cast<uint64_t>(residents)));
          const int a = AgeOn(pop_.people[candidate].birth, DayOf(t));
          if (a >= 16 && a <= 90) {
            person = candidate;
            break;
          }
        }
      }
      if (person >= 0) {
        ++(*stats)[Rate::kEmergencyIdentified].applied;
        r.kind = RegKind::kEmergencyIdentified;
      } else {
        Person s;
        s.stranger = true;
        s.male = rng.Bernoulli(0.65);
        s.birth = o_.end - static_cast<int>(rng.UniformInt(20, 80) * 365.25) - rng.UniformInt(0, 364);
        s.id_issued = s.birth;
        pop_.people.push_back(std::move(s));
        person = static_cast<int32_t>(pop_.people.size() - 1);
        r.kind = RegKind::kEmergencyUnknown;
      }
      r.person = person;
      Add(std::move(r));
    }
  }

  void PlanDuplicates(GenStats* stats) {
    const size_t n = plan_.regs.size();
    const double rate = o_.rates[Rate::kRecordDuplicate];
    for (size_t i = 0; i < n; ++i) {
      const Registration& orig = plan_.regs[i];
      if (orig.kind == RegKind::kEmergencyUnknown) continue;
      Rng rng = Rng::Stream(o_.seed, kPlanDuplicate, i);
      const int64_t room = end_ - kDay - orig.time;
      if (room < 2 * kDay) continue;
      const bool primary = orig.kind == RegKind::kVisit;
      if (primary) ++(*stats)[Rate::kRecordDuplicate].eligible;
      if (!rng.Bernoulli(rate)) continue;
      if (primary) ++(*stats)[Rate::kRecordDuplicate].applied;
      Registration dup;
      dup.person = orig.person;
      dup.facility = orig.facility;
      dup.scheme = orig.scheme;
      dup.kind = RegKind::kDuplicate;
      dup.time = orig.time + rng.UniformInt(kDay, std::min<int64_t>(400 * kDay, room));
      const int32_t original = static_cast<int32_t>(i);
      const int32_t d = Add(std::move(dup));
      Registration& r = plan_.regs[d];
      const double u = rng.UniformDouble();
      // Facilities clean up duplicates in office hours, days to months later.
      const int64_t fate_time = ClinicTime(DayOf(r.time) + static_cast<int>(rng.UniformInt(3, 180)), rng);
      // A duplicate registered too late for its facility to notice stays.
      if (fate_time >= end_ - kHour) continue;
      ++(*stats)[Rate::kDuplicateMerged].eligible;
      ++(*stats)[Rate::kDuplicateDeleted].eligible;
      if (u < o_.rates[Rate::kDuplicateMerged]) {
        ++(*stats)[Rate::kDuplicateMerged].applied;
        r.fate = Fate::kMerged;
        r.limit = fate_time;
        r.survivor = original;
        r.in_merge = true;
        plan_.regs[original].in_merge = true;
        plan_.regs[original].merges.push_back({d, fate_time});
      } else if (u < o_.rates[Rate::kDuplicateMerged] + o_.rates[Rate::kDuplicateDeleted]) {
        ++(*stats)[Rate::kDuplicateDeleted].applied;
        r.fate = Fate::kDeleted;
        r.limit = fate_time;
      }
    }
  }

  void PlanDeletes(GenStats* stats) {
    for (size_t i = 0; i < plan_.regs.size(); ++i) {
      Registration& r = plan_.regs[i];
      if (r.kind == RegKind::kDuplicate || r.in_merge || r.fate != Fate::kLive) continue;
      Rng rng = Rng::Stream(o_.seed, kPlanDelete, i);
      ++(*stats)[Rate::kRecordDeleted].eligible;
      if (!rng.Bernoulli(o_.rates[Rate::kRecordDeleted])) continue;
      const int64_t t = ClinicTime(DayOf(r.time) + static_cast<int>(rng.UniformInt(1, 90)), rng);
      if (t >= end_ - kHour) continue;
      ++(*stats)[Rate::kRecordDeleted].applied;
      r.fate = Fate::kDeleted;
      r.limit = t;
    }
  }

  static int TierRank(FacilityTier t) {
    switch (t) {
      case FacilityTier::kVillageClinic: return 0;
      case FacilityTier::kTownshipHealthCentre: return 1;
      default: return 2;
    }
  }

  // Village -> township -> county referrals between a person's own records.
  void PlanReferrals() {
    std::vector<int32_t> by_person;
    size_t i = 0;
    const size_t n = plan_.regs.size();
    while (i < n) {
      size_t j = i;
      while (j < n && plan_.regs[j].person == plan_.regs[i].person && plan_.regs[j].kind != RegKind::kDuplicate) ++j;
      if (j == i) {
        ++i;
        continue;
      }
      Rng rng = Rng::Stream(o_.seed, kPlanReferral, i);
      if (rng.Bernoulli(0.25)) {
        for (size_t a = i; a < j; ++a) {
          bool done = false;
          for (size_t b = i; b < j && !done; ++b) {
            Registration& from = plan_.regs[a];
            Registration& to = plan_.regs[b];
            if (TierRank(county_.facilities[from.facility].tier) + 1 != TierRank(county_.facilities[to.facility].tier))
              continue;
            if (to.kind != RegKind::kVisit || to.time < from.time + 2 * kHour) continue;
            // Referred in office hours, the same day or up to two days before.
            int64_t out_time = ClinicTime(DayOf(to.time) - static_cast<int>(rng.UniformInt(0, 2)), rng);
            if (out_time >= to.time) out_time = to.time - rng.UniformInt(30 * kMinute, 2 * kHour);
            out_time = std::max(out_time, from.time + kHour);
            if (out_time >= from.limit || out_time >= to.time) continue;
            from.referrals.push_back({out_time, true, to.facility});
            to.referrals.push_back({to.time, false, from.facility});
            done = true;
          }
          if (done) break;
        }
      }
      i = j;
    }
  }

  void AssignRecordIds() {
    // Per facility and numbering scheme, in registration order: ids say
    // when a person registered, never who they are.
    std::vector<std::vector<int32_t>> queues(county_.facilities.size() * 2);
    for (size_t i = 0; i < plan_.regs.size(); ++i) {
      queues[plan_.regs[i].facility * 2 + plan_.regs[i].scheme].push_back(static_cast<int32_t>(i));
    }
    for (size_t q = 0; q < queues.size(); ++q) {
      std::vector<int32_t>& queue = queues[q];
      std::sort(queue.begin(), queue.end(), [&](int32_t a, int32_t b) {
        if (plan_.regs[a].time != plan_.regs[b].time) return plan_.regs[a].time < plan_.regs[b].time;
        return a < b;
      });
      const Facility& f = county_.facilities[q / 2];
      const RecordIdScheme& scheme = f.traits.schemes[std::min<size_t>(q % 2, f.traits.schemes.size() - 1)];
      int64_t number = scheme.first_number;
      for (int32_t r : queue) {
        plan_.regs[r].record_id = absl::StrFormat("%s%0*d", scheme.prefix, scheme.digits, number++);
      }
    }
  }

  const GenOptions& o_;
  const County& county_;
  Population& pop_;
  int64_t start_ = 0;
  int64_t end_ = 0;
  Plan plan_;
};

// --- rendering one source record ---

// How this record writes its address; drawn once so re-sends agree.
struct AddressForm {
  AddressStyle style = AddressStyle::kTownship;
  int group_style = 0;  // 0 "5组", 1 "五组", 2 "第5组", 3 "5队"
  bool committee = false;  // "遇龙村委会" instead of "遇龙村"
  bool house_number = false;
  bool village_alone = false;  // for village_only: without the group
};

// One version of the record in model terms.
struct Draft {
  std::string name;
  bool placeholder_newborn = false;
  bool placeholder_unknown = false;
  std::string id;  // as written; empty: none
  bool id_true = false;  // the person's id, uncorrupted (possibly 15-digit or noisy)
  std::string birth_date;
  std::string sex;
  std::string phone;  // digits; empty: none
  bool phone_old = false;
  int village = -1;  // -1: no address
  int group = 0;
  int house = 0;
  bool village_only = false;
  std::string ethnicity;
  std::string insurance;
  TagSet errors = 0;
};

constexpr const char* kChineseNumbers[] = {"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"};

std::string ChineseNumber(int n) {
  if (n <= 10) return kChineseNumbers[n];
  if (n < 20) return absl::StrCat("十", kChineseNumbers[n - 10]);
  if (n % 10 == 0) return absl::StrCat(kChineseNumbers[n / 10], "十");
  return absl::StrCat(kChineseNumbers[n / 10], "十", kChineseNumbers[n % 10]);
}

class Renderer {
 public:
  Renderer(const GenOptions& o, const County& county, const Population& pop, const Plan& plan)
      : o_(o), county_(county), pop_(pop), plan_(plan) {}

  struct Output {
    std::string text;
    std::vector<std::pair<int64_t, uint32_t>> line_starts;  // (arrival, offset)
    std::vector<SourceRecord> records;
    GenStats stats;
  };

  void Render(int32_t index, Output* out) {
    const Registration& reg = plan_.regs[index];
    const Person& person = pop_.people[reg.person];
    const Facility& facility = county_.facilities[reg.facility];
    Rng rng = Rng::Stream(o_.seed, kRender, static_cast<uint64_t>(index));
    Ctx c{index, reg, person, facility, rng, out, reg.kind == RegKind::kVisit, AddressForm(), false, false, 0};
    c.form = DrawAddressForm(facility, rng);
    c.show_ethnicity = facility.traits.writes_ethnicity && rng.Bernoulli(0.85);
    c.show_insurance = facility.traits.writes_insurance_id && rng.Bernoulli(0.7);

    // The first version.
    Draft d = FirstDraft(c);
    SourceRecord record;
    record.facility = reg.facility;
    record.person = reg.person;
    record.record_id = reg.record_id;
    record.fate = reg.fate;
    record.first_tags = Tags(c, d);

    struct Change {
      int64_t time;
      int kind;  // 0 same, 1 correction, 2 moved, 3 phone, 4 renamed, 5 identified, 6 merge
      size_t merge = 0;
    };
    std::vector<Change> changes;
    const int64_t t0 = reg.time;
    auto room = [&](int64_t lo, int64_t hi) { return lo < hi && hi - lo > kHour; };
    auto within = [&](int64_t lo, int64_t span) {
      const int64_t hi = std::min(reg.limit - kMinute, lo + span);
      return lo + static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(std::max<int64_t>(1, hi - lo))));
    };
    const bool placeholder = d.placeholder_newborn || d.placeholder_unknown;
    if (reg.kind == RegKind::kEmergencyIdentified) {
      changes.push_back({within(t0 + 2 * kHour, 3 * kDay), 5});
    } else if (d.placeholder_newborn && reg.kind == RegKind::kBirth) {
      if (DrawRate(c, Rate::kNewbornRenamed) && room(t0 + kDay, reg.limit)) {
        changes.push_back({within(t0 + kDay, 60 * kDay), 4});
      }
    }
    if (!placeholder && d.errors != 0 && room(t0 + kDay, reg.limit)) {
      if (DrawRate(c, Rate::kResendCorrection)) changes.push_back({within(t0 + kDay, 200 * kDay), 1});
    }
    if (room(t0 + kDay, reg.limit) && DrawRate(c, Rate::kResendSame)) {
      changes.push_back({within(t0 + kDay, 300 * kDay), 0});
    }
    if (person.household >= 0) {
      const Household& h = pop_.households[person.household];
      const int64_t moved = h.moved_village >= 0 ? SecondsOf(h.moved_on) : 0;
      if (moved > t0 && room(moved, reg.limit) && DrawRate(c, Rate::kResendAfterChange)) {
        changes.push_back({within(moved, 60 * kDay), 2});
      }
      const int64_t changed = person.new_phone.empty() ? 0 : SecondsOf(person.phone_changed);
      if (changed > t0 && room(changed, reg.limit) && DrawRate(c, Rate::kResendAfterChange)) {
        changes.push_back({within(changed, 60 * kDay), 3});
      }
    }
    for (size_t m = 0; m < reg.merges.size(); ++m) changes.push_back({reg.merges[m].time, 6, m});
    std::sort(changes.begin(), changes.end(),
              [](const Change& a, const Change& b) { return a.time != b.time ? a.time < b.time : a.kind < b.kind; });

    EmitPatient(c, d, t0, &record);
    for (const Change& ch : changes) {
      if (ch.time >= reg.limit && ch.kind != 6) continue;
      switch (ch.kind) {
        case 0: break;
        case 1: Correct(c, &d); break;
        case 2: Moved(c, ch.time, &d); break;
        case 3: NewPhone(c, ch.time, &d); break;
        case 4: Renamed(c, ch.time, &d); break;
        case 5: d = Identified(c, ch.time); break;
        case 6: {
          const Registration& merged = plan_.regs[reg.merges[ch.merge].merged];
          JsonLine j(Begin(c, ch.time, /*may_be_late=*/false));
          j.Str("kind", "patient").Str("op", "merge").Str("facility_id", facility.id).Str("record_id", reg.record_id);
          j.Str("merged_record_id", merged.record_id).Str("event_time", FormatTime(ch.time));
          // HL7 A40 style: half the systems send the survivor's PID with
          // the merge; that is then the survivor's newest version.
          if (rng.Bernoulli(0.5)) {
            const RecordFields f = Fields(c, d);
            AppendFields(f, &j);
            ++record.versions;
          }
          j.End();
          ++out->stats.merge_lines;
          continue;
        }
      }
      EmitPatient(c, d, ch.time, &record);
    }
    if (reg.fate == Fate::kDeleted) {
      JsonLine(Begin(c, reg.limit, false))
          .Str("kind", "patient")
          .Str("op", "delete")
          .Str("facility_id", facility.id)
          .Str("record_id", reg.record_id)
          .Str("event_time", FormatTime(reg.limit))
          .End();
      ++out->stats.delete_lines;
    }
    EmitEvents(c);
    record.tags = Tags(c, d);
    if (o_.keep_final_fields) record.final_fields = std::make_shared<const RecordFields>(Fields(c, d));
    out->records.push_back(std::move(record));
  }

 private:
  struct Ctx {
    int32_t index;  // of the registration
    const Registration& reg;
    const Person& person;
    const Facility& facility;
    Rng& rng;
    Output* out;
    bool primary;  // counts towards the error-rate statistics
    AddressForm form;
    bool show_ethnicity = false;
    bool show_insurance = false;
    uint64_t lines = 0;
  };

  // --- first version ---

  AddressForm DrawAddressForm(const Facility& f, Rng& rng) const {
    AddressForm form;
    if (rng.Bernoulli(0.6)) {
      form.style = f.traits.address_style;
    } else {
      const double w[] = {0.3, 0.15, 0.4, 0.15};
      form.style = static_cast<AddressStyle>(rng.Pick(w));
    }
    const double g[] = {0.72, 0.15, 0.06, 0.07};
    form.group_style = static_cast<int>(rng.Pick(g));
    form.committee = rng.Bernoulli(0.1);
    form.house_number = rng.Bernoulli(0.25);
    form.village_alone = rng.Bernoulli(0.3);
    return form;
  }

  double RateOf(const Ctx& c, Rate r) const {
    double v = o_.rates[r];
    if (c.reg.kind == RegKind::kDuplicate && ErrorRates::Info(r).kind == RateKind::kError) {
      v = std::min(1.0, v * o_.rates[Rate::kDuplicateErrorFactor]);
    }
    return v;
  }

  // A categorical draw among mutually exclusive errors of one field: each
  // eligible error e is chosen with probability rate(e), so its rate among
  // the records it could apply to is exactly rate(e).
  int DrawOne(Ctx& c, std::initializer_list<std::pair<Rate, bool>> options) {
    const double u = c.rng.UniformDouble();
    double acc = 0;
    int chosen = -1;
    int i = 0;
    for (const auto& [rate, eligible] : options) {
      if (eligible) {
        if (c.primary) ++c.out->stats[rate].eligible;
        const double p = RateOf(c, rate);
        if (chosen < 0 && u >= acc && u < acc + p) {
          chosen = i;
          if (c.primary) ++c.out->stats[rate].applied;
        }
        acc += p;
      }
      ++i;
    }
    return chosen;
  }

  // One rate; error rates count only on primary registrations, structure
  // rates on every record they are drawn for.
  bool DrawRate(Ctx& c, Rate rate) {
    const bool counted = c.primary || ErrorRates::Info(rate).kind != RateKind::kError;
    if (counted) ++c.out->stats[rate].eligible;
    const bool hit = c.rng.Bernoulli(RateOf(c, rate));
    if (hit && counted) ++c.out->stats[rate].applied;
    return hit;
  }

  std::string TrueId(const Person& p, int64_t t) const {
    if (p.resident_id.empty() || DayOf(t) < p.id_issued) return "";
    return p.resident_id;
  }

  std::string OwnPhone(const Person& p, int64_t t) const {
    if (p.phone.empty()) return "";
    if (!p.new_phone.empty() && DayOf(t) >= p.phone_changed) return p.new_phone;
    return p.phone;
  }

  std::string PlaceholderNewbornName(Ctx& c) {
    const Person& p = c.person;
    const std::string mother = p.mother >= 0 ? pop_.people[p.mother].name() : "";
    const char* child = p.male ? "之子" : "之女";
    std::string name;
    const double u = c.rng.UniformDouble();
    if (!mother.empty() && u < 0.55) {
      name = absl::StrCat(mother, child);
    } else if (u < 0.85) {
      name = absl::StrCat(p.surname, child);
    } else {
      name = p.male ? (c.rng.Bernoulli(0.5) ? "男婴" : "新生儿") : (c.rng.Bernoulli(0.5) ? "女婴" : "新生儿");
      if (!mother.empty() && c.rng.Bernoulli(0.5)) name = absl::StrCat(mother, p.male ? "之男婴" : "之女婴");
    }
    if (p.twin >= 0) name += c.reg.person < p.twin ? "(大)" : "(小)";
    return name;
  }

  std::string NicknameName(Ctx& c) {
    static constexpr const char* kNicknames[] = {"小宝", "宝宝", "宝贝", "大宝", "二宝"};
    const char* nick = kNicknames[c.rng.Uniform(5)];
    return c.rng.Bernoulli(0.2) ? std::string(nick) : absl::StrCat(c.person.surname, nick);
  }

  void DrawName(Ctx& c, Draft* d) {
    const Person& p = c.person;
    d->name = p.name();
    const std::string& given = p.given;
    const int which = DrawOne(c, {{Rate::kNameHomophone, HasHomophoneCandidate(given)},
                                  {Rate::kNameSimilarChar, HasSimilarCandidate(given)},
                                  {Rate::kNameTraditional, HasTraditionalCandidate(d->name)},
                                  {Rate::kNamePinyin, true},
                                  {Rate::kNameNearHomophone, HasNearHomophoneCandidate(given)}});
    std::string written;
    switch (which) {
      case 0:
        if (NameHomophone(p.surname, given, c.rng, &written)) d->name = written, d->errors |= TagBit(Tag::kNameHomophone);
        break;
      case 1:
        if (NameSimilarChar(p.surname, given, c.rng, &written)) d->name = written, d->errors |= TagBit(Tag::kNameSimilarChar);
        break;
      case 2:
        if (NameTraditional(p.surname, given, c.rng, &written)) d->name = written, d->errors |= TagBit(Tag::kNameTraditional);
        break;
      case 3:
        if (NamePinyin(p.surname, given, c.rng, &written)) d->name = written, d->errors |= TagBit(Tag::kNamePinyin);
        break;
      case 4:
        if (NameNearHomophone(p.surname, given, c.rng, &written)) {
          d->name = written, d->errors |= TagBit(Tag::kNameNearHomophone);
        }
        break;
      default: break;
    }
    if (which == 3) return;
    const int noise = DrawOne(c, {{Rate::kNameSpace, true}, {Rate::kNameFullwidth, true}});
    if (noise == 0) d->name = NameSpaceNoise(d->name, c.rng), d->errors |= TagBit(Tag::kNameSpace);
    if (noise == 1) d->name = NameFullwidthNoise(d->name, c.rng), d->errors |= TagBit(Tag::kNameFullwidth);
  }

  // The id of the relative whose card a child (or a very old person)
  // comes with: a parent's, or a grown child's in the household.
  std::string RelativeId(const Person& p, int64_t t) const {
    const int age = AgeOn(p.birth, DayOf(t));
    if (age < 14) {
      for (int32_t parent : {p.mother, p.father}) {
        if (parent >= 0 && !TrueId(pop_.people[parent], t).empty()) return TrueId(pop_.people[parent], t);
      }
    } else if (age >= 75 && p.household >= 0) {
      for (int32_t m : pop_.households[p.household].members) {
        const Person& r = pop_.people[m];
        const int a = AgeOn(r.birth, DayOf(t));
        if (&r != &p && a >= 25 && a <= 60 && !TrueId(r, t).empty()) return TrueId(r, t);
      }
    }
    return "";
  }

  void DrawId(Ctx& c, int64_t t, Draft* d) {
    const Person& p = c.person;
    const std::string relative = RelativeId(p, t);
    if (!relative.empty() && DrawRate(c, Rate::kIdRelative)) {
      d->id = relative;
      d->id_true = false;
      d->errors |= TagBit(Tag::kIdRelative);
      return;
    }
    const std::string id = TrueId(p, t);
    if (id.empty()) return;
    const Rate missing = c.facility.tier == FacilityTier::kVillageClinic ? Rate::kIdMissingVillageClinic
                         : c.facility.tier == FacilityTier::kTownshipHealthCentre ? Rate::kIdMissingTownship
                                                                                  : Rate::kIdMissingHospital;
    if (DrawRate(c, missing)) {
      d->errors |= TagBit(Tag::kIdMissing);
      return;
    }
    d->id = id;
    d->id_true = true;
    const bool legacy_ok = p.birth.year() < 1990 && p.birth.year() >= 1900;
    const int which = DrawOne(c, {{Rate::kIdOneDigit, true},
                                  {Rate::kIdTransposition, true},
                                  {Rate::kIdLegacy15, legacy_ok},
                                  {Rate::kIdFormat, true}});
    std::string written;
    switch (which) {
      case 0:
        if (IdOneDigit(id, c.rng, &written)) d->id = written, d->id_true = false, d->errors |= TagBit(Tag::kIdOneDigit);
        break;
      case 1:
        if (IdTransposition(id, c.rng, &written)) {
          d->id = written, d->id_true = false, d->errors |= TagBit(Tag::kIdTransposition);
        }
        break;
      case 2: {
        auto id15 = core::DowngradeResidentId18(id);
        if (id15.ok()) d->id = *id15, d->errors |= TagBit(Tag::kIdLegacy15);
        break;
      }
      case 3:
        d->id = IdFormatNoise(id, c.rng), d->errors |= TagBit(Tag::kIdFormat);
        break;
      default: break;
    }
  }

  std::string FormatDate(const Facility& f, absl::CivilDay day, Rng& rng) const {
    switch (f.traits.date_style) {
      case DateStyle::kCompact: return absl::StrFormat("%04d%02d%02d", day.year(), day.month(), day.day());
      case DateStyle::kSlash:
        return rng.Bernoulli(0.5) ? absl::StrFormat("%04d/%d/%d", day.year(), day.month(), day.day())
                                  : absl::StrFormat("%04d/%02d/%02d", day.year(), day.month(), day.day());
      case DateStyle::kIsoWithTime:
        return absl::StrFormat("%04d-%02d-%02d 00:00:00", day.year(), day.month(), day.day());
      case DateStyle::kIso: break;
    }
    return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
  }

  void DrawBirthDate(Ctx& c, Draft* d, bool with_errors) {
    const absl::CivilDay b = c.person.birth;
    d->birth_date = FormatDate(c.facility, b, c.rng);
    if (!with_errors) return;
    const int which = DrawOne(c, {{Rate::kDobLunarShift, b.year() < 1970},
                                  {Rate::kDobDayMonthSwap, b.day() <= 12 && b.day() != b.month()},
                                  {Rate::kDobYearOff, true},
                                  {Rate::kDobYearOnly, true},
                                  {Rate::kDobMissing, true},
                                  {Rate::kDobJanFirst, b.year() < 1960 && !(b.month() == 1 && b.day() == 1)}});
    switch (which) {
      case 0:
        d->birth_date = FormatDate(c.facility, LunarShift(b, c.rng), c.rng);
        d->errors |= TagBit(Tag::kDobLunarShift);
        break;
      case 1:
        d->birth_date = FormatDate(c.facility, absl::CivilDay(b.year(), b.day(), b.month()), c.rng);
        d->errors |= TagBit(Tag::kDobDayMonthSwap);
        break;
      case 2: {
        int year = static_cast<int>(b.year()) + (c.rng.Bernoulli(0.5) ? 1 : -1);
        // Never into the future of the record.
        if (year > DayOf(c.reg.time).year()) year = static_cast<int>(b.year()) - 1;
        absl::CivilDay shifted(year, b.month(), b.day());
        if (shifted.day() != b.day()) shifted = absl::CivilDay(year, b.month(), 28);  // 29 February
        d->birth_date = FormatDate(c.facility, shifted, c.rng);
        d->errors |= TagBit(Tag::kDobYearOff);
        break;
      }
      case 3: {
        const double u = c.rng.UniformDouble();
        d->birth_date = u < 0.5   ? absl::StrCat(b.year())
                        : u < 0.8 ? absl::StrCat(b.year(), "-00-00")
                                  : absl::StrCat(b.year(), "年");
        d->errors |= TagBit(Tag::kDobYearOnly);
        break;
      }
      case 4:
        d->birth_date.clear();
        d->errors |= TagBit(Tag::kDobMissing);
        break;
      case 5:
        d->birth_date = FormatDate(c.facility, absl::CivilDay(b.year(), 1, 1), c.rng);
        d->errors |= TagBit(Tag::kDobJanFirst);
        break;
      default: break;
    }
  }

  std::string SexText(const Ctx& c, bool male) const {
    if (c.facility.traits.sex_as_text) return male ? "男" : "女";
    return male ? "1" : "2";
  }

  void DrawSex(Ctx& c, Draft* d, bool with_errors) {
    d->sex = SexText(c, c.person.male);
    if (!with_errors) return;
    const int which = DrawOne(c, {{Rate::kSexUnknown, true}, {Rate::kSexWrong, true}});
    if (which == 0) {
      const double u = c.rng.UniformDouble();
      d->sex = c.facility.traits.sex_as_text ? (u < 0.5 ? "未知" : "") : (u < 0.4 ? "0" : u < 0.8 ? "9" : "");
      d->errors |= TagBit(Tag::kSexUnknown);
    } else if (which == 1) {
      d->sex = SexText(c, !c.person.male);
      d->errors |= TagBit(Tag::kSexWrong);
    }
  }

  void DrawPhone(Ctx& c, int64_t t, Draft* d, bool with_errors) {
    const Person& p = c.person;
    const std::string own = OwnPhone(p, t);
    d->phone = own.empty() ? p.contact_phone : own;
    d->phone_old = !own.empty() && own == p.phone && !p.new_phone.empty();
    if (!with_errors || d->phone.empty()) return;
    const int which = DrawOne(c, {{Rate::kPhoneMissing, true},
                                  {Rate::kPhoneOneDigit, true},
                                  {Rate::kPhoneRelative, !own.empty() && !p.relative_phone.empty()}});
    std::string written;
    if (which == 0) {
      d->phone.clear();
      d->errors |= TagBit(Tag::kPhoneMissing);
    } else if (which == 1 && PhoneOneDigit(d->phone, c.rng, &written)) {
      d->phone = written;
      d->errors |= TagBit(Tag::kPhoneOneDigit);
    } else if (which == 2) {
      d->phone = p.relative_phone;
      d->phone_old = false;
      d->errors |= TagBit(Tag::kPhoneRelative);
    }
  }

  void DrawAddress(Ctx& c, int64_t t, Draft* d, bool with_errors) {
    if (c.person.household < 0) return;
    const Residence res = ResidenceOn(pop_.households[c.person.household], DayOf(t));
    d->village = res.village;
    d->group = res.group;
    d->house = res.house_number;
    if (!with_errors) return;
    const int which = DrawOne(c, {{Rate::kAddressVillageOnly, true}, {Rate::kAddressMissing, true}});
    if (which == 0) {
      d->village_only = true;
      d->errors |= TagBit(Tag::kAddressVillageOnly);
    } else if (which == 1) {
      d->village = -1;
      d->errors |= TagBit(Tag::kAddressMissing);
    }
  }

  void DrawExtras(Ctx& c, Draft* d) {
    if (c.show_ethnicity) {
      d->ethnicity = std::string(c.facility.traits.ethnicity_as_text ? EthnicityText(c.person.ethnicity)
                                                                      : EthnicityCode(c.person.ethnicity));
    }
    if (c.show_insurance) d->insurance = c.person.insurance_id;
  }

  // A full version of the person as a registrar would type it at time t.
  Draft PersonDraft(Ctx& c, int64_t t) {
    Draft d;
    DrawId(c, t, &d);
    DrawName(c, &d);
    DrawBirthDate(c, &d, true);
    DrawSex(c, &d, true);
    DrawPhone(c, t, &d, true);
    DrawAddress(c, t, &d, true);
    DrawExtras(c, &d);
    return d;
  }

  Draft FirstDraft(Ctx& c) {
    const Registration& reg = c.reg;
    const Person& p = c.person;
    if (reg.kind == RegKind::kEmergencyUnknown || reg.kind == RegKind::kEmergencyIdentified) {
      // Brought in unconscious: 无名氏, a guessed sex, perhaps a guessed year.
      Draft d;
      d.placeholder_unknown = true;
      static constexpr const char* kUnknown[] = {"无名氏", "无名氏", "无名男", "无名女", "未知"};
      int pick = static_cast<int>(c.rng.Uniform(5));
      if (pick == 2 && !p.male) pick = 3;
      if (pick == 3 && p.male) pick = 2;
      d.name = kUnknown[pick];
      if (c.rng.Bernoulli(0.8)) d.sex = SexText(c, p.male);
      if (c.rng.Bernoulli(0.4)) {
        d.birth_date = absl::StrCat(p.birth.year() + c.rng.UniformInt(-5, 5));
      }
      return d;
    }
    const bool baby = AgeOn(p.birth, DayOf(reg.time)) < 1;
    if (reg.kind == RegKind::kBirth && DrawRate(c, Rate::kNewbornPlaceholder)) {
      Draft d;
      d.placeholder_newborn = true;
      d.name = PlaceholderNewbornName(c);
      // Newborns are often registered on the mother's card (新生儿随母).
      const std::string mother_id = RelativeId(p, reg.time);
      if (!mother_id.empty() && DrawRate(c, Rate::kIdRelative)) {
        d.id = mother_id;
        d.errors |= TagBit(Tag::kIdRelative);
      }
      DrawBirthDate(c, &d, false);
      DrawSex(c, &d, false);
      DrawPhone(c, reg.time, &d, false);
      DrawAddress(c, reg.time, &d, false);
      DrawExtras(c, &d);
      return d;
    }
    Draft d = PersonDraft(c, reg.time);
    if (baby && reg.kind != RegKind::kBirth && DrawRate(c, Rate::kInfantNickname)) {
      d.placeholder_newborn = true;
      d.name = NicknameName(c);
      d.errors &= ~(TagBit(Tag::kNameHomophone) | TagBit(Tag::kNameSimilarChar) |
                    TagBit(Tag::kNameNearHomophone) | TagBit(Tag::kNameTraditional) | TagBit(Tag::kNamePinyin) |
                    TagBit(Tag::kNameSpace) | TagBit(Tag::kNameFullwidth));
    }
    return d;
  }

  // --- later versions ---

  void Correct(Ctx& c, Draft* d) {
    // Fix one error, the way a registrar fixes the field a patient points at.
    struct Field {
      TagSet mask;
      int id;
    };
    constexpr TagSet kId = TagBit(Tag::kIdMissing) | TagBit(Tag::kIdOneDigit) | TagBit(Tag::kIdTransposition) |
                           TagBit(Tag::kIdLegacy15) | TagBit(Tag::kIdFormat) | TagBit(Tag::kIdRelative);
    constexpr TagSet kName = TagBit(Tag::kNameHomophone) | TagBit(Tag::kNameSimilarChar) |
                             TagBit(Tag::kNameNearHomophone) | TagBit(Tag::kNameTraditional) |
                             TagBit(Tag::kNamePinyin) | TagBit(Tag::kNameSpace) | TagBit(Tag::kNameFullwidth);
    constexpr TagSet kDob = TagBit(Tag::kDobLunarShift) | TagBit(Tag::kDobJanFirst) | TagBit(Tag::kDobDayMonthSwap) |
                            TagBit(Tag::kDobYearOff) | TagBit(Tag::kDobYearOnly) | TagBit(Tag::kDobMissing);
    constexpr TagSet kPhone = TagBit(Tag::kPhoneMissing) | TagBit(Tag::kPhoneOneDigit) | TagBit(Tag::kPhoneRelative);
    constexpr TagSet kAddress = TagBit(Tag::kAddressVillageOnly) | TagBit(Tag::kAddressMissing);
    constexpr TagSet kSex = TagBit(Tag::kSexUnknown) | TagBit(Tag::kSexWrong);
    const Field fields[] = {{kId, 0}, {kName, 1}, {kDob, 2}, {kPhone, 3}, {kAddress, 4}, {kSex, 5}};
    std::vector<int> candidates;
    for (const Field& f : fields) {
      if (d->errors & f.mask) candidates.push_back(f.id);
    }
    if (candidates.empty()) return;
    const int field = candidates[c.rng.Uniform(candidates.size())];
    const bool primary = c.primary;
    c.primary = false;  // corrections are not first versions
    switch (field) {
      case 0:
        d->errors &= ~kId;
        d->id = TrueId(c.person, c.reg.time);
        d->id_true = !d->id.empty();
        break;
      case 1:
        d->errors &= ~kName;
        d->name = c.person.name();
        break;
      case 2:
        d->errors &= ~kDob;
        DrawBirthDate(c, d, false);
        break;
      case 3:
        d->errors &= ~kPhone;
        DrawPhone(c, c.reg.time, d, false);
        break;
      case 4: {
        d->errors &= ~kAddress;
        d->village_only = false;
        const Residence res = ResidenceOn(pop_.households[c.person.household], DayOf(c.reg.time));
        d->village = res.village;
        break;
      }
      case 5:
        d->errors &= ~kSex;
        DrawSex(c, d, false);
        break;
    }
    c.primary = primary;
  }

  void Moved(Ctx& c, int64_t t, Draft* d) {
    if (d->village < 0) return;
    const Residence res = ResidenceOn(pop_.households[c.person.household], DayOf(t));
    d->village = res.village;
    d->group = res.group;
    d->house = res.house_number;
  }

  void NewPhone(Ctx& c, int64_t t, Draft* d) {
    const std::string own = OwnPhone(c.person, t);
    if (own.empty()) return;
    d->phone = own;
    d->phone_old = false;
    d->errors &= ~(TagBit(Tag::kPhoneMissing) | TagBit(Tag::kPhoneOneDigit) | TagBit(Tag::kPhoneRelative));
  }

  void Renamed(Ctx& c, int64_t t, Draft* d) {
    d->placeholder_newborn = false;
    d->name = c.person.name();
    const std::string id = TrueId(c.person, t);
    if (!id.empty() && d->id.empty()) {
      d->id = id;
      d->id_true = true;
    }
  }

  Draft Identified(Ctx& c, int64_t t) {
    const bool primary = c.primary;
    c.primary = false;
    Draft d = PersonDraft(c, t);
    c.primary = primary;
    return d;
  }

  // --- rendering to fields ---

  std::string AddressText(const Ctx& c, const Draft& d) const {
    if (d.village < 0) return "";
    const Village& v = county_.villages[d.village];
    const Township& t = county_.townships[v.township];
    const AddressForm& f = c.form;
    std::string village_text = v.address_name;
    if (f.committee && !v.urban) village_text = v.name;
    std::string group;
    if (v.urban) {
      if (f.house_number) group = absl::StrCat(d.house, "号");
    } else {
      switch (f.group_style) {
        case 1: group = absl::StrCat(ChineseNumber(d.group), "组"); break;
        case 2: group = absl::StrCat("第", d.group, "组"); break;
        case 3: group = absl::StrCat(d.group, "队"); break;
        default: group = absl::StrCat(d.group, "组"); break;
      }
      if (f.house_number) absl::StrAppend(&group, d.house, "号");
    }
    if (d.village_only) return f.village_alone ? village_text : absl::StrCat(village_text, group);
    switch (f.style) {
      case AddressStyle::kFull:
        return absl::StrCat(county_.province_name, county_.prefecture_name, county_.name, t.name, village_text, group);
      case AddressStyle::kProvinceShort:
        return absl::StrCat(county_.province_short, county_.name, t.name, village_text, group);
      case AddressStyle::kTownshipNoGroup:
        return absl::StrCat(t.name, village_text);
      case AddressStyle::kTownship: break;
    }
    return absl::StrCat(t.name, village_text, group);
  }

  std::string PhoneText(const Facility& f, const std::string& digits, bool* as_number) const {
    *as_number = false;
    if (digits.empty()) return "";
    const bool mobile = digits.size() == 11 && digits[0] == '1';
    switch (f.traits.phone_style) {
      case PhoneStyle::kDashed:
        return mobile ? absl::StrCat(digits.substr(0, 3), "-", digits.substr(3, 4), "-", digits.substr(7))
                      : absl::StrCat(digits.substr(0, 4), "-", digits.substr(4));
      case PhoneStyle::kSpaced:
        return mobile ? absl::StrCat(digits.substr(0, 3), " ", digits.substr(3, 4), " ", digits.substr(7))
                      : absl::StrCat(digits.substr(0, 4), " ", digits.substr(4));
      case PhoneStyle::kCountryCode:
        return mobile ? absl::StrCat("+86 ", digits) : absl::StrCat(digits.substr(0, 4), "-", digits.substr(4));
      case PhoneStyle::kJsonNumber:
        // Spreadsheet exports turn mobiles into numbers; a landline's
        // leading zero keeps it a string.
        *as_number = mobile;
        return digits;
      case PhoneStyle::kPlain: break;
    }
    return digits;
  }

  RecordFields Fields(const Ctx& c, const Draft& d) const {
    RecordFields f;
    f.name = d.name;
    f.sex = d.sex;
    f.birth_date = d.birth_date;
    f.id_number = d.id;
    if (!d.id.empty() && c.facility.traits.writes_id_type) f.id_type = "01";
    f.insurance_id = d.insurance;
    f.phone = PhoneText(c.facility, d.phone, &f.phone_as_number);
    f.address = AddressText(c, d);
    if (d.village >= 0 && c.facility.traits.writes_address_code) f.address_code = county_.villages[d.village].code;
    f.ethnicity = d.ethnicity;
    return f;
  }

  static void AppendFields(const RecordFields& f, JsonLine* j) {
    j->Str("name", f.name).Str("sex", f.sex).Str("birth_date", f.birth_date).Str("id_type", f.id_type);
    j->Str("id_number", f.id_number).Str("insurance_id", f.insurance_id);
    if (f.phone_as_number && !f.phone.empty()) {
      j->Raw("phone", f.phone);
    } else {
      j->Str("phone", f.phone);
    }
    j->Str("address", f.address).Str("address_code", f.address_code).Str("ethnicity", f.ethnicity);
  }

  TagSet Tags(const Ctx& c, const Draft& d) const {
    TagSet tags = d.errors;
    if (d.placeholder_newborn) tags |= TagBit(Tag::kPlaceholderNewborn);
    if (d.placeholder_unknown) tags |= TagBit(Tag::kPlaceholderUnknown);
    if (d.id.empty()) tags |= TagBit(Tag::kIdNone);
    if (d.id_true) tags |= TagBit(Tag::kIdValid);
    if (c.person.twin >= 0) tags |= TagBit(Tag::kTwin);
    if (c.reg.kind == RegKind::kDuplicate) tags |= TagBit(Tag::kDuplicate);
    if (c.person.migrant && !d.id.empty()) tags |= TagBit(Tag::kMigrant);
    if (d.phone_old && !d.phone.empty() && !HasTag(d.errors, Tag::kPhoneOneDigit)) tags |= TagBit(Tag::kPhoneStale);
    if (d.village >= 0 && c.person.household >= 0) {
      const Residence now = ResidenceOn(pop_.households[c.person.household], o_.end);
      if (now.village != d.village) tags |= TagBit(Tag::kAddressStale);
    }
    return tags;
  }

  // --- lines ---

  // Starts a line delivered at `time` (or later); the caller appends its
  // text to *the returned buffer.
  std::string* Begin(Ctx& c, int64_t time, bool may_be_late) {
    int64_t arrival = time;
    if (may_be_late) {
      // A stream per line keeps lateness independent of every other draw.
      Rng late = Rng::Stream(o_.seed, kDelivery, static_cast<uint64_t>(c.index), c.lines);
      ++c.out->stats[Rate::kOrderLate].eligible;
      if (late.Bernoulli(o_.rates[Rate::kOrderLate])) {
        arrival += late.UniformInt(kHour, 10 * kDay);
        ++c.out->stats[Rate::kOrderLate].applied;
        ++c.out->stats.late_lines;
      }
    }
    ++c.lines;
    c.out->line_starts.emplace_back(arrival, static_cast<uint32_t>(c.out->text.size()));
    return &c.out->text;
  }

  void EmitPatient(Ctx& c, const Draft& d, int64_t time, SourceRecord* record) {
    JsonLine j(Begin(c, time, !c.reg.in_merge));
    j.Str("kind", "patient").Str("facility_id", c.facility.id).Str("record_id", c.reg.record_id);
    j.Str("event_time", FormatTime(time));
    AppendFields(Fields(c, d), &j);
    j.End();
    ++record->versions;
    ++c.out->stats.patient_lines;
  }

  void EmitEvents(Ctx& c) {
    const Registration& reg = c.reg;
    if (o_.events_per_record <= 0) return;  // --events=0: no clinical events at all
    Rng rng = Rng::Stream(o_.seed, kRender, static_cast<uint64_t>(c.index), 1);
    Rng health_rng = Rng::Stream(o_.seed, kHealth, static_cast<uint64_t>(reg.person));
    const int age_now = AgeOn(c.person.birth, DayOf(reg.time));
    EventSubject s;
    s.facility_id = c.facility.id;
    s.record_id = reg.record_id;
    s.facility = &c.facility;
    s.age = std::max(0, age_now);
    s.male = c.person.male;
    s.health = DrawHealth(AgeOn(c.person.birth, o_.end), health_rng);
    int total = o_.events_per_record > 0 ? rng.Poisson(o_.events_per_record) : 0;
    int encounter_number = 0;
    std::string encounter_id;
    Topic topic = Topic::kGeneral;
    int64_t now = reg.time;
    int sub = 0;
    auto time_text = [](int64_t t) { return FormatTime(t); };
    auto encounter = [&](int64_t t, EncounterType type, absl::string_view other) {
      encounter_id = absl::StrCat(reg.record_id, "-", ++encounter_number);
      s.newborn = reg.kind == RegKind::kBirth && encounter_number == 1;
      topic = AppendEncounter(s, encounter_id, time_text(t), type, other, rng, Begin(c, t, true));
      ++c.out->stats.event_lines;
      now = t;
      sub = 0;
    };
    // The registration visit itself.
    EncounterType first = DrawEncounterType(c.facility.tier, s.age, rng);
    if (reg.scheme == 1 || reg.kind == RegKind::kBirth) first = EncounterType::kInpatient;
    if (reg.kind == RegKind::kEmergencyUnknown || reg.kind == RegKind::kEmergencyIdentified) {
      first = EncounterType::kEmergency;
    }
    std::vector<Referral> referrals = reg.referrals;
    std::sort(referrals.begin(), referrals.end(), [](const Referral& a, const Referral& b) { return a.time < b.time; });
    size_t next_referral = 0;
    if (!referrals.empty() && !referrals[0].out && referrals[0].time <= reg.time) {
      encounter(reg.time + rng.UniformInt(5, 40) * kMinute, EncounterType::kReferralIn,
                county_.facilities[referrals[0].other_facility].id);
      next_referral = 1;
    } else if (total > 0) {
      encounter(reg.time + rng.UniformInt(5, 40) * kMinute, first, "");
    }
    if (encounter_number > 0 && total > 0) --total;
    for (int k = 0; k < total; ++k) {
      if (encounter_number == 0 || rng.Bernoulli(0.4)) {
        const int64_t t = ClinicTime(DayOf(now) + static_cast<int>(rng.UniformInt(1, 120)), rng);
        if (t < reg.limit - kMinute) {
          encounter(t, DrawEncounterType(c.facility.tier, s.age, rng), "");
          continue;
        }
        if (encounter_number == 0) break;
      }
      const int64_t t = now + rng.UniformInt(5, 90) * kMinute;
      if (t >= reg.limit) break;
      ++sub;
      if (rng.Bernoulli(0.55)) {
        AppendObservation(s, absl::StrCat(encounter_id, "-O", sub), encounter_id, time_text(t), topic, rng,
                          Begin(c, t, true));
      } else {
        AppendMedication(s, absl::StrCat(encounter_id, "-M", sub), encounter_id, time_text(t), topic, rng,
                         Begin(c, t, true));
      }
      ++c.out->stats.event_lines;
    }
    for (; next_referral < referrals.size(); ++next_referral) {
      const Referral& r = referrals[next_referral];
      if (r.time >= reg.limit) continue;
      encounter(r.time, r.out ? EncounterType::kReferralOut : EncounterType::kReferralIn,
                county_.facilities[r.other_facility].id);
    }
  }

  const GenOptions& o_;
  const County& county_;
  const Population& pop_;
  const Plan& plan_;
};

void Merge(const GenStats& from, GenStats* to) {
  for (size_t i = 0; i < from.rates.size(); ++i) {
    to->rates[i].eligible += from.rates[i].eligible;
    to->rates[i].applied += from.rates[i].applied;
  }
  to->patient_lines += from.patient_lines;
  to->merge_lines += from.merge_lines;
  to->delete_lines += from.delete_lines;
  to->event_lines += from.event_lines;
  to->late_lines += from.late_lines;
}

void AppendCsvField(absl::string_view field, std::string* out) {
  if (field.find_first_of(",\"\n") == absl::string_view::npos) {
    out->append(field.data(), field.size());
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

absl::string_view TagName(Tag tag) { return kTagNames[static_cast<int>(tag)]; }

bool IsErrorTag(Tag tag) { return tag < Tag::kIdValid; }

std::string TagList(TagSet set) {
  std::string out;
  for (int i = 0; i < static_cast<int>(Tag::kCount); ++i) {
    if (!(set & (TagSet{1} << i))) continue;
    if (!out.empty()) out.push_back(';');
    absl::StrAppend(&out, kTagNames[i]);
  }
  return out;
}

std::string Dataset::PersonId(int32_t person) const {
  const Person& p = population_.people[person];
  return absl::StrFormat(p.stranger ? "U%07d" : "P%07d", person + 1);
}

void Dataset::ForEachLine(const std::function<void(absl::string_view)>& fn) const {
  for (const LineRef& ref : order_) fn(absl::string_view(chunks_[ref.chunk]).substr(ref.offset, ref.length));
}

std::string Dataset::TruthCsv() const {
  std::string out = "facility_id,record_id,person_id\n";
  for (const SourceRecord& r : records_) {
    if (r.fate != Fate::kLive) continue;
    AppendCsvField(county_.facilities[r.facility].id, &out);
    out.push_back(',');
    AppendCsvField(r.record_id, &out);
    out.push_back(',');
    out += PersonId(r.person);
    out.push_back('\n');
  }
  return out;
}

std::string Dataset::ErrorsCsv() const {
  std::string out = "facility_id,record_id,person_id,errors\n";
  for (const SourceRecord& r : records_) {
    if (r.fate != Fate::kLive) continue;
    AppendCsvField(county_.facilities[r.facility].id, &out);
    out.push_back(',');
    AppendCsvField(r.record_id, &out);
    out.push_back(',');
    out += PersonId(r.person);
    out.push_back(',');
    out += TagList(r.tags);
    out.push_back('\n');
  }
  return out;
}

std::string Dataset::FacilitiesCsv() const {
  std::string out = "facility_id,name,region,tier\n";
  for (const Facility& f : county_.facilities) {
    absl::StrAppend(&out, f.id, ",", f.name, ",", county_.code, ",", FacilityTierName(f.tier), "\n");
  }
  return out;
}

absl::Status Dataset::Write(const std::string& dir) const {
  HB_RETURN_IF_ERROR(MakeDirectories(dir));
  const std::string path = dir + "/records.jsonl";
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return absl::PermissionDeniedError(absl::StrCat("cannot write ", path));
  std::vector<char> buffer(1 << 20);
  std::setvbuf(f, buffer.data(), _IOFBF, buffer.size());
  for (const LineRef& ref : order_) {
    std::fwrite(chunks_[ref.chunk].data() + ref.offset, 1, ref.length, f);
    std::fputc('\n', f);
  }
  const bool failed = std::ferror(f) != 0;
  if (std::fclose(f) != 0 || failed) return absl::InternalError(absl::StrCat("error writing ", path));
  HB_RETURN_IF_ERROR(WriteFileAtomically(dir + "/truth.csv", TruthCsv()));
  HB_RETURN_IF_ERROR(WriteFileAtomically(dir + "/errors.csv", ErrorsCsv()));
  HB_RETURN_IF_ERROR(WriteFileAtomically(dir + "/facilities.csv", FacilitiesCsv()));
  return absl::OkStatus();
}

absl::StatusOr<Dataset> Generate(const GenOptions& options) {
  if (options.people < 1) return absl::InvalidArgumentError("--people must be at least 1");
  if (options.people > 50'000'000) return absl::InvalidArgumentError("--people must be at most 50,000,000");
  if (options.end < options.start + 30) {
    return absl::InvalidArgumentError("the window must span at least 30 days (--start, --end)");
  }
  Dataset ds;
  ds.options_ = options;
  // Wall time per phase, for the benchmark figures (never in the output).
  absl::Time phase = absl::Now();
  auto mark = [&](double* seconds) {
    const absl::Time now = absl::Now();
    *seconds += absl::ToDoubleSeconds(now - phase);
    phase = now;
  };
  HB_ASSIGN_OR_RETURN(ds.county_, BuildCounty(options.county, options.seed));
  PopulationOptions po;
  po.people = options.people;
  po.seed = options.seed;
  po.start = options.start;
  po.end = options.end;
  ds.population_ = BuildPopulation(ds.county_, po, options.rates);
  ds.stats_.residents = static_cast<int64_t>(ds.population_.people.size());
  const PopulationCounts& pc = ds.population_.counts;
  ds.stats_[Rate::kPersonMoved] = {pc.households, pc.moved};
  ds.stats_[Rate::kPersonPhoneChange] = {pc.phone_owners, pc.phone_changes};
  ds.stats_[Rate::kPersonMigrant] = {pc.married_in_women, pc.migrant_women};
  ds.stats_[Rate::kFamilyTwins] = {pc.births, pc.twin_births};
  ds.stats_[Rate::kFamilySimilarName] = {pc.children_with_parent, pc.named_after_parent};

  mark(&ds.stats_.seconds_population);
  Planner planner(options, ds.county_, &ds.population_);
  const Plan plan = planner.Build(&ds.stats_);
  ds.stats_.strangers = static_cast<int64_t>(ds.population_.people.size()) - ds.stats_.residents;

  mark(&ds.stats_.seconds_plan);
  // Render in fixed blocks; threads take blocks in turn.
  const size_t blocks = (plan.regs.size() + kBlock - 1) / kBlock;
  std::vector<Renderer::Output> outputs(blocks);
  std::atomic<size_t> next{0};
  auto work = [&]() {
    Renderer renderer(options, ds.county_, ds.population_, plan);
    for (size_t b = next++; b < blocks; b = next++) {
      const size_t begin = b * kBlock;
      const size_t end = std::min(plan.regs.size(), begin + kBlock);
      for (size_t i = begin; i < end; ++i) renderer.Render(static_cast<int32_t>(i), &outputs[b]);
      // Growth leaves up to half of each buffer unused; the whole county
      // is held until written, so give it back.
      outputs[b].text.shrink_to_fit();
      outputs[b].line_starts.shrink_to_fit();
    }
  };
  const int threads = std::max(1, std::min(options.threads, 64));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  mark(&ds.stats_.seconds_render);
  uint64_t seq = 0;
  {
    size_t lines = 0;
    for (const Renderer::Output& out : outputs) lines += out.line_starts.size();
    ds.order_.reserve(lines);
    ds.records_.reserve(plan.regs.size());
  }
  for (size_t b = 0; b < blocks; ++b) {
    Renderer::Output& out = outputs[b];
    Merge(out.stats, &ds.stats_);
    for (size_t i = 0; i < out.line_starts.size(); ++i) {
      const uint32_t begin = out.line_starts[i].second;
      const uint32_t end =
          i + 1 < out.line_starts.size() ? out.line_starts[i + 1].second : static_cast<uint32_t>(out.text.size());
      ds.order_.push_back({out.line_starts[i].first, seq++, static_cast<uint32_t>(b), begin, end - begin});
    }
    for (SourceRecord& r : out.records) ds.records_.push_back(std::move(r));
    ds.chunks_.push_back(std::move(out.text));
    out = Renderer::Output();
  }
  mark(&ds.stats_.seconds_order);
  std::sort(ds.order_.begin(), ds.order_.end(), [](const Dataset::LineRef& a, const Dataset::LineRef& b) {
    return a.arrival != b.arrival ? a.arrival < b.arrival : a.seq < b.seq;
  });
  {
    // By facility id, then record id: sort indices (records are large).
    std::vector<int32_t> rank(ds.county_.facilities.size());
    std::vector<int32_t> by_id(rank.size());
    for (size_t i = 0; i < by_id.size(); ++i) by_id[i] = static_cast<int32_t>(i);
    std::sort(by_id.begin(), by_id.end(),
              [&](int32_t a, int32_t b) { return ds.county_.facilities[a].id < ds.county_.facilities[b].id; });
    for (size_t i = 0; i < by_id.size(); ++i) rank[by_id[i]] = static_cast<int32_t>(i);
    std::vector<int32_t> order(ds.records_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
    std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      const SourceRecord& ra = ds.records_[a];
      const SourceRecord& rb = ds.records_[b];
      if (ra.facility != rb.facility) return rank[ra.facility] < rank[rb.facility];
      if (ra.record_id.size() != rb.record_id.size()) return ra.record_id.size() < rb.record_id.size();
      return ra.record_id < rb.record_id;
    });
    std::vector<SourceRecord> sorted;
    sorted.reserve(order.size());
    for (int32_t i : order) sorted.push_back(std::move(ds.records_[i]));
    ds.records_ = std::move(sorted);
  }
  mark(&ds.stats_.seconds_order);
  ds.stats_.source_records = static_cast<int64_t>(ds.records_.size());
  for (const SourceRecord& r : ds.records_) ds.stats_.live_records += r.fate == Fate::kLive;
  return ds;
}

}  // namespace hisbridge::synth
