#include "libs/view/match_index.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "libs/base/time_format.h"

namespace hisbridge::view {
namespace {

const absl::TimeZone& ChinaTime() {
  static const absl::TimeZone* tz = new absl::TimeZone(absl::FixedTimeZone(8 * 3600));
  return *tz;
}

int GradeRank(hisbridge::v1::MatchGrade grade) {
  switch (grade) {
    case hisbridge::v1::MATCH_GRADE_CERTAIN:
    case hisbridge::v1::MATCH_GRADE_PROBABLE:
    case hisbridge::v1::MATCH_GRADE_POSSIBLE:
      return 0;  // ordered by score among themselves
    default:
      return 1;  // certainly-not after everything else
  }
}

}  // namespace

absl::CivilDay ChinaToday(absl::Time now) { return absl::ToCivilDay(now, ChinaTime()); }

hisbridge::v1::Record RecordOfDemographics(const hisbridge::v1::Demographics& d) {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_name(d.name());
  r.set_sex(d.sex());
  r.set_birth_date(d.birth_date());
  r.set_id_type(d.id_type());
  r.set_id_number(d.id_number());
  r.set_insurance_id(d.insurance_id());
  r.set_health_card_id(d.health_card_id());
  r.set_phone(d.phone());
  r.set_address(d.address());
  r.set_address_code(d.address_code());
  r.set_ethnicity(d.ethnicity());
  return r;
}

void PrepareSource(const match::Matcher& matcher, const hisbridge::v1::SourceIdentity& source,
                   const std::string& region, PreparedSource* out) {
  out->facility_id = source.facility_id();
  out->record_id = source.record_id();
  hisbridge::v1::Record record = RecordOfDemographics(source.demographics());
  record.set_facility_id(source.facility_id());
  record.set_record_id(source.record_id());
  record.set_event_time(source.event_time());
  // The linker prepared this record with the date of its own event time
  // (never the wall clock); doing the same gives the same tokens and ages.
  auto time = ParseRfc3339(source.event_time());
  match::PrepareOptions options;
  options.today = ChinaToday(time.ok() ? *time : absl::Now());
  options.county_hint = region;
  matcher.Prepare(record, options, &out->record);
}

void MatchIndex::Apply(std::map<std::string, std::optional<PreparedPatient>> changes) {
  absl::MutexLock lock(&mu_);
  for (auto& [patient_id, patient] : changes) {
    auto it = by_id_.find(patient_id);
    if (it != by_id_.end()) {
      RemoveLocked(it->second);
      by_id_.erase(it);
    }
    if (patient.has_value()) PutLocked(std::move(*patient));
  }
}

void MatchIndex::RemoveLocked(uint32_t slot) {
  Entry& e = slots_[slot];
  for (uint64_t token : e.tokens) {
    auto block = blocks_.find(token);
    if (block == blocks_.end()) continue;
    auto& members = block->second;
    members.erase(std::remove(members.begin(), members.end(), slot), members.end());
    if (members.empty()) blocks_.erase(block);
  }
  for (const PreparedSource& s : e.patient.sources) e.frequencies->Remove(s.record);
  sources_ -= e.patient.sources.size();
  e = Entry();
  free_slots_.push_back(slot);
}

void MatchIndex::PutLocked(PreparedPatient patient) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Entry& e = slots_[slot];
  auto& frequencies = frequencies_[patient.region];
  if (frequencies == nullptr) frequencies = std::make_unique<match::TermFrequencies>();
  e.frequencies = frequencies.get();
  for (const PreparedSource& s : patient.sources) {
    e.frequencies->Add(s.record);
    e.tokens.insert(e.tokens.end(), s.record.blocking_tokens.begin(), s.record.blocking_tokens.end());
  }
  // A patient is one member of a block however many of its sources share
  // the token.
  std::sort(e.tokens.begin(), e.tokens.end());
  e.tokens.erase(std::unique(e.tokens.begin(), e.tokens.end()), e.tokens.end());
  for (uint64_t token : e.tokens) blocks_[token].push_back(slot);
  sources_ += patient.sources.size();
  by_id_[patient.patient_id] = slot;
  e.patient = std::move(patient);
  e.live = true;
}

