// The in-memory state of one region (county): its source records, unified
// patients and blocking index.
//
// The linker keeps each region it owns in memory so that linking a record
// costs hash lookups, not disk reads; RocksDB (libs/index) holds the same
// state durably and StateStore moves it between the two. Records get a
// dense handle (RecordHandle) so the blocking index stores 4-byte handles
// instead of string pairs.
//
// Thread safety: none. A region is only ever touched by the one linker
// thread that owns its inbox partition.
#ifndef HISBRIDGE_LIBS_LINKER_REGION_STATE_H_
#define HISBRIDGE_LIBS_LINKER_REGION_STATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "hisbridge/index/v1/index.pb.h"
#include "libs/match/match_record.h"
#include "libs/match/term_frequencies.h"

namespace hisbridge::linker {

using RecordHandle = uint32_t;
using BlockList = absl::InlinedVector<RecordHandle, 2>;
// Dense index of a unified patient within its region, in creation order.
using PatientIndex = uint32_t;
inline constexpr PatientIndex kNoPatient = 0xFFFFFFFF;

// An append-only array whose elements never move: blocks of kBlock
// elements. Unlike std::deque (one element per block for types as large as
// RecordState), finding an element reads a block table small enough to stay
// in cache, which matters when linking touches records at random.
template <typename T, size_t kBlockBits = 10>
class StableArray {
 public:
  static constexpr size_t kBlock = size_t{1} << kBlockBits;

  size_t size() const { return size_; }
  T& operator[](size_t i) { return blocks_[i >> kBlockBits][i & (kBlock - 1)]; }
  const T& operator[](size_t i) const { return blocks_[i >> kBlockBits][i & (kBlock - 1)]; }
  T& emplace_back() {
    if ((size_ & (kBlock - 1)) == 0) blocks_.push_back(std::make_unique<T[]>(kBlock));
    return (*this)[size_++];
  }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  size_t size_ = 0;
};

// (facility_id, record_id): a source record's identity.
using SourceKey = std::pair<std::string, std::string>;

struct RecordState {
  // The record's identity, owned by the region's handle index (stable for
  // the region's lifetime).
  const SourceKey* source = nullptr;
  // What the facility sent (latest version), deletion tombstone, blocking
  // keys; persisted in the "records" family. In a region whose records do
  // not carry their identity (batch linking), stored.record() stays empty.
  hisbridge::index::v1::StoredRecord stored;
  // Which patient it belongs to and why; persisted in "links".
  hisbridge::index::v1::StoredLink link;
  // Prepared for matching (not persisted: recomputed on load). Counted in
  // the region's term frequencies while `counted`.
  match::MatchRecord match;
  bool counted = false;
  // LinkEngine::RecordFingerprint of the stored record's content.
  uint64_t content_hash = 0;

  const std::string& facility_id() const { return source->first; }
  const std::string& record_id() const { return source->second; }
  bool live() const { return !stored.deleted(); }
  const std::string& patient_id() const { return link.patient_id(); }
};

// Most patients have one to three records: inline, next to the index, so
// candidate search reaches them without another cache miss.
using MemberList = absl::InlinedVector<RecordHandle, 3>;

struct PatientState {
  PatientIndex index = kNoPatient;
  // Live member records (mirrors stored.members() when the engine keeps
  // records).
  MemberList members;
  hisbridge::index::v1::StoredPatient stored;
};

class RegionState {
 public:
  // `records_carry_identity`: every record's `stored` also holds its region
  // and (facility_id, record_id), as persisted. Off for the batch linker,
  // which persists nothing: then a record's identity is held only once, in
  // the handle index, which saves ~0.5 KB per record.
  RegionState(std::string region, int32_t inbox_partition, bool records_carry_identity = true);

  const std::string& region() const { return meta_.region(); }
  int32_t inbox_partition() const { return meta_.inbox_partition(); }
  hisbridge::index::v1::RegionMeta& meta() { return meta_; }
  const hisbridge::index::v1::RegionMeta& meta() const { return meta_; }

  // Records.
  RecordHandle* FindHandle(absl::string_view facility_id, absl::string_view record_id);
  // Returns the handle of (facility, record), creating an empty record.
  RecordHandle GetOrCreateHandle(absl::string_view facility_id, absl::string_view record_id, bool* created);
  RecordState& record(RecordHandle h) { return records_[h]; }
  const RecordState& record(RecordHandle h) const { return records_[h]; }
  size_t record_count() const { return records_.size(); }

