// Cursors of WatchChanges: where a stream of change events stands in the
// changes topic, as the next offset to deliver per partition.
//
//   "p0:o124,p1:o45"   resume at offset 124 of partition 0 and 45 of 1
//   ""                 the oldest change this replica keeps
//   "now"              the end: only changes from now on
//
// Offsets are the Kafka offsets of hisbridge.changes, the same on every
// replica, so a client may resume on another replica. Clients treat the
// text as opaque.
//
// Pure functions; thread-safe.
#ifndef HISBRIDGE_SERVICES_QUERY_CHANGE_CURSOR_H_
#define HISBRIDGE_SERVICES_QUERY_CHANGE_CURSOR_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hisbridge::query {

// Partition -> next offset to deliver.
using ChangePositions = std::map<int32_t, int64_t>;

std::string FormatChangeCursor(const ChangePositions& positions);

// Parses a cursor FormatChangeCursor wrote. INVALID_ARGUMENT (naming the
// field "cursor") for anything else; "" and "now" are the caller's.
absl::StatusOr<ChangePositions> ParseChangeCursor(absl::string_view cursor);

}  // namespace hisbridge::query

#endif  // HISBRIDGE_SERVICES_QUERY_CHANGE_CURSOR_H_
