// The query role's own copy of the views and changes topics, in RocksDB,
// with the indexes the query service reads.
//
// Column families:
//   patients        patient_id                  -> hisbridge.v1.Patient, as published
//   match           patient_id                  -> the Patient without its events (the
//                                                  summary): what Match, SearchPatients
//                                                  and omit_events answer with, and
//                                                  what the indexes are derived from
//   sources         facility_id, record_id      -> patient_id
//   search          search key (search_keys.h)  -> ""   (active patients only)
//   reviews         review_id                   -> hisbridge.v1.ReviewItem
//   review_order    created_at micros, review_id -> ""  (oldest first)
//   commands        command_id                  -> hisbridge.v1.CommandResult
//   changes         changes partition, offset   -> hisbridge.v1.ChangeEvent
//   offsets         views partition             -> next views offset
//   change_offsets  "n"|"f", changes partition  -> next / first changes offset kept
//   watermarks      inbox partition, views part -> next inbox offset covered
//
// A patient view replaces the stored one only when its version is higher,
// so duplicates and re-deliveries (after a linker crash) are harmless. A
// review item's newer state replaces the older one (all states of one item
// share its key, hence its partition and order). Changes older than
// max_changes_per_partition offsets behind the newest are trimmed.
//
// In memory, rebuilt when the store opens: the MatchIndex (every active
// patient's sources prepared by the matcher, blocking tokens, term
// frequencies), open review counts per region, and the changes ranges.
// When the matcher's version differs from the one the search keys were
// derived with, they are rebuilt at open; a store written before the match
// family held summaries has them rewritten from the views at open.
//
// Thread safety: safe for concurrent reads and one writer (one Batch at a
// time, committed by the thread that built it).
#ifndef HISBRIDGE_LIBS_VIEW_VIEW_STORE_H_
#define HISBRIDGE_LIBS_VIEW_VIEW_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/review.pb.h"
#include "hisbridge/v1/views.pb.h"
#include "libs/index/kv_store.h"
#include "libs/match/matcher.h"
#include "libs/view/match_index.h"

namespace hisbridge::view {

// Watermarks as the store knows them: (inbox partition, views partition)
// -> next inbox offset covered.
using WatermarkMap = std::map<std::pair<int32_t, int32_t>, int64_t>;

struct ViewStoreOptions {
  // Prepares source identities for Match and SearchPatients. Required; must
  // outlive the store.
  const match::Matcher* matcher = nullptr;
  // RocksDB settings (block cache, sync, encryption); `families` is set by
  // the store.
  index::KvStoreOptions kv;
  // Change events kept per changes partition.
  int64_t max_changes_per_partition = 1000000;
  // At open, after the indexes are loaded: read the source and patient
  // families into the block cache until it is 90 % full (WarmCache), so a
  // replica that starts (or restarts on a node whose page cache is cold)
  // serves GetPatient and LookupBySource from memory from its first call.
  // Costs the time of reading up to the cache's size sequentially.
  bool warm_cache = true;
};

// The changes a partition holds: offsets [first, next).
struct ChangeRange {
  int64_t first = 0;
  int64_t next = 0;
};

class ViewStore {
 public:
  static absl::StatusOr<std::unique_ptr<ViewStore>> Open(const std::string& dir, ViewStoreOptions options);

  // --- patients ---
  // The reads a query answers with take a ReadTier: with kMemoryOnly they
  // fail with index::NotInMemoryError instead of waiting for the disk (see
  // libs/index/kv_store.h), for threads that must not block.
  //
  // The stored view exactly as published (serialized).
  absl::StatusOr<std::optional<std::string>> GetPatientBytes(absl::string_view patient_id,
                                                             index::ReadTier tier = index::ReadTier::kAny) const;
  // The stored view without its events (serialized), written with the
  // view: a fraction of its size.
  absl::StatusOr<std::optional<std::string>> GetPatientSummaryBytes(
      absl::string_view patient_id, index::ReadTier tier = index::ReadTier::kAny) const;
  absl::StatusOr<std::optional<hisbridge::v1::Patient>> GetPatient(absl::string_view patient_id) const;
  absl::StatusOr<std::optional<std::string>> PatientIdOfSource(absl::string_view facility_id,
                                                              absl::string_view record_id,
                                                              index::ReadTier tier = index::ReadTier::kAny) const;
  absl::Status ForEachPatient(const std::function<bool(const hisbridge::v1::Patient&)>& fn) const;
  const MatchIndex& match_index() const { return *match_index_; }

  // Search keys starting with `prefix`, after `start_after` (exclusive;
  // empty for the first), in order: fn(key, patient_id) until it returns
  // false.
  absl::Status ScanSearch(absl::string_view prefix, absl::string_view start_after,
                          const std::function<bool(absl::string_view key, absl::string_view patient_id)>& fn,
                          index::ReadTier tier = index::ReadTier::kAny) const;

