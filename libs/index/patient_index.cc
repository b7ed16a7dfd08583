#include "libs/index/patient_index.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hisbridge::index {
namespace {

using hisbridge::index::v1::OutboxEntry;
using hisbridge::index::v1::RegionMeta;
using hisbridge::index::v1::StoredLink;
using hisbridge::index::v1::StoredPatient;
using hisbridge::index::v1::StoredRecord;

const char* const kFamilies[] = {"records", "links", "patients", "blocking", "events",
                                 "review",  "audit", "offsets",  "outbox",   "meta"};

std::string EventKey(absl::string_view region, const hisbridge::v1::Record& e) {
  absl::string_view id = e.kind() == "encounter"     ? absl::string_view(e.encounter_id())
                         : e.kind() == "observation" ? absl::string_view(e.observation_id())
                                                     : absl::string_view(e.medication_id());
  return JoinKey({region, e.facility_id(), e.record_id(), e.kind(), id});
}

std::string OffsetKey(absl::string_view topic, int32_t partition) {
  return JoinKey({topic, EncodeUint64(static_cast<uint64_t>(partition))});
}

// Parses a stored value or reports which key is corrupt.
template <typename Message>
absl::Status ParseStored(absl::string_view family, absl::string_view key, absl::string_view value, Message* out) {
  if (!out->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    std::string printable(key);
    for (char& c : printable) {
      if (c == '\0') c = '/';
    }
    return absl::DataLossError(absl::StrCat("corrupt ", family, " entry at key ", printable));
  }
  return absl::OkStatus();
}

// Scans `prefix` of `family`, parsing each value as Message.
template <typename Message, typename Fn>
absl::Status ScanParsed(const KvStore& store, int family, absl::string_view family_name, absl::string_view prefix,
                        Fn&& fn) {
  absl::Status parse_status;
  Message message;
  absl::Status scan = store.Scan(family, prefix, [&](absl::string_view key, absl::string_view value) {
    parse_status = ParseStored(family_name, key, value, &message);
    if (!parse_status.ok()) return false;
    return fn(key, message);
  });
  if (!parse_status.ok()) return parse_status;
  return scan;
}

}  // namespace

IndexBatch::IndexBatch(const PatientIndex* index) : index_(index), batch_(index->store_->NewBatch()) {}

void IndexBatch::PutRecord(const StoredRecord& record) {
  record.SerializeToString(&scratch_);
  batch_.Put(index_->records_, JoinKey({record.region(), record.record().facility_id(), record.record().record_id()}),
             scratch_);
}

void IndexBatch::PutLink(absl::string_view region, absl::string_view facility_id, absl::string_view record_id,
                         const StoredLink& link) {
  link.SerializeToString(&scratch_);
  batch_.Put(index_->links_, JoinKey({region, facility_id, record_id}), scratch_);
}

void IndexBatch::DeleteLink(absl::string_view region, absl::string_view facility_id, absl::string_view record_id) {
  batch_.Delete(index_->links_, JoinKey({region, facility_id, record_id}));
}

void IndexBatch::PutPatient(const StoredPatient& patient) {
  patient.SerializeToString(&scratch_);
  batch_.Put(index_->patients_, JoinKey({patient.region(), patient.patient_id()}), scratch_);
}

namespace {
// Tokens are written as 16 hex digits: keys separate their parts with '\0',
// which a binary token could contain.
std::string TokenText(uint64_t token) { return absl::StrFormat("%016x", token); }
}  // namespace

void IndexBatch::PutBlockingToken(absl::string_view region, uint64_t token, absl::string_view facility_id,
                                  absl::string_view record_id) {
  batch_.Put(index_->blocking_, JoinKey({region, TokenText(token), facility_id, record_id}), "");
}

void IndexBatch::DeleteBlockingToken(absl::string_view region, uint64_t token, absl::string_view facility_id,
                                     absl::string_view record_id) {
  batch_.Delete(index_->blocking_, JoinKey({region, TokenText(token), facility_id, record_id}));
}

void IndexBatch::PutEvent(absl::string_view region, const hisbridge::v1::Record& event) {
  event.SerializeToString(&scratch_);
  batch_.Put(index_->events_, EventKey(region, event), scratch_);
}

void IndexBatch::DeleteEvent(absl::string_view region, const hisbridge::v1::Record& event) {
  batch_.Delete(index_->events_, EventKey(region, event));
}

void IndexBatch::PutReviewItem(const hisbridge::v1::ReviewItem& item) {
  item.SerializeToString(&scratch_);
  batch_.Put(index_->review_, JoinKey({item.region(), item.review_id()}), scratch_);
}

void IndexBatch::PutAudit(absl::string_view region, absl::string_view patient_id, uint64_t sequence,
                          const hisbridge::v1::HistoryEntry& entry) {
  entry.SerializeToString(&scratch_);
  batch_.Put(index_->audit_, JoinKey({region, patient_id, EncodeUint64(sequence)}), scratch_);
}

void IndexBatch::SetNextOffset(absl::string_view topic, int32_t partition, int64_t next_offset) {
  batch_.Put(index_->offsets_, OffsetKey(topic, partition), EncodeUint64(static_cast<uint64_t>(next_offset)));
}

void IndexBatch::PutOutbox(uint64_t sequence, const OutboxEntry& entry) {
  entry.SerializeToString(&scratch_);
  batch_.Put(index_->outbox_, EncodeUint64(sequence), scratch_);
}

void IndexBatch::DeleteOutbox(uint64_t sequence) { batch_.Delete(index_->outbox_, EncodeUint64(sequence)); }

void IndexBatch::PutRegionMeta(const RegionMeta& meta) {
  meta.SerializeToString(&scratch_);
  batch_.Put(index_->meta_, JoinKey({"region", meta.region()}), scratch_);
}

