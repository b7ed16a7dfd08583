// Everything a batch of inputs changed in the in-memory state, so that it
// can be persisted in one RocksDB WriteBatch and then published.
//
// The engine records into a ChangeSet as it applies inputs; StateStore
// turns it into index writes; the Publisher turns the touched patients and
// change events into messages. Ordered containers keep persistence and
// publication deterministic.
//
// Thread safety: none; owned by the linker thread.
#ifndef HISBRIDGE_LIBS_LINKER_CHANGE_SET_H_
#define HISBRIDGE_LIBS_LINKER_CHANGE_SET_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "hisbridge/v1/admin.pb.h"
#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/review.pb.h"
#include "hisbridge/v1/views.pb.h"
#include "libs/linker/region_state.h"

namespace hisbridge::linker {

struct RegionChanges {
  std::set<RecordHandle> records;
  std::set<std::string> patients;
  // (token, record) pairs to add to / remove from the persisted blocking
  // index.
  std::vector<std::pair<uint64_t, RecordHandle>> blocking_added;
  std::vector<std::pair<uint64_t, RecordHandle>> blocking_removed;
  std::vector<hisbridge::v1::Record> events_put;
  std::vector<hisbridge::v1::ChangeEvent> change_events;
  std::vector<hisbridge::v1::ReviewItem> review_items;
  // Outcomes of steward commands, applied or refused.
  std::vector<hisbridge::v1::CommandResult> command_results;
  struct Audit {
    std::string patient_id;
    uint64_t sequence;
    hisbridge::v1::HistoryEntry entry;
  };
  // In the order they happened.
  std::vector<Audit> audit;
  bool meta = false;

  bool empty() const {
    return records.empty() && patients.empty() && blocking_added.empty() && blocking_removed.empty() &&
           events_put.empty() && change_events.empty() && review_items.empty() && command_results.empty() && audit.empty() && !meta;
  }
};

class ChangeSet {
 public:
  RegionChanges& For(RegionState* state) { return regions_[state]; }
  const std::map<RegionState*, RegionChanges>& regions() const { return regions_; }
  bool empty() const {
    for (const auto& [state, changes] : regions_) {
      if (!changes.empty()) return false;
    }
    return true;
  }
  void Clear() { regions_.clear(); }

 private:
  // Keyed by pointer: a batch touches few regions, and the order only needs
  // to be stable within one process (each region is persisted independently).
  std::map<RegionState*, RegionChanges> regions_;
};

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_CHANGE_SET_H_