std::vector<MatchedCandidate> MatchIndex::Match(const match::MatchRecord& query, const MatchOptions& options,
                                                MatchStats* stats) const {
  MatchStats local;
  if (stats == nullptr) stats = &local;
  const match::Thresholds thresholds = matcher_->thresholds();
  const double floor = thresholds.lower - options.possible_margin;

  struct Scored {
    uint32_t slot;
    size_t source;
    double score;
    hisbridge::v1::MatchGrade grade;
    hisbridge::v1::Explanation explanation;  // filled for certainly-not already
  };
  std::vector<Scored> scored;

  absl::ReaderMutexLock lock(&mu_);
  absl::flat_hash_set<uint32_t> candidates;
  for (uint64_t token : query.blocking_tokens) {
    auto block = blocks_.find(token);
    if (block == blocks_.end()) continue;
    if (block->second.size() > options.max_block_size) {
      ++stats->oversized_blocks_skipped;
      continue;
    }
    for (uint32_t slot : block->second) {
      if (!options.region.empty() && slots_[slot].patient.region != options.region) continue;
      candidates.insert(slot);
    }
  }
  stats->candidates_scored = candidates.size();

  for (uint32_t slot : candidates) {
    const Entry& e = slots_[slot];
    double best = match::kCertainNonMatchScore;
    size_t best_source = 0;
    bool found = false;
    bool capped = false;
    std::optional<size_t> excluded_by;
    for (size_t i = 0; i < e.patient.sources.size(); ++i) {
      const match::MatchRecord& other = e.patient.sources[i].record;
      const match::PairScore s = matcher_->Score(query, other, *e.frequencies);
      if (s.certain_non_match) {
        excluded_by = i;
        break;
      }
      if ((query.placeholder_name || other.placeholder_name) && !s.same_resident_id) continue;
      if (!found || s.score > best) {
        best = s.score;
        best_source = i;
        capped = s.capped;
        found = true;
      }
    }
    if (excluded_by.has_value()) {
      // The ids say two people. Worth showing only when everything else
      // says one (twins, a relative's card): score that evidence.
      hisbridge::v1::Explanation explanation =
          matcher_->Explain(query, e.patient.sources[*excluded_by].record, *e.frequencies);
      double evidence = 0;
      for (const auto& f : explanation.fields()) {
        if (f.field() != "resident_id" && std::isfinite(f.weight())) evidence += f.weight();
      }
      if (evidence < floor) continue;
      explanation.set_total(evidence);
      scored.push_back({slot, *excluded_by, evidence, hisbridge::v1::MATCH_GRADE_CERTAINLY_NOT, std::move(explanation)});
      continue;
    }
    if (!found || best < floor) continue;
    hisbridge::v1::MatchGrade grade = hisbridge::v1::MATCH_GRADE_POSSIBLE;
    if (best >= thresholds.upper && !capped) {
      grade = hisbridge::v1::MATCH_GRADE_CERTAIN;
    } else if (best >= thresholds.lower) {
      grade = hisbridge::v1::MATCH_GRADE_PROBABLE;
    }
    scored.push_back({slot, best_source, best, grade, {}});
  }

  std::sort(scored.begin(), scored.end(), [this](const Scored& a, const Scored& b) {
    const int ra = GradeRank(a.grade), rb = GradeRank(b.grade);
    if (ra != rb) return ra < rb;
    if (a.score != b.score) return a.score > b.score;
    return slots_[a.slot].patient.patient_id < slots_[b.slot].patient.patient_id;
  });
  if (scored.size() > options.limit) scored.resize(options.limit);

  std::vector<MatchedCandidate> out;
  out.reserve(scored.size());
  for (Scored& s : scored) {
    const Entry& e = slots_[s.slot];
    const PreparedSource& source = e.patient.sources[s.source];
    MatchedCandidate c;
    c.patient_id = e.patient.patient_id;
    c.score = s.score;
    c.grade = s.grade;
    c.facility_id = source.facility_id;
    c.record_id = source.record_id;
    if (s.grade == hisbridge::v1::MATCH_GRADE_CERTAINLY_NOT) {
      c.explanation = std::move(s.explanation);
    } else {
      // Explanations are only built for the candidates returned.
      c.explanation = matcher_->Explain(query, source.record, *e.frequencies);
    }
    out.push_back(std::move(c));
  }
  return out;
}

bool MatchIndex::ForPatient(const std::string& patient_id,
                            const std::function<void(const PreparedPatient&)>& fn) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = by_id_.find(patient_id);
  if (it == by_id_.end()) return false;
  fn(slots_[it->second].patient);
  return true;
}

size_t MatchIndex::patient_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return by_id_.size();
}

size_t MatchIndex::source_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return sources_;
}

size_t MatchIndex::token_count() const {
  absl::ReaderMutexLock lock(&mu_);
  return blocks_.size();
}

}  // namespace hisbridge::view