PatientIndex::PatientIndex(std::unique_ptr<KvStore> store) : store_(std::move(store)) {
  records_ = store_->Family("records");
  links_ = store_->Family("links");
  patients_ = store_->Family("patients");
  blocking_ = store_->Family("blocking");
  events_ = store_->Family("events");
  review_ = store_->Family("review");
  audit_ = store_->Family("audit");
  offsets_ = store_->Family("offsets");
  outbox_ = store_->Family("outbox");
  meta_ = store_->Family("meta");
}

absl::StatusOr<std::unique_ptr<PatientIndex>> PatientIndex::Open(const std::string& dir, KvStoreOptions options) {
  options.families.assign(std::begin(kFamilies), std::end(kFamilies));
  auto store = KvStore::Open(dir, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<PatientIndex>(new PatientIndex(std::move(*store)));
}

absl::Status PatientIndex::Commit(IndexBatch* batch) { return store_->Write(&batch->batch_); }

absl::StatusOr<std::optional<hisbridge::v1::Record>> PatientIndex::GetEvent(
    absl::string_view region, const hisbridge::v1::Record& event) const {
  const std::string key = EventKey(region, event);
  auto value = store_->Get(events_, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<hisbridge::v1::Record>();
  hisbridge::v1::Record stored;
  absl::Status s = ParseStored("events", key, **value, &stored);
  if (!s.ok()) return s;
  return std::optional<hisbridge::v1::Record>(std::move(stored));
}

absl::StatusOr<std::optional<int64_t>> PatientIndex::GetNextOffset(absl::string_view topic, int32_t partition) const {
  auto value = store_->Get(offsets_, OffsetKey(topic, partition));
  if (!value.ok()) return value.status();
  if (!value->has_value()) return std::optional<int64_t>();
  return std::optional<int64_t>(static_cast<int64_t>(DecodeUint64(**value)));
}

absl::StatusOr<std::map<int32_t, int64_t>> PatientIndex::NextOffsets(absl::string_view topic) const {
  std::map<int32_t, int64_t> offsets;
  const std::string prefix = JoinKey({topic, ""});
  absl::Status s = store_->Scan(offsets_, prefix, [&](absl::string_view key, absl::string_view value) {
    if (key.size() == prefix.size() + 8) {
      offsets[static_cast<int32_t>(DecodeUint64(key.substr(prefix.size())))] = static_cast<int64_t>(DecodeUint64(value));
    }
    return true;
  });
  if (!s.ok()) return s;
  return offsets;
}

absl::Status PatientIndex::ForEachRegion(const RegionFn& fn) const {
  return ScanParsed<RegionMeta>(*store_, meta_, "meta", JoinKey({"region", ""}),
                                [&](absl::string_view, const RegionMeta& m) { return fn(m); });
}

absl::Status PatientIndex::ForEachRecord(absl::string_view region, const RecordFn& fn) const {
  return ScanParsed<StoredRecord>(*store_, records_, "records", JoinKey({region, ""}),
                                  [&](absl::string_view, const StoredRecord& r) { return fn(r); });
}

absl::Status PatientIndex::ForEachLink(absl::string_view region, const LinkFn& fn) const {
  return ScanParsed<StoredLink>(*store_, links_, "links", JoinKey({region, ""}),
                                [&](absl::string_view key, const StoredLink& link) {
                                  auto parts = SplitKey(key);
                                  if (parts.size() != 3) return true;
                                  return fn(parts[1], parts[2], link);
                                });
}

absl::Status PatientIndex::ForEachPatient(absl::string_view region, const PatientFn& fn) const {
  return ScanParsed<StoredPatient>(*store_, patients_, "patients", JoinKey({region, ""}),
                                   [&](absl::string_view, const StoredPatient& p) { return fn(p); });
}

absl::Status PatientIndex::ForEachEvent(absl::string_view region, absl::string_view facility_id,
                                        absl::string_view record_id, const EventFn& fn) const {
  return ScanParsed<hisbridge::v1::Record>(*store_, events_, "events", JoinKey({region, facility_id, record_id, ""}),
                                           [&](absl::string_view, const hisbridge::v1::Record& e) { return fn(e); });
}

absl::Status PatientIndex::ForEachOutbox(const OutboxFn& fn) const {
  return ScanParsed<OutboxEntry>(*store_, outbox_, "outbox", "",
                                 [&](absl::string_view key, const OutboxEntry& e) { return fn(DecodeUint64(key), e); });
}

absl::Status PatientIndex::ForEachReviewItem(absl::string_view region, const ReviewFn& fn) const {
  return ScanParsed<hisbridge::v1::ReviewItem>(*store_, review_, "review", JoinKey({region, ""}),
                                               [&](absl::string_view, const hisbridge::v1::ReviewItem& i) { return fn(i); });
}

absl::Status PatientIndex::ForEachAudit(absl::string_view region, absl::string_view patient_id,
                                        const AuditFn& fn) const {
  return ScanParsed<hisbridge::v1::HistoryEntry>(
      *store_, audit_, "audit", JoinKey({region, patient_id, ""}),
      [&](absl::string_view key, const hisbridge::v1::HistoryEntry& e) {
        return fn(DecodeUint64(key.substr(key.size() - 8)), e);
      });
}

absl::Status PatientIndex::ForEachBlocked(
    absl::string_view region, uint64_t token,
    const std::function<bool(absl::string_view, absl::string_view)>& fn) const {
  return store_->Scan(blocking_, JoinKey({region, TokenText(token), ""}), [&](absl::string_view k, absl::string_view) {
    auto parts = SplitKey(k);
    if (parts.size() != 4) return true;
    return fn(parts[2], parts[3]);
  });
}

}  // namespace hisbridge::index
