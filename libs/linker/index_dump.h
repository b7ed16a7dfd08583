// A canonical text rendering of a patient index: every region, record,
// link and patient in key order, one line each. Two indexes built from
// the same inbox log must dump identically; `hisbridge rebuild` and the
// crash tests compare dumps.
//
// Thread safety: reads only; safe alongside a running linker (the dump is
// then a mix of committed batches).
#ifndef HISBRIDGE_LIBS_LINKER_INDEX_DUMP_H_
#define HISBRIDGE_LIBS_LINKER_INDEX_DUMP_H_

#include <string>

#include "absl/status/statusor.h"
#include "libs/index/patient_index.h"

namespace hisbridge::linker {

struct DumpOptions {
  // Include decision timestamps and outbox/offset bookkeeping. Off when
  // comparing a rebuilt index, whose decisions happen at other times.
  bool include_times = false;
};

absl::StatusOr<std::string> DumpIndex(const index::PatientIndex& index, const DumpOptions& options = {});

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_INDEX_DUMP_H_
