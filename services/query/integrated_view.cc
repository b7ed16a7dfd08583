#include "services/query/integrated_view.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/wire_format_lite.h"
#include "libs/base/time_format.h"
#include "libs/view/patient_wire.h"

namespace hisbridge::query {
namespace {

constexpr const char* kKinds[] = {"encounter", "observation", "medication"};

}  // namespace

absl::StatusOr<TimelineFilter> MakeTimelineFilter(const hisbridge::v1::GetIntegratedViewRequest& request) {
  TimelineFilter filter;
  if (!request.from().empty()) {
    auto from = ParseRfc3339(request.from());
    if (!from.ok()) return absl::InvalidArgumentError(absl::StrCat("from: ", from.status().message()));
    filter.from = *from;
    filter.bounded = true;
  }
  if (!request.to().empty()) {
    auto to = ParseRfc3339(request.to());
    if (!to.ok()) return absl::InvalidArgumentError(absl::StrCat("to: ", to.status().message()));
    filter.to = *to;
    filter.bounded = true;
  }
  if (filter.from > filter.to) {
    return absl::InvalidArgumentError(
        absl::StrCat("from: ", request.from(), " is after to (", request.to(), "); the bounds are inclusive"));
  }
  for (int i = 0; i < request.kinds_size(); ++i) {
    const std::string& kind = request.kinds(i);
    if (std::find(std::begin(kKinds), std::end(kKinds), kind) == std::end(kKinds)) {
      return absl::InvalidArgumentError(absl::StrCat("kinds[", i, "]: unknown kind \"", kind, "\"; use ",
                                                     absl::StrJoin(kKinds, ", ")));
    }
    filter.kinds.push_back(kind);
  }
  return filter;
}

namespace {

using google::protobuf::internal::WireFormatLite;

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

// A length-delimited field: tag, length, bytes.
void AppendField(int field, absl::string_view bytes, std::string* out) {
  AppendVarint(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED), out);
  AppendVarint(bytes.size(), out);
  out->append(bytes.data(), bytes.size());
}

size_t VarintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

bool IsReferralOut(const view::EventFields& e) {
  return e.encounter_type == "referral_out" || (!e.referral_to.empty() && e.encounter_type != "referral_in");
}

bool IsReferralIn(const view::EventFields& e) {
  return e.encounter_type == "referral_in" || (!e.referral_from.empty() && e.encounter_type != "referral_out");
}

}  // namespace

absl::StatusOr<std::string> BuildIntegratedViewBytes(absl::string_view patient, const TimelineFilter& filter,
                                                     const records::FacilityDirectory& facilities) {
  constexpr int kPatientField = hisbridge::v1::IntegratedView::kPatientFieldNumber;
  constexpr int kTimelineField = hisbridge::v1::IntegratedView::kTimelineFieldNumber;
  constexpr int kReferralsField = hisbridge::v1::IntegratedView::kReferralsFieldNumber;
  constexpr int kEntryEventField = hisbridge::v1::TimelineEntry::kEventFieldNumber;
  constexpr int kEntryNameField = hisbridge::v1::TimelineEntry::kFacilityNameFieldNumber;

  struct Step {
    absl::Time time;
    hisbridge::v1::Referral referral;
  };
  std::vector<Step> outs, ins;
  std::string timeline;
  timeline.reserve(patient.size());
  std::string entry_name;
  std::string without_events;
  absl::Status walked = view::ForEachPatientEvent(patient, &without_events, [&](const view::EventFields& event) {
    const bool encounter = event.kind == "encounter";
    const bool referral = encounter && (IsReferralOut(event) || IsReferralIn(event));
    // Times are read only where they matter: the window, and the order of
    // referral steps (the view lists events in time order already).
    absl::Time at = absl::InfinitePast();
    if (filter.bounded || referral) {
      auto time = ParseRfc3339(event.event_time);
      if (filter.bounded && (!time.ok() || *time < filter.from || *time > filter.to)) return;
      if (time.ok()) at = *time;
    }
    if (referral) {
      Step s{at, {}};
      if (IsReferralOut(event)) {
        s.referral.set_from_facility_id(std::string(event.facility_id));
        s.referral.set_to_facility_id(std::string(event.referral_to));
        outs.push_back(std::move(s));
      } else {
        s.referral.set_from_facility_id(std::string(event.referral_from));
        s.referral.set_to_facility_id(std::string(event.facility_id));
        ins.push_back(std::move(s));
      }
      Step& added = IsReferralOut(event) ? outs.back() : ins.back();
      added.referral.set_time(std::string(event.event_time));
      added.referral.set_encounter_id(std::string(event.event_id));
    }
    if (!filter.kinds.empty() &&
        std::find(filter.kinds.begin(), filter.kinds.end(), event.kind) == filter.kinds.end()) {
      return;
    }
    // TimelineEntry {event = the stored bytes, facility_name}.
    entry_name = facilities.NameOf(event.facility_id);
    const size_t event_size = event.serialized.size();
    size_t entry_size = 1 + VarintSize(event_size) + event_size;
    if (!entry_name.empty()) entry_size += 1 + VarintSize(entry_name.size()) + entry_name.size();
    AppendVarint(WireFormatLite::MakeTag(kTimelineField, WireFormatLite::WIRETYPE_LENGTH_DELIMITED), &timeline);
    AppendVarint(entry_size, &timeline);
    AppendField(kEntryEventField, event.serialized, &timeline);
    if (!entry_name.empty()) AppendField(kEntryNameField, entry_name, &timeline);
  });
  if (!walked.ok()) return walked;

  auto by_time = [](const Step& a, const Step& b) { return a.time < b.time; };
  std::stable_sort(outs.begin(), outs.end(), by_time);
  std::stable_sort(ins.begin(), ins.end(), by_time);
  std::vector<bool> paired(ins.size(), false);
  std::vector<Step> steps;
  for (Step& o : outs) {
    for (size_t i = 0; i < ins.size(); ++i) {
      if (paired[i] || ins[i].time < o.time) continue;
      if (ins[i].referral.from_facility_id() == o.referral.from_facility_id() &&
          ins[i].referral.to_facility_id() == o.referral.to_facility_id()) {
        paired[i] = true;
        break;
      }
    }
    steps.push_back(std::move(o));
  }
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!paired[i]) steps.push_back(std::move(ins[i]));
  }
  std::stable_sort(steps.begin(), steps.end(), by_time);

  // Fields in number order, as a serializer writes them.
  std::string out;
  out.reserve(without_events.size() + timeline.size() + 128 * steps.size() + 16);
  AppendField(kPatientField, without_events, &out);
  out.append(timeline);
  for (Step& s : steps) {
    hisbridge::v1::Referral& referral = s.referral;
    if (!referral.from_facility_id().empty()) {
      referral.set_from_facility_name(facilities.NameOf(referral.from_facility_id()));
    }
    if (!referral.to_facility_id().empty()) {
      referral.set_to_facility_name(facilities.NameOf(referral.to_facility_id()));
    }
    AppendField(kReferralsField, referral.SerializeAsString(), &out);
  }
  return out;
}

void BuildIntegratedView(hisbridge::v1::Patient patient, const TimelineFilter& filter,
                         const records::FacilityDirectory& facilities, hisbridge::v1::IntegratedView* out) {
  // One implementation: the wire-level one the service uses.
  auto bytes = BuildIntegratedViewBytes(patient.SerializeAsString(), filter, facilities);
  out->Clear();
  if (bytes.ok()) out->ParseFromString(*bytes);
}

}  // namespace hisbridge::query
