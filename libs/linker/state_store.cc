#include "libs/linker/state_store.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "libs/base/time_format.h"
#include "libs/index/kv_store.h"

namespace hisbridge::linker {

using hisbridge::index::v1::OutboxEntry;
using hisbridge::index::v1::RegionMeta;
using hisbridge::index::v1::StoredLink;
using hisbridge::index::v1::StoredPatient;
using hisbridge::index::v1::StoredRecord;

StateStore::StateStore(index::PatientIndex* index, const LinkEngine* engine) : index_(index), engine_(engine) {}

absl::Status StateStore::LoadPartition(int32_t partition, std::map<std::string, std::unique_ptr<RegionState>>* regions,
                                       ChangeSet* repairs) {
  std::vector<RegionMeta> metas;
  absl::Status s = index_->ForEachRegion([&](const RegionMeta& meta) {
    if (meta.inbox_partition() == partition) metas.push_back(meta);
    return true;
  });
  if (!s.ok()) return s;
  for (const RegionMeta& meta : metas) {
    auto state = std::make_unique<RegionState>(meta.region(), partition);
    state->LoadMeta(meta);
    RegionChanges* region_repairs = repairs == nullptr ? nullptr : &repairs->For(state.get());
    s = index_->ForEachRecord(meta.region(), [&](const StoredRecord& stored) {
      bool created = false;
      const RecordHandle h =
          state->GetOrCreateHandle(stored.record().facility_id(), stored.record().record_id(), &created);
      RecordState& r = state->record(h);
      r.stored = stored;
      const std::vector<uint64_t> old(stored.blocking_tokens().begin(), stored.blocking_tokens().end());
      if (engine_->PrepareLoadedRecord(state.get(), h) && region_repairs != nullptr) {
        // Written by a version that blocked differently: bring the
        // persisted blocking index in line with memory at the next commit.
        const auto& now = r.match.blocking_tokens;
        for (uint64_t t : old) {
          if (std::find(now.begin(), now.end(), t) == now.end()) region_repairs->blocking_removed.emplace_back(t, h);
        }
        for (uint64_t t : now) {
          if (std::find(old.begin(), old.end(), t) == old.end()) region_repairs->blocking_added.emplace_back(t, h);
        }
        region_repairs->records.insert(h);
      }
      return true;
    });
    if (!s.ok()) return s;
    s = index_->ForEachLink(meta.region(), [&](absl::string_view facility, absl::string_view record,
                                               const StoredLink& link) {
      if (RecordHandle* h = state->FindHandle(facility, record)) state->record(*h).link = link;
      return true;
    });
    if (!s.ok()) return s;
    s = index_->ForEachPatient(meta.region(), [&](const StoredPatient& patient) {
      state->InsertPatient(patient);
      return true;
    });
    if (!s.ok()) return s;
    state->ResolvePatientIndices();
    (*regions)[meta.region()] = std::move(state);
  }
  return absl::OkStatus();
}

void StateStore::AddOutbox(OutboxEntry entry, index::IndexBatch* batch, std::vector<PendingOutbox>* outbox) {
  PendingOutbox pending;
  pending.sequence = next_outbox_sequence_++;
  pending.entry = std::move(entry);
  batch->PutOutbox(pending.sequence, pending.entry);
  outbox->push_back(std::move(pending));
}

absl::Status StateStore::LoadPendingOutbox(std::vector<PendingOutbox>* outbox) {
  uint64_t last = 0;
  bool any = false;
  absl::Status s = index_->ForEachOutbox([&](uint64_t sequence, const OutboxEntry& entry) {
    outbox->push_back({sequence, entry});
    last = sequence;
    any = true;
    return true;
  });
  if (!s.ok()) return s;
  next_outbox_sequence_ = any ? last + 1 : 0;
  outbox_sequence_known_ = true;
  return absl::OkStatus();
}

absl::Status StateStore::AddChanges(const ChangeSet& changes, index::IndexBatch* batch,
                                    std::vector<PendingOutbox>* outbox) {
  if (!outbox_sequence_known_) {
    std::vector<PendingOutbox> ignored;
    absl::Status s = LoadPendingOutbox(&ignored);
    if (!s.ok()) return s;
  }
  for (const auto& [state, region] : changes.regions()) {
    for (RecordHandle h : region.records) {
      RecordState& r = state->record(h);
      // The tokens live in the MatchRecord; the stored form carries them.
      r.stored.mutable_blocking_tokens()->Assign(r.match.blocking_tokens.begin(), r.match.blocking_tokens.end());
      batch->PutRecord(r.stored);
      r.stored.clear_blocking_tokens();
      if (r.patient_id().empty()) {
        batch->DeleteLink(state->region(), r.facility_id(), r.record_id());
      } else {
        batch->PutLink(state->region(), r.facility_id(), r.record_id(), r.link);
      }
    }
    for (const auto& [token, h] : region.blocking_removed) {
      batch->DeleteBlockingToken(state->region(), token, state->record(h).facility_id(), state->record(h).record_id());
    }
    for (const auto& [token, h] : region.blocking_added) {
      batch->PutBlockingToken(state->region(), token, state->record(h).facility_id(), state->record(h).record_id());
    }
    // Clinical events: the newest version of each event wins, whatever the
    // arrival order; compare against the stored one and earlier ones in
    // this batch.
    absl::flat_hash_map<std::string, absl::Time> batch_times;
    for (const hisbridge::v1::Record& event : region.events_put) {
      auto incoming = ParseRfc3339(event.event_time());
      const absl::Time incoming_time = incoming.ok() ? *incoming : absl::InfinitePast();
      const std::string key = index::JoinKey({event.facility_id(), event.record_id(), event.kind(),
                                              event.encounter_id(), event.observation_id(), event.medication_id()});
      auto in_batch = batch_times.find(key);
      if (in_batch != batch_times.end()) {
        if (incoming_time < in_batch->second) continue;
      } else {
        auto stored = index_->GetEvent(state->region(), event);
        if (!stored.ok()) return stored.status();
        if (stored->has_value()) {
          auto stored_time = ParseRfc3339((*stored)->event_time());
          if (stored_time.ok() && incoming_time < *stored_time) continue;
        }
      }
      batch_times[key] = incoming_time;
      batch->PutEvent(state->region(), event);
    }
    for (const hisbridge::v1::ReviewItem& item : region.review_items) {
      batch->PutReviewItem(item);
      OutboxEntry entry;
      *entry.mutable_review_item() = item;
      AddOutbox(std::move(entry), batch, outbox);
    }
    for (const RegionChanges::Audit& audit : region.audit) {
      batch->PutAudit(state->region(), audit.patient_id, audit.sequence, audit.entry);
    }
    for (const std::string& patient_id : region.patients) {
      const PatientState* patient = state->FindPatient(patient_id);
      if (patient == nullptr) {
        return absl::InternalError(absl::StrCat("changed patient ", patient_id, " is missing from region ",
                                                state->region()));
      }
      batch->PutPatient(patient->stored);
      OutboxEntry entry;
      entry.set_patient_id(patient_id);
      AddOutbox(std::move(entry), batch, outbox);
    }
    for (const hisbridge::v1::ChangeEvent& change : region.change_events) {
      OutboxEntry entry;
      *entry.mutable_change() = change;
      AddOutbox(std::move(entry), batch, outbox);
    }
    // After the views: a steward waiting for the result then sees them.
    for (const hisbridge::v1::CommandResult& result : region.command_results) {
      OutboxEntry entry;
      *entry.mutable_command_result() = result;
      AddOutbox(std::move(entry), batch, outbox);
    }
    if (region.meta) batch->PutRegionMeta(state->meta());
  }
  return absl::OkStatus();
}

}  // namespace hisbridge::linker
