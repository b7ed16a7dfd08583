#include "libs/linker/view_builder.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "libs/base/time_format.h"
#include "libs/linker/survivorship.h"
#include "libs/records/validate.h"

namespace hisbridge::linker {

absl::StatusOr<hisbridge::v1::Patient> ViewBuilder::Build(const RegionState& state,
                                                          const PatientState& patient) const {
  hisbridge::v1::Patient view;
  const auto& stored = patient.stored;
  view.set_patient_id(stored.patient_id());
  view.set_version(stored.version());
  view.set_status(stored.status());
  view.set_merged_into(stored.merged_into());
  view.set_region(stored.region());
  view.set_updated_at(stored.updated_at());

  std::vector<SurvivorshipInput> inputs;
  inputs.reserve(patient.members.size());
  for (RecordHandle h : patient.members) {
    const RecordState& r = state.record(h);
    SurvivorshipInput in;
    in.record = &r.stored.record();
    in.trust = options_->tier_trust[static_cast<int>(facilities_->TierOf(r.facility_id()))];
    in.event_micros = r.stored.event_time_micros();
    in.valid_resident_id = !r.match.resident_id.empty();
    inputs.push_back(in);

    auto* source = view.add_sources();
    source->set_facility_id(r.facility_id());
    source->set_record_id(r.record_id());
    *source->mutable_demographics() = DemographicsOf(r.stored.record());
    source->set_event_time(r.stored.record().event_time());
    *source->mutable_link() = r.link.link();
  }
  ChooseGoldenDemographics(inputs, view.mutable_demographics(), view.mutable_provenance());

  if (index_ != nullptr) {
    struct Timed {
      absl::Time time;
      hisbridge::v1::ClinicalEvent event;
    };
    std::vector<Timed> events;
    absl::Status status;
    for (RecordHandle h : patient.members) {
      const RecordState& r = state.record(h);
      std::vector<std::string> record_ids = {r.record_id()};
      record_ids.insert(record_ids.end(), r.stored.absorbed_record_ids().begin(), r.stored.absorbed_record_ids().end());
      for (const std::string& record_id : record_ids) {
        absl::Status s = index_->ForEachEvent(state.region(), r.facility_id(), record_id,
                                              [&](const hisbridge::v1::Record& e) {
                                                Timed t;
                                                auto parsed = ParseRfc3339(e.event_time());
                                                t.time = parsed.ok() ? *parsed : absl::InfinitePast();
                                                t.event.set_kind(e.kind());
                                                t.event.set_facility_id(e.facility_id());
                                                t.event.set_record_id(e.record_id());
                                                t.event.set_event_id(records::EventId(e));
                                                t.event.set_event_time(e.event_time());
                                                *t.event.mutable_record() = e;
                                                events.push_back(std::move(t));
                                                return true;
                                              });
        if (!s.ok()) return s;
      }
    }
    std::stable_sort(events.begin(), events.end(), [](const Timed& a, const Timed& b) {
      if (a.time != b.time) return a.time < b.time;
      if (a.event.kind() != b.event.kind()) return a.event.kind() < b.event.kind();
      return a.event.event_id() < b.event.event_id();
    });
    for (Timed& t : events) *view.add_events() = std::move(t.event);
  }
  return view;
}

}  // namespace hisbridge::linker
