#include "libs/view/view_store.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "libs/base/status_macros.h"

namespace hisbridge::view {

using index::DecodeUint64;
using index::EncodeUint64;
using index::JoinKey;

ViewStore::ViewStore(std::unique_ptr<index::KvStore> store) : store_(std::move(store)) {
  patients_ = store_->Family("patients");
  sources_ = store_->Family("sources");
  offsets_ = store_->Family("offsets");
  watermarks_ = store_->Family("watermarks");
}

absl::StatusOr<std::unique_ptr<ViewStore>> ViewStore::Open(const std::string& dir) {
  index::KvStoreOptions options;
  options.families = {"patients", "sources", "offsets", "watermarks"};
  HB_ASSIGN_OR_RETURN(auto store, index::KvStore::Open(dir, options));
  return std::unique_ptr<ViewStore>(new ViewStore(std::move(store)));
}

absl::StatusOr<std::optional<hisbridge::v1::Patient>> ViewStore::GetPatient(absl::string_view patient_id) const {
  HB_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(patients_, patient_id));
  if (!value.has_value()) return std::optional<hisbridge::v1::Patient>();
  hisbridge::v1::Patient patient;
  if (!patient.ParseFromString(*value)) {
    return absl::DataLossError(absl::StrCat("corrupt view of patient ", patient_id));
  }
  return std::optional<hisbridge::v1::Patient>(std::move(patient));
}

absl::StatusOr<std::optional<std::string>> ViewStore::PatientIdOfSource(absl::string_view facility_id,
                                                                       absl::string_view record_id) const {
  return store_->Get(sources_, JoinKey({facility_id, record_id}));
}

absl::Status ViewStore::ForEachPatient(const std::function<bool(const hisbridge::v1::Patient&)>& fn) const {
  hisbridge::v1::Patient patient;
  absl::Status parse;
  absl::Status scan = store_->Scan(patients_, "", [&](absl::string_view key, absl::string_view value) {
    if (!patient.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      parse = absl::DataLossError(absl::StrCat("corrupt view of patient ", key));
      return false;
    }
    return fn(patient);
  });
  return parse.ok() ? scan : parse;
}

absl::StatusOr<std::map<int32_t, int64_t>> ViewStore::LoadOffsets() const {
  std::map<int32_t, int64_t> out;
  HB_RETURN_IF_ERROR(store_->Scan(offsets_, "", [&](absl::string_view key, absl::string_view value) {
    out[static_cast<int32_t>(DecodeUint64(key))] = static_cast<int64_t>(DecodeUint64(value));
    return true;
  }));
  return out;
}

absl::StatusOr<WatermarkMap> ViewStore::LoadWatermarks() const {
  WatermarkMap out;
  HB_RETURN_IF_ERROR(store_->Scan(watermarks_, "", [&](absl::string_view key, absl::string_view value) {
    if (key.size() != 16) return true;
    out[{static_cast<int32_t>(DecodeUint64(key.substr(0, 8))), static_cast<int32_t>(DecodeUint64(key.substr(8)))}] =
        static_cast<int64_t>(DecodeUint64(value));
    return true;
  }));
  return out;
}

ViewStore::Batch::Batch(ViewStore* store) : store_(store), batch_(store->store_->NewBatch()) {}

absl::StatusOr<bool> ViewStore::Batch::PutPatient(const hisbridge::v1::Patient& patient) {
  std::optional<hisbridge::v1::Patient> previous;
  auto pending = pending_.find(patient.patient_id());
  if (pending != pending_.end()) {
    previous = pending->second;
  } else {
    HB_ASSIGN_OR_RETURN(previous, store_->GetPatient(patient.patient_id()));
  }
  if (previous.has_value() && previous->version() >= patient.version()) return false;
  // Keep the source index in step: drop sources the patient no longer has.
  std::set<std::pair<std::string, std::string>> now;
  for (const auto& s : patient.sources()) now.emplace(s.facility_id(), s.record_id());
  if (previous.has_value()) {
    for (const auto& s : previous->sources()) {
      if (!now.count({s.facility_id(), s.record_id()})) {
        // Only remove the mapping if it still points at this patient (the
        // record may already have moved to another patient's newer view).
        const std::string key = JoinKey({s.facility_id(), s.record_id()});
        std::string current;
        auto in_batch = pending_sources_.find(key);
        if (in_batch != pending_sources_.end()) {
          current = in_batch->second;
        } else {
          HB_ASSIGN_OR_RETURN(std::optional<std::string> stored, store_->store_->Get(store_->sources_, key));
          current = stored.value_or("");
        }
        if (current == patient.patient_id()) {
          batch_.Delete(store_->sources_, key);
          pending_sources_[key] = "";
        }
      }
    }
  }
  for (const auto& [facility, record] : now) {
    const std::string key = JoinKey({facility, record});
    batch_.Put(store_->sources_, key, patient.patient_id());
    pending_sources_[key] = patient.patient_id();
  }
  batch_.Put(store_->patients_, patient.patient_id(), patient.SerializeAsString());
  pending_[patient.patient_id()] = patient;
  return true;
}

void ViewStore::Batch::SetWatermark(int32_t inbox_partition, int32_t views_partition, int64_t next_offset) {
  batch_.Put(store_->watermarks_,
             EncodeUint64(static_cast<uint64_t>(inbox_partition)) + EncodeUint64(static_cast<uint64_t>(views_partition)),
             EncodeUint64(static_cast<uint64_t>(next_offset)));
}

void ViewStore::Batch::SetNextOffset(int32_t views_partition, int64_t next_offset) {
  batch_.Put(store_->offsets_, EncodeUint64(static_cast<uint64_t>(views_partition)),
             EncodeUint64(static_cast<uint64_t>(next_offset)));
}

absl::Status ViewStore::Commit(Batch* batch) {
  absl::Status s = store_->Write(&batch->batch_);
  batch->pending_.clear();
  batch->pending_sources_.clear();
  return s;
}

}  // namespace hisbridge::view