  // Patients. Pointers to them stay valid for the region's lifetime
  // (patients are never removed, only retired).
  PatientState* FindPatient(absl::string_view patient_id);
  PatientState& patient_at(PatientIndex i) { return patients_[i]; }
  const PatientState& patient_at(PatientIndex i) const { return patients_[i]; }
  // The index of the patient record `h` belongs to (kNoPatient when none),
  // mirroring its link.patient_id(). Held apart from the records in one
  // dense array: candidate search reads it for every record of a block,
  // and hashing or sorting id strings there dominated linking.
  PatientIndex patient_index_of(RecordHandle h) const { return patient_of_record_[h]; }
  // Starts loading patient_index_of(h): a block's records are scattered
  // over the array.
  void PrefetchPatientIndexOf(RecordHandle h) const { __builtin_prefetch(&patient_of_record_[h]); }
  // Sets record `h`'s patient (link.patient_id and patient_index_of); an
  // empty id unlinks it.
  void SetPatientOf(RecordHandle h, const std::string& patient_id);
  // Recomputes every record's patient_index_of from its link, after links
  // and patients were loaded from storage.
  void ResolvePatientIndices();
  // A new empty patient with the next deterministic id ("<region>-P0000001").
  PatientState& CreatePatient();
  // Inserts a patient loaded from storage.
  PatientState& InsertPatient(hisbridge::index::v1::StoredPatient stored);
  size_t patient_count() const { return patients_.size(); }
  template <typename Fn>
  void ForEachPatient(Fn&& fn) const {
    for (size_t i = 0; i < patients_.size(); ++i) fn(patients_[i]);
  }
  // Whether any pair of patients was marked as different people (most
  // regions have none, and then no candidate needs the check).
  bool HasNotSamePairs() const { return !not_same_.empty(); }

  // Blocking index: token -> live records indexed under it.
  const BlockList* Blocked(uint64_t token) const;
  // Starts loading the index slot of `token`: a record's tokens are looked
  // up together, and each is a cache miss in a large region.
  void PrefetchBlocking(uint64_t token) const { blocking_.prefetch(token); }
  // `h` must not already be indexed under `token`.
  void AddBlockingToken(uint64_t token, RecordHandle h);
  void RemoveBlockingToken(uint64_t token, RecordHandle h);
  size_t blocking_key_count() const { return blocking_.size(); }

  // Name and phone frequencies among the live records (term-frequency
  // adjustment of match weights).
  match::TermFrequencies& frequencies() { return frequencies_; }
  const match::TermFrequencies& frequencies() const { return frequencies_; }

  // Pairs of patients a data steward marked as different people.
  bool IsNotSame(absl::string_view a, absl::string_view b) const;
  // Records the pair (in memory and in meta(), which persists it); false
  // when it was already known.
  bool AddNotSame(absl::string_view a, absl::string_view b);

  // Installs counters and steward pairs loaded from storage.
  void LoadMeta(const hisbridge::index::v1::RegionMeta& meta);

 private:
  struct SourceKeyHash {
    using is_transparent = void;
    size_t operator()(const std::pair<std::string, std::string>& k) const {
      return absl::HashOf(k.first, k.second);
    }
    size_t operator()(const std::pair<absl::string_view, absl::string_view>& k) const {
      return absl::HashOf(k.first, k.second);
    }
  };
  struct SourceKeyEq {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return absl::string_view(a.first) == absl::string_view(b.first) &&
             absl::string_view(a.second) == absl::string_view(b.second);
    }
  };

  hisbridge::index::v1::RegionMeta meta_;
  StableArray<RecordState> records_;
  std::vector<PatientIndex> patient_of_record_;  // by RecordHandle
  bool records_carry_identity_ = true;
  // A node map: RecordState::source points at its keys.
  absl::node_hash_map<SourceKey, RecordHandle, SourceKeyHash, SourceKeyEq> handles_;
  StableArray<PatientState> patients_;  // by PatientIndex
  absl::flat_hash_map<std::string, PatientIndex> patient_indices_;
  // Most blocks hold one or two records: inline storage saves a heap
  // allocation per token.
  absl::flat_hash_map<uint64_t, BlockList> blocking_;
  match::TermFrequencies frequencies_;
  absl::flat_hash_set<std::pair<std::string, std::string>> not_same_;
};

}  // namespace hisbridge::linker

#endif  // HISBRIDGE_LIBS_LINKER_REGION_STATE_H_
