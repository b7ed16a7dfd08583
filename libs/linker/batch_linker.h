// Batch linking (`hisbridge link`): the same LinkEngine as the streaming
// linker, run in memory over JSON Lines files in file order, writing the
// link CSV of spec/county-records.md:
//
//   facility_id,record_id,patient_id
//
// one row per live patient source record. Lines that fail validation are
// reported through a callback with their line number and every error,
// never silently dropped. Clinical events do not affect linking and are
// counted only.
//
// With more than one thread, reading, JSON parsing, validation and the
// matcher's preparation (normalisation, blocking keys) run on worker
// threads, chunk by chunk, while the calling thread links the prepared
// records strictly in file order: the result is identical to a one-thread
// run.
//
// Thread safety: not thread-safe (the worker threads are internal).
#ifndef HISBRIDGE_LIBS_LINKER_BATCH_LINKER_H_
#define HISBRIDGE_LIBS_LINKER_BATCH_LINKER_H_

#include <cstdint>
#include <functional>
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/region_state.h"
#include "libs/records/facility_directory.h"

namespace hisbridge::linker {

struct BatchLinkStats {
  int64_t lines = 0;
  int64_t patient_records = 0;
  int64_t clinical_events = 0;
  int64_t rejected = 0;
  int64_t live_records = 0;
  int64_t patients = 0;
  int64_t review_items = 0;
  EngineCounters engine;
};

class BatchLinker {
 public:
  using RejectFn = std::function<void(int64_t line_number, absl::string_view line,
                                      const std::vector<hisbridge::v1::FieldIssue>& errors)>;
  // Called now and then with bytes read so far (for a progress bar).
  using ProgressFn = std::function<void(int64_t bytes_read)>;

  // `threads` counts the calling thread: 1 does everything on it.
  BatchLinker(const LinkEngine* engine, const records::FacilityDirectory* facilities, int threads = 1);

  absl::Status AddFile(const std::string& path, const RejectFn& on_reject, const ProgressFn& on_progress = nullptr);
  // Links one record (already validated or not; invalid ones are rejected).
  void AddRecord(const hisbridge::v1::Record& record, int64_t line_number, absl::string_view raw,
                 const RejectFn& on_reject);

  absl::Status WriteLinks(const std::string& path) const;
  // (facility_id, record_id, patient_id) of every live record, sorted.
  std::vector<std::array<std::string, 3>> Links() const;

  BatchLinkStats Stats() const;

  // The linked regions (for diagnostics and training).
  std::vector<const RegionState*> Regions() const;

 private:
  struct Prepared;
  struct Chunk;
  RegionState* RegionFor(const std::string& region);
  // Parses, validates and prepares the lines of a chunk (any thread).
  void PrepareChunk(Chunk* chunk) const;
  // Links a prepared record (the calling thread, in file order).
  void Apply(Prepared* item, const RejectFn& on_reject);

  const LinkEngine* engine_;
  const records::FacilityDirectory* facilities_;
  std::map<std::string, std::unique_ptr<RegionState>> regions_;
  ChangeSet changes_;
  BatchLinkStats stats_;
  int64_t sequence_ = 0;
  int threads_ = 1;
};

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_BATCH_LINKER_H_
