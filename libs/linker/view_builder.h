// Builds the published integrated view (hisbridge.v1.Patient) of a unified
// patient from the linker's state: golden demographics with provenance,
// every source identity with its link decision, and the clinical events of
// every member record (including records folded in by facility merges),
// ordered by time.
//
// Thread safety: immutable; Build may run concurrently for different
// patients as long as the RegionState is not being modified.
#ifndef HISBRIDGE_LIBS_LINKER_VIEW_BUILDER_H_
#define HISBRIDGE_LIBS_LINKER_VIEW_BUILDER_H_

#include "absl/status/statusor.h"
#include "hisbridge/v1/patient.pb.h"
#include "libs/index/patient_index.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/region_state.h"
#include "libs/records/facility_directory.h"

namespace hisbridge::linker {

class ViewBuilder {
 public:
  // `index` supplies clinical events; may be null (views without events).
  ViewBuilder(const records::FacilityDirectory* facilities, const EngineOptions* options,
              const index::PatientIndex* index)
      : facilities_(facilities), options_(options), index_(index) {}

  absl::StatusOr<hisbridge::v1::Patient> Build(const RegionState& state, const PatientState& patient) const;

 private:
  const records::FacilityDirectory* facilities_;
  const EngineOptions* options_;
  const index::PatientIndex* index_;
};

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_VIEW_BUILDER_H_
