// The linker's durable patient index in RocksDB.
//
// Column families and keys ('\0' separates parts; see docs/index-layout.md):
//   records   region, facility_id, record_id        -> StoredRecord
//   links     region, facility_id, record_id        -> StoredLink
//   patients  region, patient_id                    -> StoredPatient
//   blocking  region, token (16 hex), facility, record -> ""
//   events    region, facility, record, kind, id    -> hisbridge.v1.Record
//   review    region, review_id                     -> hisbridge.v1.ReviewItem
//   audit     region, patient_id, sequence          -> hisbridge.v1.HistoryEntry
//   offsets   topic, partition                      -> next offset (8 bytes)
//   outbox    sequence                              -> OutboxEntry
//   meta      "region", region                      -> RegionMeta
//
// The index is derived state: it is whatever the inbox log up to the stored
// offsets produced, and `hisbridge rebuild` can recreate it. Every logical
// change goes through one IndexBatch committed atomically, including the
// consumed offsets, so after a crash the index and its offsets agree.
//
// Thread safety: PatientIndex is safe for concurrent use; an IndexBatch is
// not.
#ifndef HISBRIDGE_LIBS_INDEX_PATIENT_INDEX_H_
#define HISBRIDGE_LIBS_INDEX_PATIENT_INDEX_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hisbridge/index/v1/index.pb.h"
#include "hisbridge/v1/admin.pb.h"
#include "hisbridge/v1/records.pb.h"
#include "hisbridge/v1/review.pb.h"
#include "libs/index/kv_store.h"

namespace hisbridge::index {

class PatientIndex;

// The writes of one logical change.
class IndexBatch {
 public:
  void PutRecord(const hisbridge::index::v1::StoredRecord& record);
  void PutLink(absl::string_view region, absl::string_view facility_id, absl::string_view record_id,
               const hisbridge::index::v1::StoredLink& link);
  void DeleteLink(absl::string_view region, absl::string_view facility_id, absl::string_view record_id);
  void PutPatient(const hisbridge::index::v1::StoredPatient& patient);
  void PutBlockingToken(absl::string_view region, uint64_t token, absl::string_view facility_id,
                        absl::string_view record_id);
  void DeleteBlockingToken(absl::string_view region, uint64_t token, absl::string_view facility_id,
                           absl::string_view record_id);
  void PutEvent(absl::string_view region, const hisbridge::v1::Record& event);
  void DeleteEvent(absl::string_view region, const hisbridge::v1::Record& event);
  void PutReviewItem(const hisbridge::v1::ReviewItem& item);
  void PutAudit(absl::string_view region, absl::string_view patient_id, uint64_t sequence,
                const hisbridge::v1::HistoryEntry& entry);
  void SetNextOffset(absl::string_view topic, int32_t partition, int64_t next_offset);
  void PutOutbox(uint64_t sequence, const hisbridge::index::v1::OutboxEntry& entry);
  void DeleteOutbox(uint64_t sequence);
  void PutRegionMeta(const hisbridge::index::v1::RegionMeta& meta);

  size_t Count() const { return batch_.Count(); }

 private:
  friend class PatientIndex;
  explicit IndexBatch(const PatientIndex* index);
  const PatientIndex* index_;
  WriteBatch batch_;
  std::string scratch_;
};

class PatientIndex {
 public:
  static absl::StatusOr<std::unique_ptr<PatientIndex>> Open(const std::string& dir, KvStoreOptions options = {});

  IndexBatch NewBatch() const { return IndexBatch(this); }
  // Applies every write of `batch` atomically. On error nothing was applied.
  absl::Status Commit(IndexBatch* batch);

  // The stored version of a clinical event with the same identity
  // (facility, record, kind, event id) as `event`, if any.
  absl::StatusOr<std::optional<hisbridge::v1::Record>> GetEvent(absl::string_view region,
                                                               const hisbridge::v1::Record& event) const;

  // The next inbox offset to consume for a partition, if any was stored.
  absl::StatusOr<std::optional<int64_t>> GetNextOffset(absl::string_view topic, int32_t partition) const;
  // Every stored partition of `topic` with its next offset.
  absl::StatusOr<std::map<int32_t, int64_t>> NextOffsets(absl::string_view topic) const;

  using RecordFn = std::function<bool(const hisbridge::index::v1::StoredRecord&)>;
  using LinkFn = std::function<bool(absl::string_view facility_id, absl::string_view record_id,
                                    const hisbridge::index::v1::StoredLink&)>;
  using PatientFn = std::function<bool(const hisbridge::index::v1::StoredPatient&)>;
  using EventFn = std::function<bool(const hisbridge::v1::Record&)>;
  using OutboxFn = std::function<bool(uint64_t sequence, const hisbridge::index::v1::OutboxEntry&)>;
  using RegionFn = std::function<bool(const hisbridge::index::v1::RegionMeta&)>;
  using ReviewFn = std::function<bool(const hisbridge::v1::ReviewItem&)>;
  using AuditFn = std::function<bool(uint64_t sequence, const hisbridge::v1::HistoryEntry&)>;

  absl::Status ForEachRegion(const RegionFn& fn) const;
  absl::Status ForEachRecord(absl::string_view region, const RecordFn& fn) const;
  absl::Status ForEachLink(absl::string_view region, const LinkFn& fn) const;
  absl::Status ForEachPatient(absl::string_view region, const PatientFn& fn) const;
  // Clinical events of one source record.
  absl::Status ForEachEvent(absl::string_view region, absl::string_view facility_id, absl::string_view record_id,
                            const EventFn& fn) const;
  absl::Status ForEachOutbox(const OutboxFn& fn) const;
  absl::Status ForEachReviewItem(absl::string_view region, const ReviewFn& fn) const;
  absl::Status ForEachAudit(absl::string_view region, absl::string_view patient_id, const AuditFn& fn) const;

  // Source records indexed under a blocking token, as (facility, record).
  absl::Status ForEachBlocked(absl::string_view region, uint64_t token,
                              const std::function<bool(absl::string_view facility_id,
                                                       absl::string_view record_id)>& fn) const;

  absl::Status Checkpoint(const std::string& dir) const { return store_->Checkpoint(dir); }
  // Opened as a secondary (KvStoreOptions::secondary_path): reads what the
  // primary committed since the open or the last call.
  absl::Status CatchUpWithPrimary() { return store_->CatchUpWithPrimary(); }
  KvStore::Stats GetStats() const { return store_->GetStats(); }
  const std::string& path() const { return store_->path(); }

 private:
  friend class IndexBatch;
  explicit PatientIndex(std::unique_ptr<KvStore> store);

  std::unique_ptr<KvStore> store_;
  int records_, links_, patients_, blocking_, events_, review_, audit_, offsets_, outbox_, meta_;
};

}  // namespace hisbridge::index

#endif  // HISBRIDGE_LIBS_INDEX_PATIENT_INDEX_H_
