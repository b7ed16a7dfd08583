#include "libs/linker/link_engine.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/base/time_format.h"
#include "libs/records/validate.h"

namespace hisbridge::linker {
namespace {

using hisbridge::v1::ChangeKind;
using hisbridge::v1::LinkInfo;
using hisbridge::v1::LinkMethod;
using hisbridge::v1::Record;

// Patient ages and future-date rules are judged in China Standard Time.
const absl::TimeZone& ChinaTime() {
  static const absl::TimeZone* tz = new absl::TimeZone(absl::FixedTimeZone(8 * 3600));
  return *tz;
}

// How much stronger (log2 likelihood ratio) the best of several strong
// candidates must be to be taken as the record's own: 2^8 = 256 times.
constexpr double kClearMargin = 8.0;

struct PatientScore {
  std::string patient_id;
  double score = match::kCertainNonMatchScore;
  RecordHandle best_member = 0;
  bool same_resident_id = false;
  // Some member agrees on an identifier of one person.
  bool identifier_agrees = false;
  // Some member has exactly the record's name.
  bool names_identical = false;
};

}  // namespace

// The working state of one Apply call: which patients it touched (their
// versions go up once at the end), and the change events it produced.
class LinkEngine::Application {
 public:
  Application(const LinkEngine& engine, const InputPosition& position, RegionState* state, RegionChanges* changes,
              EngineCounters* counters)
      : engine_(engine),
        matcher_(*engine.matcher_),
        position_(position),
        state_(*state),
        changes_(*changes),
        counters_(*counters),
        now_(FormatRfc3339(position.time)) {}

  void PatientUpsert(const Record& record, int64_t event_micros, absl::CivilDay today,
                     match::MatchRecord* prepared);
  void PatientDelete(const Record& record, int64_t event_micros);
  void FacilityMerge(const Record& record, int64_t event_micros, absl::CivilDay today);
  void ClinicalEvent(const Record& record);
  void Command(const hisbridge::v1::StewardCommand& command);

  // Bumps versions of touched patients and stamps the change events.
  void Finish();

 private:
  RecordState& Rec(RecordHandle h) { return state_.record(h); }

  void Touch(const std::string& patient_id) {
    if (!patient_id.empty()) touched_.insert(patient_id);
  }
  void MarkRecord(RecordHandle h) { changes_.records.insert(h); }

  // Installs a new preparation of the record: its blocking tokens (keeping
  // the in-memory index and the persisted diff in step) and its share of
  // the term frequencies. A null `prepared` takes the record out of both
  // (deleted or folded away).
  void SetPrepared(RecordHandle h, match::MatchRecord* prepared);

  std::vector<PatientScore> ScoreCandidates(RecordHandle h);
  // Decides where the record belongs and moves it there.
  void Link(RecordHandle h);
  // Links the record automatically to `target`.
  void LinkTo(RecordHandle h, const PatientScore& target);
  // Moves the record into `patient_id` ("" = out of any patient).
  void MoveTo(RecordHandle h, const std::string& patient_id, LinkInfo link);
  PatientState& NewPatientFor(RecordHandle h);
  void OpenReview(RecordHandle h, const std::vector<PatientScore>& candidates, const std::string& reason);
  void CloseReviewIfOpen(RecordHandle h, const std::string& why);

  void AddChange(ChangeKind kind, const std::string& patient_id, RecordHandle h, const std::string& other = "",
                 const LinkInfo* link = nullptr);
  void AddAudit(const std::string& patient_id, const std::string& action, RecordHandle h, const std::string& other,
                const LinkInfo* link);

  LinkInfo MakeLink(LinkMethod method, double score) const {
    LinkInfo link;
    link.set_method(method);
    if (std::isfinite(score)) link.set_score(score);
    link.set_model_version(matcher_.version());
    link.set_decided_at(now_);
    return link;
  }

