// A canonical text rendering of a patient index: every region, record,
// link, patient (with its audit trail) and review item in key order, one
// line each. Two indexes built from the same inbox log must dump
// identically; `hisbridge rebuild` and the crash tests compare dumps.
//
// Also the index export (`hisbridge export`): the link CSV of
// spec/county-records.md for every live source record of an index.
//
// Thread safety: reads only; safe alongside a running linker (the dump is
// then a mix of committed batches unless the index is a secondary
// instance, which sees one consistent state).
#ifndef HISBRIDGE_LIBS_LINKER_INDEX_DUMP_H_
#define HISBRIDGE_LIBS_LINKER_INDEX_DUMP_H_

#include <array>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/index/patient_index.h"

namespace hisbridge::linker {

struct DumpOptions {
  // Include decision timestamps and outbox/offset bookkeeping. Off when
  // comparing a rebuilt index, whose decisions happen at other times.
  bool include_times = false;
};

absl::StatusOr<std::string> DumpIndex(const index::PatientIndex& index, const DumpOptions& options = {});

// One row of the link CSV: facility_id, record_id, patient_id.
using LinkRow = std::array<std::string, 3>;

// Every live source record of the index (not deleted, not folded away by a
// facility merge, linked to a patient) with its unified patient, sorted by
// facility and record.
absl::StatusOr<std::vector<LinkRow>> LiveLinks(const index::PatientIndex& index);

// Writes `rows` as the link CSV: the header `facility_id,record_id,patient_id`
// and one line per row, a field quoted (RFC 4180) only when it holds a comma,
// a quote or a line break. `path` "-" is standard output.
absl::Status WriteLinkCsv(const std::vector<LinkRow>& rows, const std::string& path);

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_INDEX_DUMP_H_