  // --- review queue ---
  absl::StatusOr<std::optional<hisbridge::v1::ReviewItem>> GetReviewItem(absl::string_view review_id) const;
  // Items oldest first (by created_at, then review id), after the order key
  // `start_after` (exclusive; empty for the first).
  absl::Status ScanReviewItems(
      absl::string_view start_after,
      const std::function<bool(absl::string_view order_key, const hisbridge::v1::ReviewItem&)>& fn) const;
  // Open items of a region ("" for every region).
  int64_t OpenReviewCount(absl::string_view region) const;
  // The order key of an item (what ScanReviewItems passes to fn).
  static std::string ReviewOrderKey(const hisbridge::v1::ReviewItem& item);

  // --- steward command results ---
  absl::StatusOr<std::optional<hisbridge::v1::CommandResult>> GetCommandResult(absl::string_view command_id) const;

  // --- change events ---
  // Changes of one partition from offset `from` on: fn(offset, serialized
  // ChangeEvent) until it returns false.
  absl::Status ScanChanges(int32_t partition, int64_t from,
                           const std::function<bool(int64_t offset, absl::string_view value)>& fn,
                           index::ReadTier tier = index::ReadTier::kAny) const;
  std::map<int32_t, ChangeRange> ChangeRanges() const;

  // --- consumption state ---
  absl::StatusOr<std::map<int32_t, int64_t>> LoadOffsets() const;
  absl::StatusOr<std::map<int32_t, int64_t>> LoadChangeOffsets() const;
  absl::StatusOr<WatermarkMap> LoadWatermarks() const;

  // One consumed batch of the views and changes topics, applied atomically.
  class Batch {
   public:
    // Returns false (and writes nothing) when the stored version is newer
    // or equal.
    absl::StatusOr<bool> PutPatient(const hisbridge::v1::Patient& patient);
    absl::Status PutReviewItem(const hisbridge::v1::ReviewItem& item);
    void PutCommandResult(const hisbridge::v1::CommandResult& result);
    // `value` is a serialized ChangeEvent.
    void PutChange(int32_t partition, int64_t offset, absl::string_view value);
    void SetWatermark(int32_t inbox_partition, int32_t views_partition, int64_t next_offset);
    void SetNextOffset(int32_t views_partition, int64_t next_offset);
    void SetChangesNextOffset(int32_t changes_partition, int64_t next_offset);

   private:
    friend class ViewStore;
    explicit Batch(ViewStore* store);
    absl::StatusOr<std::optional<hisbridge::v1::Patient>> PreviousStub(const std::string& patient_id);

    ViewStore* store_;
    index::WriteBatch batch_;
    // State written earlier in this batch (the stored copies are stale);
    // "" marks a deleted source mapping, nullopt a patient leaving the
    // match index.
    std::map<std::string, hisbridge::v1::Patient> pending_stubs_;
    std::map<std::string, std::string> pending_sources_;
    std::map<std::string, std::optional<PreparedPatient>> pending_prepared_;
    std::map<std::string, hisbridge::v1::ReviewItem> pending_reviews_;
    std::map<int32_t, ChangeRange> pending_ranges_;
    // Change of the open review count per region.
    std::map<std::string, int64_t> pending_open_delta_;
  };
  Batch NewBatch() { return Batch(this); }
  // Writes the batch, then updates the in-memory indexes: once Commit
  // returns, readers see everything the batch applied. The batch is then
  // empty and may be reused.
  absl::Status Commit(Batch* batch);

  absl::Status Checkpoint(const std::string& dir) const { return store_->Checkpoint(dir); }
  index::KvStore::Stats GetStats() const { return store_->GetStats(); }

 private:
  ViewStore(std::unique_ptr<index::KvStore> store, ViewStoreOptions options);
  absl::Status LoadIndexes();
  absl::Status WarmCache();
  absl::Status RewriteSummaries();
  // Prepares the patient's sources; those unchanged since `previous_stub`
  // (same facility, record, demographics and event time in the same
  // region) are copied from `previous` instead of being prepared again.
  PreparedPatient Prepare(const hisbridge::v1::Patient& patient, const hisbridge::v1::Patient* previous_stub = nullptr,
                          const PreparedPatient* previous = nullptr) const;

  std::unique_ptr<index::KvStore> store_;
  ViewStoreOptions options_;
  std::unique_ptr<MatchIndex> match_index_;
  int patients_, match_, sources_, search_, reviews_, review_order_, commands_, changes_, offsets_, change_offsets_,
      watermarks_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, int64_t> open_reviews_ ABSL_GUARDED_BY(mu_);
  int64_t open_reviews_total_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int32_t, ChangeRange> change_ranges_ ABSL_GUARDED_BY(mu_);
};

// Whether a patient status counts as active (indexed for Match and search).
bool IsActive(hisbridge::v1::PatientStatus status);

}  // namespace hisbridge::view

#endif  // HISBRIDGE_LIBS_VIEW_VIEW_STORE_H_
