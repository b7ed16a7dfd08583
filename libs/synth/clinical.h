// Clinical events for synthetic patient records: encounters with ICD-10
// diagnoses, observations (blood pressure, glucose, ... with LOINC codes or
// a clinic's local codes) and medications, plausible for the person's age,
// chronic conditions and the facility's tier.
//
// Thread safety: pure functions over immutable tables.
#ifndef HISBRIDGE_LIBS_SYNTH_CLINICAL_H_
#define HISBRIDGE_LIBS_SYNTH_CLINICAL_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "libs/synth/county.h"
#include "libs/synth/random.h"

namespace hisbridge::synth {

struct HealthProfile {
  bool hypertension = false;
  bool diabetes = false;
};
// Chronic conditions by age (rural prevalence orders of magnitude).
HealthProfile DrawHealth(int age, Rng& rng);

enum class EncounterType : uint8_t { kOutpatient, kInpatient, kEmergency, kPublicHealth, kReferralOut, kReferralIn };
absl::string_view EncounterTypeName(EncounterType type);

// The usual kind of a visit at this tier for this age.
EncounterType DrawEncounterType(FacilityTier tier, int age, Rng& rng);

struct EventSubject {
  absl::string_view facility_id;
  absl::string_view record_id;
  const Facility* facility = nullptr;
  int age = 0;
  bool male = true;
  bool newborn = false;  // a birth registration
  HealthProfile health;
};

// Each appends one JSON line (no newline). `time` is the event_time text.
// Returns what a follow-up observation or prescription should be about.
enum class Topic : uint8_t { kGeneral, kHypertension, kDiabetes, kInfection, kChild, kNewborn, kInjury };
Topic AppendEncounter(const EventSubject& s, absl::string_view encounter_id, absl::string_view time,
                      EncounterType type, absl::string_view referral_facility, Rng& rng, std::string* out);
void AppendObservation(const EventSubject& s, absl::string_view observation_id, absl::string_view encounter_id,
                       absl::string_view time, Topic topic, Rng& rng, std::string* out);
void AppendMedication(const EventSubject& s, absl::string_view medication_id, absl::string_view encounter_id,
                      absl::string_view time, Topic topic, Rng& rng, std::string* out);

}  // namespace hisbridge::synth

#endif  // HISBRIDGE_LIBS_SYNTH_CLINICAL_H_
