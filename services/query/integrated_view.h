// GetIntegratedView's answer, built from a stored Patient view: the
// patient's clinical events from every facility as one timeline (with the
// facilities' names), and the referral chain.
//
// Filters: `from` / `to` are inclusive RFC 3339 bounds on event_time (an
// event whose time cannot be read is kept only when neither is given);
// `kinds` keeps only "encounter", "observation" and/or "medication".
//
// Referrals come from the encounters inside the time window (whatever
// `kinds` says): an encounter of type referral_out (or naming referral_to)
// is a step from its facility to referral_to; one of type referral_in (or
// naming referral_from) a step from referral_from to its facility. The
// receiving facility's referral_in for an earlier referral_out between the
// same two facilities is the same step and is not listed twice. Steps are
// ordered by time.
//
// An event whose time cannot be read sorts before every other referral
// step. Pure functions; thread-safe.
#ifndef HISBRIDGE_SERVICES_QUERY_INTEGRATED_VIEW_H_
#define HISBRIDGE_SERVICES_QUERY_INTEGRATED_VIEW_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hisbridge/v1/query.pb.h"
#include "libs/records/facility_directory.h"

namespace hisbridge::query {

struct TimelineFilter {
  absl::Time from = absl::InfinitePast();
  absl::Time to = absl::InfiniteFuture();
  bool bounded = false;
  // Empty for every kind.
  std::vector<std::string> kinds;
};

// Validates the request's filters; INVALID_ARGUMENT names the field
// ("from", "to", "kinds[1]") and the rule.
absl::StatusOr<TimelineFilter> MakeTimelineFilter(const hisbridge::v1::GetIntegratedViewRequest& request);

// The serialized IntegratedView of a serialized Patient view, built at the
// wire level: each timeline entry carries the stored bytes of its event
// (read only for kind, facility, time and the referral fields), and the
// patient is the view without its events. DATA_LOSS when the view is not a
// well-formed message.
absl::StatusOr<std::string> BuildIntegratedViewBytes(absl::string_view patient, const TimelineFilter& filter,
                                                     const records::FacilityDirectory& facilities);

// The same as messages (the patient's events end up in the timeline; the
// patient is kept without them). A malformed patient gives an empty view.
void BuildIntegratedView(hisbridge::v1::Patient patient, const TimelineFilter& filter,
                         const records::FacilityDirectory& facilities, hisbridge::v1::IntegratedView* out);

}  // namespace hisbridge::query

#endif  // HISBRIDGE_SERVICES_QUERY_INTEGRATED_VIEW_H_
