// Survivorship: the golden demographics of a unified patient, chosen per
// field from its member records, with the provenance of every value.
//
// Per field the best value wins by, in order: validity (a valid resident id
// over an invalid one), source trust (county hospital > TCM hospital >
// township health centre > village clinic > other; configurable), frequency
// among the members, recency (event_time), and finally the smallest
// (facility_id, record_id) so the choice is deterministic. The provenance
// names the record a value came from and the first rule that decided.
//
// Thread safety: pure function.
#ifndef HISBRIDGE_LIBS_LINKER_SURVIVORSHIP_H_
#define HISBRIDGE_LIBS_LINKER_SURVIVORSHIP_H_

#include <array>
#include <cstdint>
#include <vector>

#include "google/protobuf/repeated_ptr_field.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/records.pb.h"

namespace hisbridge::linker {

struct SurvivorshipInput {
  const hisbridge::v1::Record* record = nullptr;
  // Trust of the record's facility (higher wins).
  int trust = 0;
  int64_t event_micros = 0;
  // The record carries a valid resident id.
  bool valid_resident_id = false;
};

void ChooseGoldenDemographics(const std::vector<SurvivorshipInput>& members, hisbridge::v1::Demographics* golden,
                              google::protobuf::RepeatedPtrField<hisbridge::v1::FieldProvenance>* provenance);

// The identity fields of a patient record as Demographics.
hisbridge::v1::Demographics DemographicsOf(const hisbridge::v1::Record& record);

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_SURVIVORSHIP_H_
