// The linking engine: applies inbox events to a region's state.
//
// For a patient record it keeps the newest version (by event_time), asks
// the Matcher for candidates through the blocking index, scores the record
// against every live member of each candidate patient, and decides:
//   - one patient at or above the upper threshold: link to it;
//   - several: open a review item (possible duplicate patients) and give
//     the record a patient of its own; never join one silently;
//   - best between the thresholds: open a review item, own patient;
//   - otherwise: a new patient.
// Safety rules, whatever the matcher's score: a pair with two different
// valid resident ids never links (twins); a placeholder name (无名氏, 王之
// 子, ...) links only through a matching resident id; patients a steward
// marked as different people are never linked; manual links are pinned.
//
// Decisions depend only on the inputs and their order (time comes from the
// inbox message, never the wall clock), so replaying the log rebuilds the
// identical index. The same engine runs in the streaming linker and in the
// batch `hisbridge link` command.
//
// Thread safety: a LinkEngine is immutable and may be shared; each
// RegionState must be used by one thread at a time.
#ifndef HISBRIDGE_LIBS_LINKER_LINK_ENGINE_H_
#define HISBRIDGE_LIBS_LINKER_LINK_ENGINE_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "hisbridge/v1/events.pb.h"
#include "libs/linker/change_set.h"
#include "libs/linker/region_state.h"
#include "libs/match/matcher.h"
#include "libs/records/facility_directory.h"

namespace hisbridge::linker {

// Where an input sits in the inbox log.
struct InputPosition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  // The inbox message's timestamp: the engine's only notion of "now".
  absl::Time time;
};

struct EngineOptions {
  // Blocking keys shared by more records than this are skipped when
  // searching (a key like "name+year" for 王伟 1980 would otherwise pull in
  // hundreds of strangers); the record is still indexed under them.
  size_t max_block_size = 200;
  // Keep change events, audit entries, review items, explanations and
  // clinical events. The batch `link` command, which only needs the
  // links, turns this off for speed.
  bool keep_history = true;
  // Keep each source record's full content in memory (the streaming linker
  // persists and publishes it), and each patient's member list as source
  // references in its StoredPatient. The batch commands keep only a
  // record's identity and prepared form, and members as handles
  // (PatientState::members), which halves the memory per record.
  bool keep_records = true;
  // Trust of each facility tier for survivorship (higher wins), indexed by
  // records::FacilityTier.
  std::array<int, 5> tier_trust = {4, 3, 2, 1, 0};
};

// A patient upsert prepared off the linking thread (LinkEngine::
// PrepareUpsert): its match form and its content fingerprint.
struct PreparedUpsert {
  match::MatchRecord match;
  uint64_t fingerprint = 0;
};

// Counters of what the engine decided, for summaries and metrics.
struct EngineCounters {
  int64_t records_applied = 0;
  int64_t stale_ignored = 0;
  int64_t new_patients = 0;
  int64_t auto_links = 0;
  int64_t review_items = 0;
  // Reviews opened because a record matched several patients strongly, and
  // links made to the clearly best of several.
  int64_t reviews_several_patients = 0;
  int64_t clear_best_links = 0;
  // Candidate patients held below the upper threshold because the record's
  // own facility has another record in them under a different name.
  int64_t facility_conflicts = 0;
  // Records moved out of a patient because a later record of their own
  // facility under a different name showed them to be another person.
  int64_t facility_evictions = 0;
  // Lone records re-evaluated because a new member of a patient bridged
  // them to it.
  int64_t bridged_relinks = 0;
  // Members of a patient re-evaluated because a record with their exact
  // name could not join it (another member's resident id differs).
  int64_t second_looks = 0;
  // Patients split because their members carried two consistently spelled
  // names (twins).
  int64_t spelling_splits = 0;
  int64_t relinks = 0;
  int64_t deletes = 0;
  int64_t facility_merges = 0;
  int64_t events_applied = 0;
  int64_t commands_applied = 0;
  int64_t commands_refused = 0;
  int64_t oversized_blocks_skipped = 0;
};

class LinkEngine {
 public:
  LinkEngine(const match::Matcher* matcher, const records::FacilityDirectory* facilities,
             EngineOptions options = {});

  // Applies one inbox event to `state` and records its effects in
  // `changes`. Bad inputs never fail the call (ingest validated them; what
  // remains is recorded in the audit trail); an error means the state is
  // inconsistent and the linker must stop.
  //
  // `prepared`, when given for a patient upsert, is the record already run
  // through PrepareUpsert (the batch linker prepares on other threads); it
  // is consumed.
  absl::Status Apply(const hisbridge::v1::InboxEvent& event, const InputPosition& position, RegionState* state,
                     RegionChanges* changes, EngineCounters* counters,
                     PreparedUpsert* prepared = nullptr) const;

  const match::Matcher& matcher() const { return *matcher_; }
  const EngineOptions& options() const { return options_; }

  // Prepares a patient record of `region` for matching, as Apply does.
  // Thread-safe.
  void PrepareRecord(const hisbridge::v1::Record& record, absl::CivilDay today, absl::string_view region,
                     match::MatchRecord* out) const;
  // PrepareRecord and RecordFingerprint together, for Apply. Thread-safe.
  void PrepareUpsert(const hisbridge::v1::Record& record, absl::CivilDay today, absl::string_view region,
                     PreparedUpsert* out) const;
  // The day (China Standard Time) of an event time, the "today" of
  // PrepareRecord.
  static absl::CivilDay RecordDay(int64_t event_micros);

  // A 64-bit fingerprint of a record's content: an identical re-send is
  // recognised without keeping or comparing the whole record.
  static uint64_t RecordFingerprint(const hisbridge::v1::Record& record);

  // Re-prepares a record loaded from storage (MatchRecords are not stored)
  // and enters it into the region's blocking index and term frequencies.
  // Returns true when its stored blocking tokens were out of date (written
  // by another version) and have been replaced: persist the record.
  bool PrepareLoadedRecord(RegionState* state, RecordHandle h) const;

 private:
  class Application;  // one Apply call's working state
  const match::Matcher* matcher_;
  const records::FacilityDirectory* facilities_;
  EngineOptions options_;
};

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_LINK_ENGINE_H_
