// Moves region state between memory (RegionState) and the durable patient
// index (RocksDB).
//
// Load rebuilds the in-memory state of every region of an inbox partition
// from the index (records, links, patients, blocking index; MatchRecords
// are recomputed by the engine). AddChanges turns a ChangeSet into index
// writes plus outbox entries for the publisher, to be committed in the same
// IndexBatch as the consumed offsets.
//
// Thread safety: not thread-safe; used by the linker thread.
#ifndef HISBRIDGE_LIBS_LINKER_STATE_STORE_H_
#define HISBRIDGE_LIBS_LINKER_STATE_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "hisbridge/index/v1/index.pb.h"
#include "libs/index/patient_index.h"
#include "libs/linker/change_set.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/region_state.h"

namespace hisbridge::linker {

// An outbox entry with its sequence number in the outbox family.
struct PendingOutbox {
  uint64_t sequence = 0;
  hisbridge::index::v1::OutboxEntry entry;
};

class StateStore {
 public:
  StateStore(index::PatientIndex* index, const LinkEngine* engine);

  // Loads every region whose meta says it lives in `partition`. Records
  // whose stored blocking tokens are out of date are added to `repairs`
  // (when given) so the next commit rewrites them.
  absl::Status LoadPartition(int32_t partition, std::map<std::string, std::unique_ptr<RegionState>>* regions,
                             ChangeSet* repairs = nullptr);

  // Adds the writes for `changes` and their outbox entries (patients to
  // publish, change events) to `batch`; appends the entries to `outbox`.
  absl::Status AddChanges(const ChangeSet& changes, index::IndexBatch* batch, std::vector<PendingOutbox>* outbox);

  // Adds one outbox entry (e.g. a watermark) to `batch` and `outbox`.
  void AddOutbox(hisbridge::index::v1::OutboxEntry entry, index::IndexBatch* batch, std::vector<PendingOutbox>* outbox);

  // Entries left in the outbox by a previous run (to publish first).
  absl::Status LoadPendingOutbox(std::vector<PendingOutbox>* outbox);

 private:
  index::PatientIndex* index_;
  const LinkEngine* engine_;
  uint64_t next_outbox_sequence_ = 0;
  bool outbox_sequence_known_ = false;
};

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_STATE_STORE_H_
