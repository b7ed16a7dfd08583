// The people of the synthetic county: households in real villages, with
// the family structure of the rural south (elderly couples, grandparents
// raising left-behind grandchildren while the parents work away, nuclear
// and three-generation families), village clans sharing a surname, spouses
// married in from other villages and counties, twins, children named after
// their parents, phones shared within the family, and households moving
// within the county.
//
// Ages come out of the household structure and follow a rural pyramid:
// many elderly and children, few people in their twenties (they work in the
// cities).
//
// Thread safety: a Population is an immutable value after BuildPopulation.
#ifndef HISBRIDGE_LIBS_SYNTH_POPULATION_H_
#define HISBRIDGE_LIBS_SYNTH_POPULATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "libs/synth/county.h"
#include "libs/synth/error_rates.h"
#include "libs/synth/name_tables.h"

namespace hisbridge::synth {

struct Person {
  int32_t household = -1;  // -1 for strangers (unidentified emergency patients)
  bool male = true;
  absl::CivilDay birth;
  std::string surname;
  std::string given;
  Ethnicity ethnicity = Ethnicity::kHan;

  // 18 digits; empty when the person has none.
  std::string resident_id;
  // Records made before this day carry no id (babies get theirs with the
  // household registration, weeks or months after birth).
  absl::CivilDay id_issued;
  bool migrant = false;  // resident id issued by another county

  // Own mobile (empty: none). A change to new_phone on phone_changed.
  std::string phone;
  std::string new_phone;
  absl::CivilDay phone_changed;
  // Without an own phone, records carry this relative's number (a parent,
  // a grown child in the city, the household landline), or nothing.
  std::string contact_phone;
  // A relative's number other than the person's own, for phone.relative.
  std::string relative_phone;

  std::string insurance_id;  // 医保 number; empty when none

  int32_t mother = -1;
  int32_t father = -1;
  int32_t twin = -1;
  bool away = false;     // works outside the county; rarely seen by its facilities
  bool stranger = false; // not a resident: an unidentified emergency patient

  std::string name() const { return surname + given; }
};

struct Household {
  int village = 0;  // index into County::villages
  int group = 1;    // 村民小组
  int house_number = 1;
  std::string landline;  // area code + number, digits only; empty when none
  // A move within the county on moved_on (moved_village < 0: never).
  int moved_village = -1;
  int moved_group = 1;
  int moved_house_number = 1;
  absl::CivilDay moved_on;
  std::vector<int32_t> members;
};

// How often the population's structure rates were drawn and hit.
struct PopulationCounts {
  int64_t households = 0, moved = 0;
  int64_t phone_owners = 0, phone_changes = 0;
  int64_t married_in_women = 0, migrant_women = 0;
  int64_t births = 0, twin_births = 0;
  int64_t children_with_parent = 0, named_after_parent = 0;
};

struct Population {
  std::vector<Person> people;
  std::vector<Household> households;
  // The day ages are counted to (the end of the window).
  absl::CivilDay reference_day;
  PopulationCounts counts;
};

struct PopulationOptions {
  int64_t people = 1000;
  uint64_t seed = 1;
  absl::CivilDay start;  // window of the records
  absl::CivilDay end;
};

// Exactly options.people residents (strangers are added by the record
// planner).
Population BuildPopulation(const County& county, const PopulationOptions& options, const ErrorRates& rates);

// Age in whole years on `day`.
int AgeOn(absl::CivilDay birth, absl::CivilDay day);

// The household's village, group and house number on `day` (after a move,
// the new ones).
struct Residence {
  int village;
  int group;
  int house_number;
  bool moved;  // the household has moved by `day`
};
Residence ResidenceOn(const Household& household, absl::CivilDay day);

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_POPULATION_H_
