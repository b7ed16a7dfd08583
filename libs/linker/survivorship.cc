#include "libs/linker/survivorship.h"

#include <algorithm>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"

namespace hisbridge::linker {
namespace {

using hisbridge::v1::Demographics;
using hisbridge::v1::Record;

struct FieldSpec {
  const char* name;
  const std::string& (*get)(const Record&);
  void (*set)(Demographics*, const std::string&);
  // Validity matters only for the resident id.
  bool uses_validity;
};

#define HB_FIELD(field, validity)                                                    \
  FieldSpec {                                                                        \
    #field, [](const Record& r) -> const std::string& { return r.field(); },          \
        [](Demographics* d, const std::string& v) { d->set_##field(v); }, validity  \
  }
const FieldSpec kFields[] = {
    HB_FIELD(name, false),         HB_FIELD(sex, false),     HB_FIELD(birth_date, false),
    HB_FIELD(id_number, true),     HB_FIELD(insurance_id, false), HB_FIELD(health_card_id, false),
    HB_FIELD(phone, false),        HB_FIELD(address, false), HB_FIELD(address_code, false),
    HB_FIELD(ethnicity, false),
};
#undef HB_FIELD

struct Candidate {
  const SurvivorshipInput* input;
  std::string value;
  int frequency = 0;
};

// Compares a and b by the rules in order; returns the deciding rule's name
// when a beats b, or nullptr when b is at least as good.
const char* Beats(const Candidate& a, const Candidate& b, bool uses_validity) {
  if (uses_validity && a.input->valid_resident_id != b.input->valid_resident_id) {
    return a.input->valid_resident_id ? "valid_resident_id" : nullptr;
  }
  if (a.input->trust != b.input->trust) return a.input->trust > b.input->trust ? "source_trust" : nullptr;
  if (a.frequency != b.frequency) return a.frequency > b.frequency ? "frequency" : nullptr;
  if (a.input->event_micros != b.input->event_micros) {
    return a.input->event_micros > b.input->event_micros ? "recency" : nullptr;
  }
  const Record& ra = *a.input->record;
  const Record& rb = *b.input->record;
  if (ra.facility_id() != rb.facility_id()) return ra.facility_id() < rb.facility_id() ? "tie_break" : nullptr;
  return ra.record_id() < rb.record_id() ? "tie_break" : nullptr;
}

}  // namespace

Demographics DemographicsOf(const Record& r) {
  Demographics d;
  for (const FieldSpec& f : kFields) {
    if (!f.get(r).empty()) f.set(&d, f.get(r));
  }
  d.set_id_type(r.id_type());
  return d;
}

void ChooseGoldenDemographics(const std::vector<SurvivorshipInput>& members, Demographics* golden,
                              google::protobuf::RepeatedPtrField<hisbridge::v1::FieldProvenance>* provenance) {
  golden->Clear();
  provenance->Clear();
  std::vector<Candidate> candidates;
  for (const FieldSpec& f : kFields) {
    candidates.clear();
    absl::flat_hash_map<std::string, int> frequency;
    for (const SurvivorshipInput& m : members) {
      const std::string value(absl::StripAsciiWhitespace(f.get(*m.record)));
      if (value.empty()) continue;
      candidates.push_back({&m, value, 0});
      ++frequency[value];
    }
    if (candidates.empty()) continue;
    for (Candidate& c : candidates) c.frequency = frequency[c.value];
    size_t best = 0;
    for (size_t i = 1; i < candidates.size(); ++i) {
      if (Beats(candidates[i], candidates[best], f.uses_validity) != nullptr) best = i;
    }
    // The deciding rule is the one that separated the winner from the
    // strongest candidate with a different value.
    const char* rule = "agreed";
    const Candidate* runner_up = nullptr;
    for (const Candidate& c : candidates) {
      if (c.value == candidates[best].value) continue;
      if (runner_up == nullptr || Beats(c, *runner_up, f.uses_validity) != nullptr) runner_up = &c;
    }
    if (runner_up != nullptr) {
      const char* decided = Beats(candidates[best], *runner_up, f.uses_validity);
      rule = decided != nullptr ? decided : "tie_break";
    } else if (candidates.size() == 1) {
      rule = "only_value";
    }
    const Candidate& winner = candidates[best];
    f.set(golden, winner.value);
    if (f.uses_validity) golden->set_id_type(winner.input->record->id_type());
    auto* p = provenance->Add();
    p->set_field(f.name);
    p->set_value(winner.value);
    p->set_facility_id(winner.input->record->facility_id());
    p->set_record_id(winner.input->record->record_id());
    p->set_rule(rule);
  }
}

}  // namespace hisbridge::linker
