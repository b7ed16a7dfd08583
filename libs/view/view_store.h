// The query role's own copy of the views topic, in RocksDB.
//
// Column families:
//   patients    patient_id                  -> hisbridge.v1.Patient
//   sources     facility_id, record_id      -> patient_id
//   offsets     views partition             -> next views offset
//   watermarks  inbox partition, views part -> next inbox offset covered
// A view replaces the stored one only when its version is higher, so
// duplicates and re-deliveries (after a linker crash) are harmless.
//
// Thread safety: safe for concurrent reads and one writer.
#ifndef HISBRIDGE_LIBS_VIEW_VIEW_STORE_H_
#define HISBRIDGE_LIBS_VIEW_VIEW_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/patient.pb.h"
#include "libs/index/kv_store.h"

namespace hisbridge::view {

// Watermarks as the store knows them: (inbox partition, views partition)
// -> next inbox offset covered.
using WatermarkMap = std::map<std::pair<int32_t, int32_t>, int64_t>;

class ViewStore {
 public:
  static absl::StatusOr<std::unique_ptr<ViewStore>> Open(const std::string& dir);

  // Reads.
  absl::StatusOr<std::optional<hisbridge::v1::Patient>> GetPatient(absl::string_view patient_id) const;
  absl::StatusOr<std::optional<std::string>> PatientIdOfSource(absl::string_view facility_id,
                                                              absl::string_view record_id) const;
  absl::Status ForEachPatient(const std::function<bool(const hisbridge::v1::Patient&)>& fn) const;
  absl::StatusOr<std::map<int32_t, int64_t>> LoadOffsets() const;
  absl::StatusOr<WatermarkMap> LoadWatermarks() const;

  // One consumed batch of the views topic, applied atomically.
  class Batch {
   public:
    // Returns false (and writes nothing) when the stored version is newer
    // or equal.
    absl::StatusOr<bool> PutPatient(const hisbridge::v1::Patient& patient);
    void SetWatermark(int32_t inbox_partition, int32_t views_partition, int64_t next_offset);
    void SetNextOffset(int32_t views_partition, int64_t next_offset);

   private:
    friend class ViewStore;
    explicit Batch(ViewStore* store);
    ViewStore* store_;
    index::WriteBatch batch_;
    // Patients and source mappings written earlier in this batch (their
    // stored copies are stale); "" marks a deleted mapping.
    std::map<std::string, hisbridge::v1::Patient> pending_;
    std::map<std::string, std::string> pending_sources_;
  };
  Batch NewBatch() { return Batch(this); }
  absl::Status Commit(Batch* batch);

  absl::Status Checkpoint(const std::string& dir) const { return store_->Checkpoint(dir); }
  index::KvStore::Stats GetStats() const { return store_->GetStats(); }

 private:
  explicit ViewStore(std::unique_ptr<index::KvStore> store);
  std::unique_ptr<index::KvStore> store_;
  int patients_, sources_, offsets_, watermarks_;
};

}  // namespace hisbridge::view

#endif  // HISBRIDGE_LIBS_VIEW_VIEW_STORE_H_
