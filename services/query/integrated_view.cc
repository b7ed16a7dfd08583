#include "services/query/integrated_view.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/base/time_format.h"

namespace hisbridge::query {
namespace {

constexpr const char* kKinds[] = {"encounter", "observation", "medication"};

bool IsReferralOut(const hisbridge::v1::Record& r) {
  return r.encounter_type() == "referral_out" || (!r.referral_to().empty() && r.encounter_type() != "referral_in");
}

bool IsReferralIn(const hisbridge::v1::Record& r) {
  return r.encounter_type() == "referral_in" || (!r.referral_from().empty() && r.encounter_type() != "referral_out");
}

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

void BuildIntegratedView(hisbridge::v1::Patient patient, const TimelineFilter& filter,
                         const records::FacilityDirectory& facilities, hisbridge::v1::IntegratedView* out) {
  struct Step {
    absl::Time time;
    hisbridge::v1::Referral referral;
  };
  std::vector<Step> outs, ins;
  auto* events = patient.mutable_events();
  for (auto& event : *events) {
    auto time = ParseRfc3339(event.event_time());
    if (filter.bounded && (!time.ok() || *time < filter.from || *time > filter.to)) continue;
    const absl::Time at = time.ok() ? *time : absl::InfinitePast();
    const hisbridge::v1::Record& r = event.record();
    if (event.kind() == "encounter") {
      if (IsReferralOut(r)) {
        Step s{at, {}};
        s.referral.set_from_facility_id(event.facility_id());
        s.referral.set_to_facility_id(r.referral_to());
        s.referral.set_time(event.event_time());
        s.referral.set_encounter_id(event.event_id());
        outs.push_back(std::move(s));
      } else if (IsReferralIn(r)) {
        Step s{at, {}};
        s.referral.set_from_facility_id(r.referral_from());
        s.referral.set_to_facility_id(event.facility_id());
        s.referral.set_time(event.event_time());
        s.referral.set_encounter_id(event.event_id());
        ins.push_back(std::move(s));
      }
    }
    if (!filter.kinds.empty() &&
        std::find(filter.kinds.begin(), filter.kinds.end(), event.kind()) == filter.kinds.end()) {
      continue;
    }
    auto* entry = out->add_timeline();
    entry->set_facility_name(facilities.NameOf(event.facility_id()));
    *entry->mutable_event() = std::move(event);
  }

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
  for (Step& s : steps) {
    hisbridge::v1::Referral* referral = out->add_referrals();
    *referral = std::move(s.referral);
    if (!referral->from_facility_id().empty()) {
      referral->set_from_facility_name(facilities.NameOf(referral->from_facility_id()));
    }
    if (!referral->to_facility_id().empty()) {
      referral->set_to_facility_name(facilities.NameOf(referral->to_facility_id()));
    }
  }
  patient.clear_events();
  *out->mutable_patient() = std::move(patient);
}

}  // namespace hisbridge::query
