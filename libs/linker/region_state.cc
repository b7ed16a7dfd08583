#include "libs/linker/region_state.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hisbridge::linker {

RegionState::RegionState(std::string region, int32_t inbox_partition, bool records_carry_identity)
    : records_carry_identity_(records_carry_identity) {
  meta_.set_region(std::move(region));
  meta_.set_inbox_partition(inbox_partition);
  meta_.set_next_patient_seq(1);
}

RecordHandle* RegionState::FindHandle(absl::string_view facility_id, absl::string_view record_id) {
  auto it = handles_.find(std::make_pair(facility_id, record_id));
  return it == handles_.end() ? nullptr : &it->second;
}

RecordHandle RegionState::GetOrCreateHandle(absl::string_view facility_id, absl::string_view record_id,
                                            bool* created) {
  if (RecordHandle* h = FindHandle(facility_id, record_id)) {
    *created = false;
    return *h;
  }
  *created = true;
  const auto h = static_cast<RecordHandle>(records_.size());
  RecordState& r = records_.emplace_back();
  patient_of_record_.push_back(kNoPatient);
  const auto inserted = handles_.emplace(SourceKey(std::string(facility_id), std::string(record_id)), h);
  r.source = &inserted.first->first;
  if (records_carry_identity_) {
    r.stored.set_region(region());
    r.stored.mutable_record()->set_facility_id(facility_id.data(), facility_id.size());
    r.stored.mutable_record()->set_record_id(record_id.data(), record_id.size());
  }
  return h;
}

PatientState* RegionState::FindPatient(absl::string_view patient_id) {
  auto it = patient_indices_.find(patient_id);
  return it == patient_indices_.end() ? nullptr : &patients_[it->second];
}

PatientState& RegionState::CreatePatient() {
  const int64_t seq = meta_.next_patient_seq();
  meta_.set_next_patient_seq(seq + 1);
  std::string id = absl::StrFormat("%s-P%07d", region(), seq);
  const auto index = static_cast<PatientIndex>(patients_.size());
  PatientState& p = patients_.emplace_back();
  p.index = index;
  p.stored.set_patient_id(id);
  p.stored.set_region(region());
  p.stored.set_status(hisbridge::v1::PATIENT_STATUS_ACTIVE);
  patient_indices_.emplace(std::move(id), index);
  return p;
}

PatientState& RegionState::InsertPatient(hisbridge::index::v1::StoredPatient stored) {
  PatientState* existing = FindPatient(stored.patient_id());
  if (existing == nullptr) {
    const auto index = static_cast<PatientIndex>(patients_.size());
    existing = &patients_.emplace_back();
    existing->index = index;
    patient_indices_.emplace(stored.patient_id(), index);
  }
  PatientState& p = *existing;
  p.stored = std::move(stored);
  p.members.clear();
  for (const auto& m : p.stored.members()) {
    if (RecordHandle* h = FindHandle(m.facility_id(), m.record_id())) p.members.push_back(*h);
  }
  return p;
}

void RegionState::SetPatientOf(RecordHandle h, const std::string& patient_id) {
  records_[h].link.set_patient_id(patient_id);
  const PatientState* p = patient_id.empty() ? nullptr : FindPatient(patient_id);
  patient_of_record_[h] = p != nullptr ? p->index : kNoPatient;
}

void RegionState::ResolvePatientIndices() {
  for (size_t h = 0; h < records_.size(); ++h) {
    const std::string& id = records_[h].patient_id();
    const PatientState* p = id.empty() ? nullptr : FindPatient(id);
    patient_of_record_[h] = p != nullptr ? p->index : kNoPatient;
  }
}

const BlockList* RegionState::Blocked(uint64_t token) const {
  auto it = blocking_.find(token);
  return it == blocking_.end() ? nullptr : &it->second;
}

void RegionState::AddBlockingToken(uint64_t token, RecordHandle h) {
  // Callers add a token to a record only when it is not already there
  // (tokens are unique per record, and updates add only new ones), so no
  // search: on the large blocks of common names it would cost O(n) each.
  blocking_[token].push_back(h);
}

void RegionState::RemoveBlockingToken(uint64_t token, RecordHandle h) {
  auto it = blocking_.find(token);
  if (it == blocking_.end()) return;
  auto& list = it->second;
  list.erase(std::remove(list.begin(), list.end(), h), list.end());
  if (list.empty()) blocking_.erase(it);
}

bool RegionState::IsNotSame(absl::string_view a, absl::string_view b) const {
  if (a > b) std::swap(a, b);
  return not_same_.contains(std::make_pair(std::string(a), std::string(b)));
}

bool RegionState::AddNotSame(absl::string_view a, absl::string_view b) {
  if (a > b) std::swap(a, b);
  if (!not_same_.emplace(std::string(a), std::string(b)).second) return false;
  auto* pair = meta_.add_not_same();
  pair->set_patient_id(std::string(a));
  pair->set_other_patient_id(std::string(b));
  return true;
}

void RegionState::LoadMeta(const hisbridge::index::v1::RegionMeta& meta) {
  meta_ = meta;
  not_same_.clear();
  for (const auto& pair : meta_.not_same()) {
    absl::string_view a = pair.patient_id(), b = pair.other_patient_id();
    if (a > b) std::swap(a, b);
    not_same_.emplace(std::string(a), std::string(b));
  }
}

}  // namespace hisbridge::linker
