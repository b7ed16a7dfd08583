#include "libs/view/view_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"
#include "libs/base/status_macros.h"
#include "libs/base/time_format.h"
#include "libs/view/patient_wire.h"
#include "libs/view/search_keys.h"

namespace hisbridge::view {

using index::DecodeUint64;
using index::EncodeUint64;
using index::JoinKey;

namespace {

// Where the search keys' derivation is recorded (the default family).
constexpr absl::string_view kSearchSchemaKey = "search_schema";
constexpr absl::string_view kSearchSchemaVersion = "search-v1";
// What the match family holds (the default family): "summary-v1" is the
// view without its events. Stores written before it hold stubs (no
// provenance, no link details) and are rewritten when opened.
constexpr absl::string_view kMatchSchemaKey = "match_schema";
constexpr absl::string_view kMatchSchemaVersion = "summary-v1";

// The part of a Patient the indexes are derived from (what a batch
// remembers of the patients it wrote).
hisbridge::v1::Patient StubOf(const hisbridge::v1::Patient& patient) {
  hisbridge::v1::Patient stub;
  stub.set_patient_id(patient.patient_id());
  stub.set_version(patient.version());
  stub.set_status(patient.status());
  stub.set_merged_into(patient.merged_into());
  stub.set_region(patient.region());
  for (const auto& s : patient.sources()) {
    auto* out = stub.add_sources();
    out->set_facility_id(s.facility_id());
    out->set_record_id(s.record_id());
    *out->mutable_demographics() = s.demographics();
    out->set_event_time(s.event_time());
  }
  return stub;
}

bool SameDemographics(const hisbridge::v1::Demographics& a, const hisbridge::v1::Demographics& b) {
  return a.name() == b.name() && a.sex() == b.sex() && a.birth_date() == b.birth_date() && a.id_type() == b.id_type() &&
         a.id_number() == b.id_number() && a.insurance_id() == b.insurance_id() &&
         a.health_card_id() == b.health_card_id() && a.phone() == b.phone() && a.address() == b.address() &&
         a.address_code() == b.address_code() && a.ethnicity() == b.ethnicity();
}

std::string ChangeKey(int32_t partition, int64_t offset) {
  return EncodeUint64(static_cast<uint64_t>(partition)) + EncodeUint64(static_cast<uint64_t>(offset));
}

std::string ChangeRangeKey(char kind, int32_t partition) {
  return std::string(1, kind) + EncodeUint64(static_cast<uint64_t>(partition));
}

}  // namespace

bool IsActive(hisbridge::v1::PatientStatus status) {
  return status != hisbridge::v1::PATIENT_STATUS_MERGED && status != hisbridge::v1::PATIENT_STATUS_RETIRED;
}

ViewStore::ViewStore(std::unique_ptr<index::KvStore> store, ViewStoreOptions options)
    : store_(std::move(store)), options_(std::move(options)) {
  patients_ = store_->Family("patients");
  match_ = store_->Family("match");
  sources_ = store_->Family("sources");
  search_ = store_->Family("search");
  reviews_ = store_->Family("reviews");
  review_order_ = store_->Family("review_order");
  commands_ = store_->Family("commands");
  changes_ = store_->Family("changes");
  offsets_ = store_->Family("offsets");
  change_offsets_ = store_->Family("change_offsets");
  watermarks_ = store_->Family("watermarks");
  match_index_ = std::make_unique<MatchIndex>(options_.matcher);
}

absl::StatusOr<std::unique_ptr<ViewStore>> ViewStore::Open(const std::string& dir, ViewStoreOptions options) {
  if (options.matcher == nullptr) return absl::InvalidArgumentError("ViewStore needs a matcher");
  index::KvStoreOptions kv = options.kv;
  kv.families = {"patients", "match",    "sources", "search",         "reviews",   "review_order",
                 "commands", "changes",  "offsets", "change_offsets", "watermarks"};
  // Queries read on threads that must not wait for the disk (ReadTier
  // kMemoryOnly): let them use what the page cache holds too.
  kv.no_wait_reads = true;
  HB_ASSIGN_OR_RETURN(auto store, index::KvStore::Open(dir, kv));
  std::unique_ptr<ViewStore> view(new ViewStore(std::move(store), std::move(options)));
  HB_RETURN_IF_ERROR(view->LoadIndexes());
  if (view->options_.warm_cache) HB_RETURN_IF_ERROR(view->WarmCache());
  return view;
}

absl::Status ViewStore::WarmCache() {
  const absl::Time started = absl::Now();
  // Loading the indexes read the match family (what Match and
  // SearchPatients read); the rest of the cache goes to what the point
  // reads need, source records first (small, and every LookupBySource
  // reads one). Ten per cent stays free for index and filter blocks of
  // files not read yet and for what traffic brings in.
  const size_t capacity = store_->BlockCacheCapacity();
  const size_t fill_to = capacity / 10 * 9;
  const size_t before = store_->BlockCacheUsage();
  HB_ASSIGN_OR_RETURN(index::KvStore::WarmStats stats, store_->WarmCache({sources_, patients_}, fill_to));
  log::Info("query store: block cache warmed",
            {{"entries_read", stats.entries},
             {"mib_read", stats.bytes >> 20},
             {"cache_mib_before", static_cast<int64_t>(before >> 20)},
             {"cache_mib", static_cast<int64_t>(store_->BlockCacheUsage() >> 20)},
             {"capacity_mib", static_cast<int64_t>(capacity >> 20)},
             {"filled", stats.filled},
             {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
  return absl::OkStatus();
}

PreparedPatient ViewStore::Prepare(const hisbridge::v1::Patient& patient, const hisbridge::v1::Patient* previous_stub,
                                   const PreparedPatient* previous) const {
  PreparedPatient prepared;
  prepared.patient_id = patient.patient_id();
  prepared.region = patient.region();
  prepared.sources.resize(static_cast<size_t>(patient.sources_size()));
  const bool reuse = previous_stub != nullptr && previous != nullptr && previous->region == patient.region();
  for (int i = 0; i < patient.sources_size(); ++i) {
    const hisbridge::v1::SourceIdentity& source = patient.sources(i);
    PreparedSource& out = prepared.sources[static_cast<size_t>(i)];
    // Most new versions only add clinical events: their sources are the
    // ones already prepared.
    const PreparedSource* unchanged = nullptr;
    if (reuse) {
      for (const auto& old : previous_stub->sources()) {
        if (old.facility_id() != source.facility_id() || old.record_id() != source.record_id()) continue;
        if (old.event_time() == source.event_time() && SameDemographics(old.demographics(), source.demographics())) {
          for (const PreparedSource& p : previous->sources) {
            if (p.facility_id == source.facility_id() && p.record_id == source.record_id()) unchanged = &p;
          }
        }
        break;
      }
    }
    if (unchanged != nullptr) {
      out = *unchanged;
    } else {
      PrepareSource(*options_.matcher, source, patient.region(), &out);
    }
  }
  return prepared;
}

absl::Status ViewStore::RewriteSummaries() {
  HB_ASSIGN_OR_RETURN(std::optional<std::string> stored_schema, store_->Get(0, kMatchSchemaKey));
  if (stored_schema.value_or("") == kMatchSchemaVersion) return absl::OkStatus();
  const absl::Time started = absl::Now();
  index::WriteBatch batch = store_->NewBatch();
  absl::Status failed;
  int64_t rewritten = 0;
  HB_RETURN_IF_ERROR(store_->Scan(patients_, "", [&](absl::string_view key, absl::string_view value) {
    auto summary = StripPatientEvents(value);
    if (!summary.ok()) {
      failed = absl::DataLossError(absl::StrCat("corrupt view of patient ", key));
      return false;
    }
    batch.Put(match_, key, *summary);
    ++rewritten;
    if (batch.ByteSize() >= (16 << 20)) {
      failed = store_->Write(&batch);
      batch = store_->NewBatch();
    }
    return failed.ok();
  }));
  HB_RETURN_IF_ERROR(failed);
  batch.Put(0, kMatchSchemaKey, kMatchSchemaVersion);
  HB_RETURN_IF_ERROR(store_->Write(&batch));
  if (rewritten > 0) {
    log::Info("query store: patient summaries rewritten",
              {{"patients", rewritten}, {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
  }
  return absl::OkStatus();
}

absl::Status ViewStore::LoadIndexes() {
  HB_RETURN_IF_ERROR(RewriteSummaries());
  const absl::Time started = absl::Now();
  // The match index: every active patient's sources, prepared again (the
  // prepared form is not stored; a new matcher version re-derives it).
  std::map<std::string, std::optional<PreparedPatient>> prepared;
  hisbridge::v1::Patient stub;
  absl::Status parse;
  size_t loaded = 0;
  HB_RETURN_IF_ERROR(store_->Scan(match_, "", [&](absl::string_view key, absl::string_view value) {
    if (!stub.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      parse = absl::DataLossError(absl::StrCat("corrupt match entry of patient ", key));
      return false;
    }
    if (!IsActive(stub.status()) || stub.sources_size() == 0) return true;
    prepared[stub.patient_id()] = Prepare(stub);
    if (prepared.size() >= 4096) {
      loaded += prepared.size();
      match_index_->Apply(std::move(prepared));
      prepared.clear();
    }
    return true;
  }));
  HB_RETURN_IF_ERROR(parse);
  loaded += prepared.size();
  match_index_->Apply(std::move(prepared));

  // Search keys derived by another matcher version or key scheme are
  // rebuilt from the match index.
  const std::string schema = absl::StrCat(kSearchSchemaVersion, "/", options_.matcher->version());
  HB_ASSIGN_OR_RETURN(std::optional<std::string> stored_schema, store_->Get(0, kSearchSchemaKey));
  if (stored_schema.value_or("") != schema) {
    size_t removed = 0, written = 0;
    index::WriteBatch batch = store_->NewBatch();
    HB_RETURN_IF_ERROR(store_->Scan(search_, "", [&](absl::string_view key, absl::string_view) {
      batch.Delete(search_, key);
      ++removed;
      return true;
    }));
    HB_RETURN_IF_ERROR(store_->Write(&batch));
    batch = store_->NewBatch();
    absl::Status write;
    HB_RETURN_IF_ERROR(store_->Scan(match_, "", [&](absl::string_view key, absl::string_view) {
      match_index_->ForPatient(std::string(key), [&](const PreparedPatient& p) {
        for (const std::string& k : SearchKeysOf(p)) {
          batch.Put(search_, k, "");
          ++written;
        }
      });
      if (batch.Count() >= 65536) {
        write = store_->Write(&batch);
        batch = store_->NewBatch();
      }
      return write.ok();
    }));
    HB_RETURN_IF_ERROR(write);
    batch.Put(0, kSearchSchemaKey, schema);
    HB_RETURN_IF_ERROR(store_->Write(&batch));
    if (removed > 0 || written > 0) {
      log::Info("query store: search keys rebuilt", {{"schema", schema},
                                                     {"removed", static_cast<int64_t>(removed)},
                                                     {"written", static_cast<int64_t>(written)}});
    }
  }

  // Open review counts.
  hisbridge::v1::ReviewItem item;
  absl::MutexLock lock(&mu_);
  HB_RETURN_IF_ERROR(store_->Scan(reviews_, "", [&](absl::string_view, absl::string_view value) {
    if (item.ParseFromArray(value.data(), static_cast<int>(value.size())) &&
        item.status() == hisbridge::v1::REVIEW_STATUS_OPEN) {
      ++open_reviews_[item.region()];
      ++open_reviews_total_;
    }
    return true;
  }));
  // Changes ranges.
  HB_RETURN_IF_ERROR(store_->Scan(change_offsets_, "", [&](absl::string_view key, absl::string_view value) {
    if (key.size() != 9) return true;
    ChangeRange& range = change_ranges_[static_cast<int32_t>(DecodeUint64(key.substr(1)))];
    (key[0] == 'f' ? range.first : range.next) = static_cast<int64_t>(DecodeUint64(value));
    return true;
  }));
  log::Info("query store opened", {{"active_patients", static_cast<int64_t>(loaded)},
                                   {"sources", static_cast<int64_t>(match_index_->source_count())},
                                   {"open_reviews", open_reviews_total_},
                                   {"ms", absl::ToInt64Milliseconds(absl::Now() - started)}});
  return absl::OkStatus();
}

// --- reads ---

absl::StatusOr<std::optional<std::string>> ViewStore::GetPatientBytes(absl::string_view patient_id,
                                                                     index::ReadTier tier) const {
  return store_->Get(patients_, patient_id, tier);
}

absl::StatusOr<std::optional<std::string>> ViewStore::GetPatientSummaryBytes(absl::string_view patient_id,
                                                                            index::ReadTier tier) const {
  return store_->Get(match_, patient_id, tier);
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
                                                                       absl::string_view record_id,
                                                                       index::ReadTier tier) const {
  return store_->Get(sources_, JoinKey({facility_id, record_id}), tier);
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

absl::Status ViewStore::ScanSearch(
    absl::string_view prefix, absl::string_view start_after,
    const std::function<bool(absl::string_view key, absl::string_view patient_id)>& fn,
    index::ReadTier tier) const {
  std::string start(prefix);
  if (!start_after.empty()) {
    // The smallest key after start_after.
    start.assign(start_after.data(), start_after.size());
    start.push_back('\0');
  }
  return store_->ScanFrom(
      search_, prefix, start,
      [&](absl::string_view key, absl::string_view) {
        if (key == start_after) return true;
        const size_t sep = key.rfind('\0');
        return fn(key, sep == absl::string_view::npos ? key : key.substr(sep + 1));
      },
      tier);
}

absl::StatusOr<std::optional<hisbridge::v1::ReviewItem>> ViewStore::GetReviewItem(absl::string_view review_id) const {
  HB_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(reviews_, review_id));
  if (!value.has_value()) return std::optional<hisbridge::v1::ReviewItem>();
  hisbridge::v1::ReviewItem item;
  if (!item.ParseFromString(*value)) return absl::DataLossError(absl::StrCat("corrupt review item ", review_id));
  return std::optional<hisbridge::v1::ReviewItem>(std::move(item));
}

std::string ViewStore::ReviewOrderKey(const hisbridge::v1::ReviewItem& item) {
  auto created = ParseRfc3339(item.created_at());
  const int64_t micros = created.ok() ? std::max<int64_t>(0, absl::ToUnixMicros(*created)) : 0;
  return EncodeUint64(static_cast<uint64_t>(micros)) + item.review_id();
}

absl::Status ViewStore::ScanReviewItems(
    absl::string_view start_after,
    const std::function<bool(absl::string_view order_key, const hisbridge::v1::ReviewItem&)>& fn) const {
  absl::Status inner;
  std::string start(start_after);
  if (!start.empty()) start.push_back('\0');
  HB_RETURN_IF_ERROR(store_->ScanFrom(review_order_, "", start, [&](absl::string_view key, absl::string_view) {
    if (key == start_after || key.size() < 8) return true;
    auto item = GetReviewItem(key.substr(8));
    if (!item.ok()) {
      inner = item.status();
      return false;
    }
    if (!item->has_value()) return true;  // dangling order key; the item is written in the same batch
    return fn(key, **item);
  }));
  return inner;
}

int64_t ViewStore::OpenReviewCount(absl::string_view region) const {
  absl::MutexLock lock(&mu_);
  if (region.empty()) return open_reviews_total_;
  auto it = open_reviews_.find(region);
  return it == open_reviews_.end() ? 0 : it->second;
}

absl::StatusOr<std::optional<hisbridge::v1::CommandResult>> ViewStore::GetCommandResult(
    absl::string_view command_id) const {
  HB_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(commands_, command_id));
  if (!value.has_value()) return std::optional<hisbridge::v1::CommandResult>();
  hisbridge::v1::CommandResult result;
  if (!result.ParseFromString(*value)) return absl::DataLossError(absl::StrCat("corrupt command result ", command_id));
  return std::optional<hisbridge::v1::CommandResult>(std::move(result));
}

absl::Status ViewStore::ScanChanges(int32_t partition, int64_t from,
                                    const std::function<bool(int64_t offset, absl::string_view value)>& fn,
                                    index::ReadTier tier) const {
  const std::string prefix = EncodeUint64(static_cast<uint64_t>(partition));
  return store_->ScanFrom(
      changes_, prefix, ChangeKey(partition, std::max<int64_t>(0, from)),
      [&](absl::string_view key, absl::string_view value) {
        return fn(static_cast<int64_t>(DecodeUint64(key.substr(8))), value);
      },
      tier);
}

std::map<int32_t, ChangeRange> ViewStore::ChangeRanges() const {
  absl::MutexLock lock(&mu_);
  return change_ranges_;
}

absl::StatusOr<std::map<int32_t, int64_t>> ViewStore::LoadOffsets() const {
  std::map<int32_t, int64_t> out;
  HB_RETURN_IF_ERROR(store_->Scan(offsets_, "", [&](absl::string_view key, absl::string_view value) {
    out[static_cast<int32_t>(DecodeUint64(key))] = static_cast<int64_t>(DecodeUint64(value));
    return true;
  }));
  return out;
}

absl::StatusOr<std::map<int32_t, int64_t>> ViewStore::LoadChangeOffsets() const {
  std::map<int32_t, int64_t> out;
  for (const auto& [partition, range] : ChangeRanges()) out[partition] = range.next;
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

// --- writes ---

ViewStore::Batch::Batch(ViewStore* store) : store_(store), batch_(store->store_->NewBatch()) {}

absl::StatusOr<std::optional<hisbridge::v1::Patient>> ViewStore::Batch::PreviousStub(const std::string& patient_id) {
  auto pending = pending_stubs_.find(patient_id);
  if (pending != pending_stubs_.end()) return std::optional<hisbridge::v1::Patient>(pending->second);
  HB_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->store_->Get(store_->match_, patient_id));
  if (value.has_value()) {
    hisbridge::v1::Patient stub;
    if (!stub.ParseFromString(*value)) return absl::DataLossError(absl::StrCat("corrupt match entry of ", patient_id));
    return std::optional<hisbridge::v1::Patient>(std::move(stub));
  }
  // A store written before the match family existed.
  HB_ASSIGN_OR_RETURN(std::optional<hisbridge::v1::Patient> full, store_->GetPatient(patient_id));
  if (!full.has_value()) return full;
  return std::optional<hisbridge::v1::Patient>(StubOf(*full));
}

absl::StatusOr<bool> ViewStore::Batch::PutPatient(const hisbridge::v1::Patient& patient) {
  const std::string& id = patient.patient_id();
  HB_ASSIGN_OR_RETURN(std::optional<hisbridge::v1::Patient> previous, PreviousStub(id));
  if (previous.has_value() && previous->version() >= patient.version()) return false;

  // Keep the source index in step: drop sources the patient no longer has.
  std::set<std::pair<std::string, std::string>> now;
  for (const auto& s : patient.sources()) now.emplace(s.facility_id(), s.record_id());
  if (previous.has_value()) {
    for (const auto& s : previous->sources()) {
      if (now.count({s.facility_id(), s.record_id()})) continue;
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
      if (current == id) {
        batch_.Delete(store_->sources_, key);
        pending_sources_[key] = "";
      }
    }
  }
  for (const auto& [facility, record] : now) {
    const std::string key = JoinKey({facility, record});
    batch_.Put(store_->sources_, key, id);
    pending_sources_[key] = id;
  }

  // Search keys and the match index follow the active patients.
  std::optional<PreparedPatient> current;
  auto pending = pending_prepared_.find(id);
  if (pending != pending_prepared_.end()) {
    current = pending->second;
  } else {
    store_->match_index_->ForPatient(id, [&](const PreparedPatient& p) { current = p; });
  }
  const std::set<std::string> old_keys = current.has_value() ? SearchKeysOf(*current) : std::set<std::string>();
  std::optional<PreparedPatient> prepared;
  if (IsActive(patient.status()) && patient.sources_size() > 0) {
    prepared = store_->Prepare(patient, previous.has_value() ? &*previous : nullptr,
                               current.has_value() ? &*current : nullptr);
  }
  const std::set<std::string> new_keys = prepared.has_value() ? SearchKeysOf(*prepared) : std::set<std::string>();
  for (const std::string& k : old_keys) {
    if (!new_keys.count(k)) batch_.Delete(store_->search_, k);
  }
  for (const std::string& k : new_keys) {
    if (!old_keys.count(k)) batch_.Put(store_->search_, k, "");
  }
  pending_prepared_[id] = std::move(prepared);

  const std::string serialized = patient.SerializeAsString();
  HB_ASSIGN_OR_RETURN(std::string summary, StripPatientEvents(serialized));
  batch_.Put(store_->match_, id, summary);
  batch_.Put(store_->patients_, id, serialized);
  pending_stubs_[id] = StubOf(patient);
  return true;
}

absl::Status ViewStore::Batch::PutReviewItem(const hisbridge::v1::ReviewItem& item) {
  if (item.review_id().empty()) return absl::OkStatus();
  std::optional<hisbridge::v1::ReviewItem> previous;
  auto pending = pending_reviews_.find(item.review_id());
  if (pending != pending_reviews_.end()) {
    previous = pending->second;
  } else {
    HB_ASSIGN_OR_RETURN(previous, store_->GetReviewItem(item.review_id()));
  }
  // The linker's resolution carries the decision, not the whole item
  // again: keep what the open item said (demographics, scores,
  // explanations) for the record of what was decided.
  hisbridge::v1::ReviewItem merged = item;
  if (previous.has_value() && item.status() == hisbridge::v1::REVIEW_STATUS_RESOLVED &&
      previous->status() == hisbridge::v1::REVIEW_STATUS_OPEN) {
    merged = *previous;
    merged.set_status(item.status());
    merged.set_resolved_at(item.resolved_at());
    merged.set_resolved_by(item.resolved_by());
    merged.set_decision(item.decision());
    if (!item.patient_id().empty()) merged.set_patient_id(item.patient_id());
  }
  if (previous.has_value()) {
    const std::string old_key = ReviewOrderKey(*previous);
    if (old_key != ReviewOrderKey(merged)) batch_.Delete(store_->review_order_, old_key);
    if (previous->status() == hisbridge::v1::REVIEW_STATUS_OPEN) --pending_open_delta_[previous->region()];
  }
  if (merged.status() == hisbridge::v1::REVIEW_STATUS_OPEN) ++pending_open_delta_[merged.region()];
  batch_.Put(store_->reviews_, merged.review_id(), merged.SerializeAsString());
  batch_.Put(store_->review_order_, ReviewOrderKey(merged), "");
  pending_reviews_[merged.review_id()] = merged;
  return absl::OkStatus();
}

void ViewStore::Batch::PutCommandResult(const hisbridge::v1::CommandResult& result) {
  if (result.command_id().empty()) return;
  batch_.Put(store_->commands_, result.command_id(), result.SerializeAsString());
}

void ViewStore::Batch::PutChange(int32_t partition, int64_t offset, absl::string_view value) {
  auto it = pending_ranges_.find(partition);
  if (it == pending_ranges_.end()) {
    const auto ranges = store_->ChangeRanges();
    auto stored = ranges.find(partition);
    ChangeRange range;
    if (stored != ranges.end()) {
      range = stored->second;
    } else {
      range.first = offset;
      range.next = offset;
    }
    it = pending_ranges_.emplace(partition, range).first;
  }
  ChangeRange& range = it->second;
  if (range.next <= range.first) range.first = offset;  // empty so far: starts here
  batch_.Put(store_->changes_, ChangeKey(partition, offset), value);
  range.next = std::max(range.next, offset + 1);
  // Keep at most max_changes_per_partition offsets.
  const int64_t keep_from = range.next - store_->options_.max_changes_per_partition;
  for (; range.first < keep_from; ++range.first) batch_.Delete(store_->changes_, ChangeKey(partition, range.first));
}

void ViewStore::Batch::SetChangesNextOffset(int32_t changes_partition, int64_t next_offset) {
  auto it = pending_ranges_.find(changes_partition);
  if (it == pending_ranges_.end()) {
    const auto ranges = store_->ChangeRanges();
    auto stored = ranges.find(changes_partition);
    ChangeRange range;
    if (stored != ranges.end()) {
      range = stored->second;
    } else {
      range.first = next_offset;
      range.next = next_offset;
    }
    it = pending_ranges_.emplace(changes_partition, range).first;
  }
  if (it->second.next <= it->second.first) it->second.first = next_offset;
  it->second.next = std::max(it->second.next, next_offset);
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
  for (const auto& [partition, range] : batch->pending_ranges_) {
    batch->batch_.Put(change_offsets_, ChangeRangeKey('f', partition), EncodeUint64(static_cast<uint64_t>(range.first)));
    batch->batch_.Put(change_offsets_, ChangeRangeKey('n', partition), EncodeUint64(static_cast<uint64_t>(range.next)));
  }
  absl::Status s = store_->Write(&batch->batch_);
  if (s.ok()) {
    match_index_->Apply(std::move(batch->pending_prepared_));
    absl::MutexLock lock(&mu_);
    for (const auto& [region, delta] : batch->pending_open_delta_) {
      open_reviews_[region] += delta;
      open_reviews_total_ += delta;
    }
    for (const auto& [partition, range] : batch->pending_ranges_) change_ranges_[partition] = range;
  }
  // The batch is empty again, ready for the next one.
  batch->batch_.Clear();
  batch->pending_stubs_.clear();
  batch->pending_sources_.clear();
  batch->pending_prepared_.clear();
  batch->pending_reviews_.clear();
  batch->pending_ranges_.clear();
  batch->pending_open_delta_.clear();
  return s;
}

}  // namespace hisbridge::view