  const LinkEngine& engine_;
  const match::Matcher& matcher_;
  const InputPosition& position_;
  RegionState& state_;
  RegionChanges& changes_;
  EngineCounters& counters_;
  const std::string now_;
  std::set<std::string> touched_;
  size_t first_change_ = changes_.change_events.size();
};

void LinkEngine::Application::SetPrepared(RecordHandle h, match::MatchRecord* prepared) {
  RecordState& r = Rec(h);
  if (r.counted) {
    state_.frequencies().Remove(r.match);
    r.counted = false;
  }
  std::vector<uint64_t> old(r.stored.blocking_tokens().begin(), r.stored.blocking_tokens().end());
  if (prepared != nullptr) {
    std::swap(r.match, *prepared);
  } else {
    r.match = match::MatchRecord();
  }
  const std::vector<uint64_t>& tokens = r.match.blocking_tokens;  // sorted, unique
  for (uint64_t t : old) {
    if (!std::binary_search(tokens.begin(), tokens.end(), t)) {
      state_.RemoveBlockingToken(t, h);
      changes_.blocking_removed.emplace_back(t, h);
    }
  }
  for (uint64_t t : tokens) {
    if (std::find(old.begin(), old.end(), t) == old.end()) {
      state_.AddBlockingToken(t, h);
      changes_.blocking_added.emplace_back(t, h);
    }
  }
  r.stored.mutable_blocking_tokens()->Assign(tokens.begin(), tokens.end());
  if (prepared != nullptr) {
    state_.frequencies().Add(r.match);
    r.counted = true;
  }
}

std::vector<PatientScore> LinkEngine::Application::ScoreCandidates(RecordHandle h) {
  const match::MatchRecord& m = Rec(h).match;
  std::set<std::string> candidate_patients;
  for (uint64_t token : m.blocking_tokens) {
    const std::vector<RecordHandle>* blocked = state_.Blocked(token);
    if (blocked == nullptr) continue;
    if (blocked->size() > engine_.options_.max_block_size) {
      ++counters_.oversized_blocks_skipped;
      continue;
    }
    for (RecordHandle c : *blocked) {
      if (c == h) continue;
      const RecordState& cr = Rec(c);
      if (cr.live() && !cr.patient_id().empty()) candidate_patients.insert(cr.patient_id());
    }
  }
  // The record's own patient is always re-examined, so that a record whose
  // evidence changed can leave it.
  const std::string& current = Rec(h).patient_id();
  if (!current.empty()) candidate_patients.insert(current);

  std::vector<PatientScore> scores;
  for (const std::string& pid : candidate_patients) {
    PatientState* patient = state_.FindPatient(pid);
    if (patient == nullptr) continue;
    if (pid != current && !current.empty() && state_.IsNotSame(current, pid)) continue;
    PatientScore ps;
    ps.patient_id = pid;
    bool excluded = false;
    bool any_member = false;
    bool facility_conflict = false;
    for (RecordHandle mh : patient->members) {
      if (mh == h) continue;
      any_member = true;
      const match::MatchRecord& other = Rec(mh).match;
      match::PairScore s = matcher_.Score(m, other, state_.frequencies());
      if (s.certain_non_match) {
        // One forbidden pair excludes the whole patient: linking would put
        // the two (e.g. twins with different ids) into one person.
        excluded = true;
        break;
      }
      if ((m.placeholder_name || other.placeholder_name) && !s.same_resident_id) continue;
      // The record's own facility already has another record in this
      // patient under a different name: the facility itself took them for
      // two people (twins registered together), and one clinic rarely
      // registers one person twice under two spellings.
      static const bool no_facility_rule = getenv("HB_NOFAC") != nullptr;
      if (!no_facility_rule && !s.identifier_agrees && !s.names_identical && Rec(mh).facility_id() == Rec(h).facility_id()) {
        facility_conflict = true;
      }
      if (s.score > ps.score) {
        ps.score = s.score;
        ps.best_member = mh;
      }
      ps.same_resident_id |= s.same_resident_id;
      ps.identifier_agrees |= s.identifier_agrees;
      ps.names_identical |= s.names_identical;
    }
    if (excluded || !any_member) continue;
    const double upper = matcher_.thresholds().upper;
    if (facility_conflict && !ps.identifier_agrees && ps.score >= upper) {
      ps.score = upper - 1e-3;
      ++counters_.facility_conflicts;
    }
    scores.push_back(ps);
  }
  std::sort(scores.begin(), scores.end(), [](const PatientScore& a, const PatientScore& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.patient_id < b.patient_id;
  });
  return scores;
}

PatientState& LinkEngine::Application::NewPatientFor(RecordHandle h) {
  RecordState& r = Rec(h);
  if (!r.stored.former_patient_id().empty()) {
    // A record its facility deleted and registered again gets its old
    // patient back when nobody joined that patient meanwhile: ids the lead
    // hospital already stored stay valid.
    PatientState* former = state_.FindPatient(r.stored.former_patient_id());
    r.stored.clear_former_patient_id();
    if (former != nullptr && former->members.empty() &&
        former->stored.status() == hisbridge::v1::PATIENT_STATUS_RETIRED) {
      AddChange(hisbridge::v1::CHANGE_KIND_CREATED, former->stored.patient_id(), h);
      return *former;
    }
  }
  PatientState& p = state_.CreatePatient();
  p.stored.set_created_at(now_);
  changes_.meta = true;
  ++counters_.new_patients;
  AddChange(hisbridge::v1::CHANGE_KIND_CREATED, p.stored.patient_id(), h);
  return p;
}

void LinkEngine::Application::MoveTo(RecordHandle h, const std::string& patient_id, LinkInfo link) {
  RecordState& r = Rec(h);
  const std::string old = r.patient_id();
  if (old == patient_id) {
    *r.link.mutable_link() = std::move(link);
    MarkRecord(h);
    Touch(patient_id);
    return;
  }
  if (!old.empty()) {
    if (PatientState* p = state_.FindPatient(old)) {
      p->members.erase(std::remove(p->members.begin(), p->members.end(), h), p->members.end());
      auto* members = p->stored.mutable_members();
      for (int i = 0; i < members->size(); ++i) {
        if (members->Get(i).facility_id() == r.facility_id() && members->Get(i).record_id() == r.record_id()) {
          members->DeleteSubrange(i, 1);
          break;
        }
      }
      if (p->members.empty() && p->stored.status() == hisbridge::v1::PATIENT_STATUS_ACTIVE) {
        p->stored.set_status(hisbridge::v1::PATIENT_STATUS_RETIRED);
      }
      Touch(old);
      AddChange(hisbridge::v1::CHANGE_KIND_UNLINKED, old, h, patient_id);
    }
  }
  r.link.set_patient_id(patient_id);
  *r.link.mutable_link() = std::move(link);
  MarkRecord(h);
  if (!patient_id.empty()) {
    r.stored.clear_former_patient_id();
    PatientState* p = state_.FindPatient(patient_id);
    p->members.push_back(h);
    auto* member = p->stored.add_members();
    member->set_facility_id(r.facility_id());
    member->set_record_id(r.record_id());
    p->stored.set_status(hisbridge::v1::PATIENT_STATUS_ACTIVE);
    Touch(patient_id);
    AddChange(hisbridge::v1::CHANGE_KIND_LINKED, patient_id, h, old, &r.link.link());
  }
}

void LinkEngine::Application::Link(RecordHandle h) {
  RecordState& r = Rec(h);
  const std::string current = r.patient_id();
  if (r.link.link().pinned() && !current.empty()) {
    // A steward decided where this record belongs; automatic relinking
    // never overrides that.
    Touch(current);
    return;
  }
  const match::Thresholds t = matcher_.thresholds();
  std::vector<PatientScore> scores = ScoreCandidates(h);
  std::vector<PatientScore> above, between;
  for (const PatientScore& s : scores) {
    if (s.score >= t.upper) above.push_back(s);
    else if (s.score >= t.lower) between.push_back(s);
  }
  const PatientState* current_patient = current.empty() ? nullptr : state_.FindPatient(current);
  const bool alone = current_patient == nullptr || current_patient->members.size() <= 1;
  auto current_in = [&](const std::vector<PatientScore>& list) {
    return std::any_of(list.begin(), list.end(), [&](const PatientScore& s) { return s.patient_id == current; });
  };

  // Records that stay on their own: keep their patient when they are its
  // only member (stable ids), otherwise split out into a new one.
  auto keep_own_patient = [&](LinkMethod method) {
    if (!current.empty() && alone) {
      Touch(current);
      return;
    }
    PatientState& p = NewPatientFor(h);
    MoveTo(h, p.stored.patient_id(), MakeLink(method, 0));
  };

  if (above.size() == 1) {
    const PatientScore& target = above[0];
    CloseReviewIfOpen(h, "linked automatically");
    if (target.patient_id == current) {
      Touch(current);
      return;
    }
    LinkTo(h, target);
    return;
  }
  if (above.size() >= 2) {
    // Strong evidence for two patients: they may be duplicates of one
    // person, and a steward decides. The record joins neither, unless one
    // of them is clearly the record's own: it agrees on an identifier or
    // on the exact name where the other only comes close (a homophone,
    // likely a twin), and it scores far higher. Even then the possible
    // duplicate pair goes to review.
    const PatientScore& best = above[0];
    const PatientScore& second = above[1];
    const bool clear_best = (best.identifier_agrees && !second.identifier_agrees) ||
                            (best.names_identical && !second.names_identical && !second.identifier_agrees);
    if (clear_best && best.score - second.score >= kClearMargin && best.patient_id != current) {
      LinkTo(h, best);
      ++counters_.clear_best_links;
      OpenReview(h, above, "matches_several_patients");
      return;
    }
    ++counters_.reviews_several_patients;
    if (current_in(above)) {
      Touch(current);
    } else {
      keep_own_patient(hisbridge::v1::LINK_METHOD_NEW_PATIENT);
    }
    OpenReview(h, above, "matches_several_patients");
    return;
  }
  if (!current.empty() && !alone) {
    // The record's own patient no longer reaches the upper threshold: the
    // evidence that put it there has changed.
    ++counters_.relinks;
  }
  keep_own_patient(hisbridge::v1::LINK_METHOD_NEW_PATIENT);
  if (!between.empty()) {
    OpenReview(h, between, "between_thresholds");
  } else {
    CloseReviewIfOpen(h, "no longer has candidates");
  }
}

void LinkEngine::Application::LinkTo(RecordHandle h, const PatientScore& target) {
  RecordState& r = Rec(h);
  LinkInfo link = MakeLink(
      target.same_resident_id ? hisbridge::v1::LINK_METHOD_RESIDENT_ID : hisbridge::v1::LINK_METHOD_SCORE,
      target.score);
  if (engine_.options_.keep_history) {
    *link.mutable_explanation() = matcher_.Explain(r.match, Rec(target.best_member).match, state_.frequencies());
  }
  if (r.patient_id().empty()) {
    ++counters_.auto_links;
  } else {
    ++counters_.relinks;
  }
  MoveTo(h, target.patient_id, std::move(link));
}

void LinkEngine::Application::OpenReview(RecordHandle h, const std::vector<PatientScore>& candidates,
                                         const std::string& reason) {
  RecordState& r = Rec(h);
  hisbridge::v1::ReviewItem item;
  if (!r.stored.open_review_id().empty()) {
    item.set_review_id(r.stored.open_review_id());
  } else {
    const int64_t seq = std::max<int64_t>(1, state_.meta().next_review_seq());
    state_.meta().set_next_review_seq(seq + 1);
    changes_.meta = true;
    item.set_review_id(absl::StrFormat("%s-R%07d", state_.region(), seq));
    r.stored.set_open_review_id(item.review_id());
    MarkRecord(h);
    ++counters_.review_items;
  }
  item.set_status(hisbridge::v1::REVIEW_STATUS_OPEN);
  item.set_region(state_.region());
  item.set_facility_id(r.facility_id());
  item.set_record_id(r.record_id());
  item.set_patient_id(r.patient_id());
  item.set_reason(reason);
  item.set_created_at(now_);
  for (const PatientScore& s : candidates) {
    auto* c = item.add_candidates();
    c->set_patient_id(s.patient_id);
    if (std::isfinite(s.score)) c->set_score(s.score);
    if (engine_.options_.keep_history) {
      *c->mutable_explanation() = matcher_.Explain(r.match, Rec(s.best_member).match, state_.frequencies());
    }
  }
  if (engine_.options_.keep_history) {
    changes_.review_items.push_back(std::move(item));
    AddChange(hisbridge::v1::CHANGE_KIND_REVIEW_OPENED, r.patient_id(), h);
  }
}

void LinkEngine::Application::CloseReviewIfOpen(RecordHandle h, const std::string& why) {
  RecordState& r = Rec(h);
  if (r.stored.open_review_id().empty()) return;
  if (engine_.options_.keep_history) {
    hisbridge::v1::ReviewItem item;
    item.set_review_id(r.stored.open_review_id());
    item.set_status(hisbridge::v1::REVIEW_STATUS_RESOLVED);
    item.set_region(state_.region());
    item.set_facility_id(r.facility_id());
    item.set_record_id(r.record_id());
    item.set_patient_id(r.patient_id());
    item.set_resolved_at(now_);
    item.set_resolved_by(absl::StrCat("linker: ", why));
    changes_.review_items.push_back(std::move(item));
  }
  r.stored.clear_open_review_id();
  MarkRecord(h);
}

void LinkEngine::Application::AddChange(ChangeKind kind, const std::string& patient_id, RecordHandle h,
                                        const std::string& other, const LinkInfo* link) {
  if (!engine_.options_.keep_history) return;
  hisbridge::v1::ChangeEvent e;
  e.set_kind(kind);
  e.set_patient_id(patient_id);
  e.set_other_patient_id(other);
  e.set_facility_id(Rec(h).facility_id());
  e.set_record_id(Rec(h).record_id());
  e.set_time(now_);
  e.mutable_cause()->set_topic(position_.topic);
  e.mutable_cause()->set_partition(position_.partition);
  e.mutable_cause()->set_offset(position_.offset);
  if (link != nullptr) *e.mutable_link() = *link;
  changes_.change_events.push_back(e);
  static const char* const kActions[] = {"", "created", "linked", "unlinked", "merged",
                                         "unmerged", "updated", "deleted", "review_opened"};
  AddAudit(patient_id, kActions[kind], h, other, link);
}

void LinkEngine::Application::AddAudit(const std::string& patient_id, const std::string& action, RecordHandle h,
                                       const std::string& other, const LinkInfo* link) {
  if (!engine_.options_.keep_history || patient_id.empty()) return;
  hisbridge::v1::HistoryEntry entry;
  entry.set_time(now_);
  entry.set_action(action);
  entry.set_facility_id(Rec(h).facility_id());
  entry.set_record_id(Rec(h).record_id());
  entry.set_other_patient_id(other);
  if (link != nullptr) {
    entry.set_model_version(link->model_version());
    entry.set_score(link->score());
    *entry.mutable_explanation() = link->explanation();
  }
  entry.mutable_cause()->set_topic(position_.topic);
  entry.mutable_cause()->set_partition(position_.partition);
  entry.mutable_cause()->set_offset(position_.offset);
  const int64_t seq = std::max<int64_t>(1, state_.meta().next_audit_seq());
  state_.meta().set_next_audit_seq(seq + 1);
  changes_.meta = true;
  changes_.audit.push_back({patient_id, static_cast<uint64_t>(seq), std::move(entry)});
}

void LinkEngine::Application::PatientUpsert(const Record& record, int64_t event_micros, absl::CivilDay today,
                                            match::MatchRecord* prepared) {
  bool created = false;
  const RecordHandle h = state_.GetOrCreateHandle(record.facility_id(), record.record_id(), &created);
  RecordState& r = Rec(h);
  if (!created && event_micros < r.stored.event_time_micros()) {
    // An older version arriving late must never overwrite a newer one.
    ++counters_.stale_ignored;
    return;
  }
  const bool was_live = !created && r.live() && !r.patient_id().empty();
  Record incoming = record;
  incoming.clear_op();
  if (was_live && r.stored.record().SerializeAsString() == incoming.SerializeAsString()) {
    // A re-send of the same version: nothing to do.
    r.stored.set_event_time_micros(event_micros);
    MarkRecord(h);
    return;
  }
  *r.stored.mutable_record() = std::move(incoming);
  r.stored.set_event_time_micros(event_micros);
  r.stored.set_deleted(false);
  r.stored.clear_merged_into_record_id();
  match::MatchRecord fresh;
  if (prepared == nullptr) {
    engine_.PrepareRecord(record, today, state_.region(), &fresh);
    prepared = &fresh;
  }
  SetPrepared(h, prepared);
  MarkRecord(h);
  ++counters_.records_applied;
  const std::string before = r.patient_id();
  Link(h);
  if (was_live && r.patient_id() == before) {
    AddChange(hisbridge::v1::CHANGE_KIND_UPDATED, before, h);
  }
}

void LinkEngine::Application::PatientDelete(const Record& record, int64_t event_micros) {
  bool created = false;
  const RecordHandle h = state_.GetOrCreateHandle(record.facility_id(), record.record_id(), &created);
  RecordState& r = Rec(h);
  if (!created && event_micros < r.stored.event_time_micros()) {
    ++counters_.stale_ignored;
    return;
  }
  r.stored.set_event_time_micros(event_micros);
  MarkRecord(h);
  if (created || r.stored.deleted()) {
    // Deleting a record we never saw leaves a tombstone, so an older
    // upsert that arrives later cannot bring it back.
    r.stored.set_deleted(true);
    return;
  }
  ++counters_.deletes;
  const std::string patient = r.patient_id();
  CloseReviewIfOpen(h, "record deleted by its facility");
  r.stored.set_deleted(true);
  SetPrepared(h, nullptr);
  if (!patient.empty()) {
    AddChange(hisbridge::v1::CHANGE_KIND_DELETED, patient, h);
    MoveTo(h, "", LinkInfo());
    r.stored.set_former_patient_id(patient);
  }
}

void LinkEngine::Application::FacilityMerge(const Record& record, int64_t event_micros, absl::CivilDay today) {
  ++counters_.facility_merges;
  const std::string& survivor_id = record.record_id();
  const std::string& merged_id = record.merged_record_id();
  bool merged_created = false;
  const RecordHandle mh = state_.GetOrCreateHandle(record.facility_id(), merged_id, &merged_created);
  // The surviving record takes the merge line's demographics when it
  // carries any (HL7 A40 sends the survivor's PID), else the merged
  // record's.
  Record survivor_data = record;
  survivor_data.clear_op();
  survivor_data.clear_merged_record_id();
  const bool has_demographics = !record.name().empty() || !record.id_number().empty() ||
                                !record.birth_date().empty() || !record.phone().empty();
  bool survivor_created = false;
  const RecordHandle sh = state_.GetOrCreateHandle(record.facility_id(), survivor_id, &survivor_created);
  if (has_demographics) {
    PatientUpsert(survivor_data, event_micros, today, nullptr);
  } else if ((survivor_created || Rec(sh).stored.deleted()) && !merged_created && Rec(mh).live()) {
    Record copy = Rec(mh).stored.record();
    copy.set_record_id(survivor_id);
    copy.set_event_time(record.event_time());
    PatientUpsert(copy, event_micros, today, nullptr);
  }
  RecordState& merged = Rec(mh);
  RecordState& survivor = Rec(sh);
  if (!merged_created && event_micros < merged.stored.event_time_micros()) {
    ++counters_.stale_ignored;
    return;
  }
  // The merged record's clinical events now belong to the survivor.
  survivor.stored.add_absorbed_record_ids(merged_id);
  for (const std::string& absorbed : merged.stored.absorbed_record_ids()) {
    survivor.stored.add_absorbed_record_ids(absorbed);
  }
  merged.stored.clear_absorbed_record_ids();
  MarkRecord(sh);
  Touch(survivor.patient_id());
  const std::string merged_patient = merged.patient_id();
  merged.stored.set_event_time_micros(event_micros);
  merged.stored.set_deleted(true);
  merged.stored.set_merged_into_record_id(survivor_id);
  CloseReviewIfOpen(mh, "folded into another record by its facility");
  SetPrepared(mh, nullptr);
  MarkRecord(mh);
  if (!merged_patient.empty()) {
    AddChange(hisbridge::v1::CHANGE_KIND_DELETED, merged_patient, mh, survivor.patient_id());
    MoveTo(mh, "", LinkInfo());
  }
}

void LinkEngine::Application::ClinicalEvent(const Record& record) {
  ++counters_.events_applied;
  if (engine_.options_.keep_history) changes_.events_put.push_back(record);
  // Follow facility merges to the record the event now belongs to.
  RecordHandle* h = state_.FindHandle(record.facility_id(), record.record_id());
  for (int hops = 0; h != nullptr && hops < 16; ++hops) {
    const RecordState& r = Rec(*h);
    if (r.stored.merged_into_record_id().empty()) break;
    h = state_.FindHandle(record.facility_id(), r.stored.merged_into_record_id());
  }
  if (h != nullptr && Rec(*h).live()) Touch(Rec(*h).patient_id());
}

void LinkEngine::Application::Command(const hisbridge::v1::StewardCommand& command) {
  // Steward operations arrive with the index issue (docs/architecture.md,
  // "steward commands"); until then they are refused visibly, never
  // silently dropped.
  ++counters_.commands_refused;
  (void)command;
}

void LinkEngine::Application::Finish() {
  for (const std::string& pid : touched_) {
    PatientState* p = state_.FindPatient(pid);
    if (p == nullptr) continue;
    p->stored.set_version(p->stored.version() + 1);
    p->stored.set_updated_at(now_);
    changes_.patients.insert(pid);
  }
  for (size_t i = first_change_; i < changes_.change_events.size(); ++i) {
    hisbridge::v1::ChangeEvent& e = changes_.change_events[i];
    if (PatientState* p = state_.FindPatient(e.patient_id())) e.set_version(p->stored.version());
  }
}

LinkEngine::LinkEngine(const match::Matcher* matcher, const records::FacilityDirectory* facilities,
                       EngineOptions options)
    : matcher_(matcher), facilities_(facilities), options_(options) {}

void LinkEngine::PrepareRecord(const Record& record, absl::CivilDay today, absl::string_view region,
                               match::MatchRecord* out) const {
  match::PrepareOptions options;
  options.today = today;
  options.county_hint = region;
  matcher_->Prepare(record, options, out);
}

absl::CivilDay LinkEngine::RecordDay(int64_t event_micros) {
  return absl::ToCivilDay(absl::FromUnixMicros(event_micros), ChinaTime());
}

bool LinkEngine::PrepareLoadedRecord(RegionState* state, RecordHandle h) const {
  RecordState& r = state->record(h);
  if (r.stored.deleted()) return r.stored.blocking_tokens_size() != 0;
  PrepareRecord(r.stored.record(), RecordDay(r.stored.event_time_micros()), state->region(), &r.match);
  for (uint64_t t : r.match.blocking_tokens) state->AddBlockingToken(t, h);
  state->frequencies().Add(r.match);
  r.counted = true;
  const bool same = r.match.blocking_tokens.size() == static_cast<size_t>(r.stored.blocking_tokens_size()) &&
                    std::equal(r.match.blocking_tokens.begin(), r.match.blocking_tokens.end(),
                               r.stored.blocking_tokens().begin());
  if (!same) r.stored.mutable_blocking_tokens()->Assign(r.match.blocking_tokens.begin(), r.match.blocking_tokens.end());
  return !same;
}

absl::Status LinkEngine::Apply(const hisbridge::v1::InboxEvent& event, const InputPosition& position,
                               RegionState* state, RegionChanges* changes, EngineCounters* counters,
                               match::MatchRecord* prepared) const {
  Application app(*this, position, state, changes, counters);
  if (event.has_command()) {
    app.Command(event.command());
  } else if (event.has_record()) {
    const Record& record = event.record();
    // Ingest validated the record; parse the time again because the inbox
    // may also be written by other producers.
    auto parsed = ParseRfc3339(record.event_time());
    const absl::Time event_time = parsed.ok() ? *parsed : position.time;
    const int64_t micros = absl::ToUnixMicros(event_time);
    const absl::CivilDay today = absl::ToCivilDay(event_time, ChinaTime());
    switch (records::ParseKind(record.kind())) {
      case records::RecordKind::kPatient:
        switch (records::ParseOp(record.op())) {
          case records::RecordOp::kUpsert: app.PatientUpsert(record, micros, today, prepared); break;
          case records::RecordOp::kDelete: app.PatientDelete(record, micros); break;
          case records::RecordOp::kMerge: app.FacilityMerge(record, micros, today); break;
          case records::RecordOp::kUnknown: break;
        }
        break;
      case records::RecordKind::kEncounter:
      case records::RecordKind::kObservation:
      case records::RecordKind::kMedication:
        app.ClinicalEvent(record);
        break;
      case records::RecordKind::kUnknown:
        break;
    }
  }
  app.Finish();
  return absl::OkStatus();
}

}  // namespace hisbridge::linker
