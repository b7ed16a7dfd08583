#include "libs/linker/link_engine.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "libs/base/time_format.h"
#include "libs/match/comparison.h"
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
// candidates must be to be taken as the record's own, on top of the
// structural condition (an identifier, or the exact name where the other
// only comes close): 2^3 = 8 times.
constexpr double kClearMargin = 3.0;

// The audit trail's name of a change.
const char* ChangeAction(ChangeKind kind) {
  switch (kind) {
    case hisbridge::v1::CHANGE_KIND_CREATED: return "created";
    case hisbridge::v1::CHANGE_KIND_LINKED: return "linked";
    case hisbridge::v1::CHANGE_KIND_UNLINKED: return "unlinked";
    case hisbridge::v1::CHANGE_KIND_MERGED: return "merged";
    case hisbridge::v1::CHANGE_KIND_UNMERGED: return "unmerged";
    case hisbridge::v1::CHANGE_KIND_UPDATED: return "updated";
    case hisbridge::v1::CHANGE_KIND_DELETED: return "deleted";
    case hisbridge::v1::CHANGE_KIND_REVIEW_OPENED: return "review_opened";
    default: return "changed";
  }
}

// The facility rule (see ScoreCandidates) applies to records of people
// younger than this.
constexpr int kFacilityRuleMaxAge = 18;

struct PatientScore {
  std::string patient_id;
  double score = match::kCertainNonMatchScore;
  RecordHandle best_member = 0;
  bool same_resident_id = false;
  // Some member agrees on an identifier of one person.
  bool identifier_agrees = false;
  // Some member has exactly the record's name.
  bool names_identical = false;
  // Members from the record's own facility under a different name (the
  // facility took them for other people), and the best score over the
  // other members.
  std::vector<RecordHandle> facility_conflicts;
  double score_without_conflicts = match::kCertainNonMatchScore;
  bool capped_by_facility = false;
  // The record evidently belongs to the patient (an identifier or the
  // exact name of other members, and enough evidence without the
  // conflicting members): those members are the ones to move out.
  bool evict_conflicts = false;
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
        counters_(*counters) {}

  // `prepared` (may be null) is consumed; `fingerprint` is the record's
  // RecordFingerprint when the caller has it.
  void PatientUpsert(const Record& record, int64_t event_micros, absl::CivilDay today,
                     match::MatchRecord* prepared, std::optional<uint64_t> fingerprint = std::nullopt);
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
  // Moves out of candidate patients the records of the record's own facility that
  // are evidently other people (see the .cc), fixing the scores.
  void EvictFacilityConflicts(std::vector<PatientScore>* scores);
  // Notes members of a patient the record is excluded from that may be the
  // record's own (see the .cc); SecondLooks re-links them.
  void NoteMixedPatient(RecordHandle h, const PatientState& patient);
  // Splits a patient whose members carry two names, each spelled alike by
  // two or more records (see the .cc).
  void SplitSpellingGroups(const std::string& patient_id);
  void SecondLooks();
  // Moves the record into `patient_id` ("" = out of any patient).
  void MoveTo(RecordHandle h, const std::string& patient_id, LinkInfo link);
  PatientState& NewPatientFor(RecordHandle h);
  void OpenReview(RecordHandle h, const std::vector<PatientScore>& candidates, const std::string& reason);
  void CloseReviewIfOpen(RecordHandle h, const std::string& why,
                         hisbridge::v1::ReviewDecision decision = hisbridge::v1::REVIEW_DECISION_UNSPECIFIED);

  // Steward commands. Each returns what it did, or why it was refused
  // (nothing changed then).
  struct Outcome {
    bool applied = false;
    std::string text;
  };
  static Outcome Refused(std::string why) { return {false, std::move(why)}; }
  static Outcome Applied(std::string what) { return {true, std::move(what)}; }
  Outcome StewardLink(const hisbridge::v1::LinkRecordAction& action);
  Outcome StewardUnlink(const hisbridge::v1::UnlinkRecordAction& action);
  Outcome StewardMerge(const std::string& into_id, const std::string& from_id);
  Outcome StewardUnmerge(const hisbridge::v1::UnmergePatientsAction& action);
  Outcome StewardNotSame(const std::string& a, const std::string& b);
  Outcome StewardResolve(const hisbridge::v1::ResolveReviewAction& action);
  // The live record a steward names, or why there is none.
  RecordHandle* StewardRecord(absl::string_view facility_id, absl::string_view record_id, std::string* why);
  // The patient a steward names; a merged patient resolves to the one it
  // was merged into. Null (with `why`) when unknown.
  PatientState* StewardPatient(const std::string& patient_id, std::string* why);
  LinkInfo ManualLink() const {
    LinkInfo link = MakeLink(hisbridge::v1::LINK_METHOD_MANUAL, 0);
    link.set_pinned(true);
    return link;
  }
  // Audit entry and change event about a patient as a whole (no record).
  void AddPatientChange(ChangeKind kind, const std::string& patient_id, const std::string& other);
  // Both: `record` may be null.
  void AddChangeOf(ChangeKind kind, const std::string& patient_id, const RecordState* record,
                   const std::string& other, const LinkInfo* link);

  void AddChange(ChangeKind kind, const std::string& patient_id, RecordHandle h, const std::string& other = "",
                 const LinkInfo* link = nullptr);
  void AddAudit(const std::string& patient_id, const std::string& action, const RecordState* record,
                const std::string& other, const LinkInfo* link);

  LinkInfo MakeLink(LinkMethod method, double score) const {
    LinkInfo link;
    link.set_method(method);
    if (std::isfinite(score)) link.set_score(score);
    // Provenance is for the audit trail and the views; without history
    // (the batch command) it would only cost two strings per record.
    if (engine_.options_.keep_history) {
      link.set_model_version(matcher_.version());
      link.set_decided_at(now());
    }
    return link;
  }

  const LinkEngine& engine_;
  const match::Matcher& matcher_;
  const InputPosition& position_;
  RegionState& state_;
  RegionChanges& changes_;
  EngineCounters& counters_;
  // The event's time as RFC 3339, formatted on first use: the batch linker
  // applies a million records that never need it.
  const std::string& now() const {
    if (!now_.has_value()) now_ = FormatRfc3339(position_.time);
    return *now_;
  }

  mutable std::optional<std::string> now_;
  std::set<std::string> touched_;
  // Inside a re-evaluation triggered by another record (no further ones).
  bool reevaluating_ = false;
  // Records to re-evaluate once the current record is placed.
  std::vector<RecordHandle> second_look_;
  // The steward command being applied (its actor and reason go into the
  // audit trail), and its result, completed by Finish.
  const hisbridge::v1::StewardCommand* command_ = nullptr;
  std::optional<hisbridge::v1::CommandResult> command_result_;
  size_t first_change_ = changes_.change_events.size();
};

void LinkEngine::Application::SetPrepared(RecordHandle h, match::MatchRecord* prepared) {
  RecordState& r = Rec(h);
  if (r.counted) {
    state_.frequencies().Remove(r.match);
    r.counted = false;
  }
  // The tokens live in the MatchRecord only; StateStore copies them into
  // the stored record when it persists it.
  std::vector<uint64_t> old = std::move(r.match.blocking_tokens);
  if (prepared != nullptr) {
    std::swap(r.match, *prepared);
  } else {
    r.match = match::MatchRecord();
  }
  const std::vector<uint64_t>& tokens = r.match.blocking_tokens;  // sorted, unique
  for (uint64_t t : tokens) state_.PrefetchBlocking(t);
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
  if (prepared != nullptr) {
    state_.frequencies().Add(r.match);
    r.counted = true;
  }
}

namespace {

// Asks the CPU to start loading a member's match form, which the
// comparison reads nearly all of.
inline void PrefetchMatchForm(const match::MatchRecord& m) {
  const char* p = reinterpret_cast<const char*>(&m);
  for (size_t offset = 0; offset < sizeof(match::MatchRecord); offset += 64) __builtin_prefetch(p + offset);
}

}  // namespace

std::vector<PatientScore> LinkEngine::Application::ScoreCandidates(RecordHandle h) {
  const match::MatchRecord& m = Rec(h).match;
  // Candidate patients by their dense indices: sorting and de-duplicating
  // integers, not id strings (a common name's blocks hold hundreds of
  // records). Index order is creation order, i.e. patient id order.
  // The blocks' records are gathered first, so that their patient indices
  // (one cache miss each in a large region) can be loaded ahead.
  thread_local std::vector<RecordHandle> blocked_records;
  thread_local std::vector<PatientIndex> candidate_patients;
  blocked_records.clear();
  candidate_patients.clear();
  for (uint64_t token : m.blocking_tokens) state_.PrefetchBlocking(token);
  for (uint64_t token : m.blocking_tokens) {
    const BlockList* blocked = state_.Blocked(token);
    if (blocked == nullptr) continue;
    if (blocked->size() > engine_.options_.max_block_size) {
      ++counters_.oversized_blocks_skipped;
      continue;
    }
    // Only live records are indexed under tokens (a delete removes them),
    // so the dense patient array is all the next loop reads.
    for (RecordHandle c : *blocked) {
      if (c != h) blocked_records.push_back(c);
    }
  }
  constexpr size_t kIndexLookahead = 8;
  for (size_t i = 0; i < blocked_records.size(); ++i) {
    if (i + kIndexLookahead < blocked_records.size()) {
      state_.PrefetchPatientIndexOf(blocked_records[i + kIndexLookahead]);
    }
    const PatientIndex p = state_.patient_index_of(blocked_records[i]);
    if (p != kNoPatient) candidate_patients.push_back(p);
  }
  // The record's own patient is always re-examined, so that a record whose
  // evidence changed can leave it.
  const std::string& current = Rec(h).patient_id();
  const PatientIndex current_index = state_.patient_index_of(h);
  if (current_index != kNoPatient) candidate_patients.push_back(current_index);
  std::sort(candidate_patients.begin(), candidate_patients.end());
  candidate_patients.erase(std::unique(candidate_patients.begin(), candidate_patients.end()),
                           candidate_patients.end());

  const match::Thresholds thresholds = matcher_.thresholds();
  std::vector<PatientScore> scores;
  const bool check_not_same = state_.HasNotSamePairs() && !current.empty();
  for (size_t ci = 0; ci < candidate_patients.size(); ++ci) {
    const PatientIndex candidate = candidate_patients[ci];
    // Candidate search is bound by memory latency (patients and records
    // are scattered over a large heap): start loading the next candidate
    // while this one is scored.
    // Four ahead the patient itself, two ahead (loaded by now) its first
    // member's match form: a candidate excluded by its first member takes
    // less time than a load from memory.
    if (ci + 4 < candidate_patients.size()) __builtin_prefetch(&state_.patient_at(candidate_patients[ci + 4]));
    if (ci + 2 < candidate_patients.size()) {
      const MemberList& next_members = state_.patient_at(candidate_patients[ci + 2]).members;
      if (!next_members.empty()) PrefetchMatchForm(Rec(next_members[0]).match);
    }
    PatientState* patient = &state_.patient_at(candidate);
    const std::string& pid = patient->stored.patient_id();
    if (check_not_same && candidate != current_index && state_.IsNotSame(current, pid)) continue;
    PatientScore ps;
    bool excluded = false;
    bool any_member = false;
    bool facility_conflict = false;
    const MemberList& members = patient->members;
    for (size_t mi = 0; mi < members.size(); ++mi) {
      const RecordHandle mh = members[mi];
      if (mi + 1 < members.size()) PrefetchMatchForm(Rec(members[mi + 1]).match);
      if (mh == h) continue;
      any_member = true;
      const match::MatchRecord& other = Rec(mh).match;
      match::PairScore s = matcher_.Score(m, other, state_.frequencies());
      if (s.certain_non_match) {
        // One forbidden pair excludes the whole patient: linking would put
        // the two (e.g. twins with different ids) into one person.
        excluded = true;
        NoteMixedPatient(h, *patient);
        break;
      }
      if ((m.placeholder_name || other.placeholder_name) && !s.same_resident_id) continue;
      // The record's own facility already has another record in this
      // patient under a different name: the facility itself took them for
      // two people (twins registered together), and one clinic rarely
      // registers one person twice under two spellings.
      // Only for children (or records of unknown age) and records without
      // resident ids: adults with ids are told apart by them, while a
      // clinic's second record of one adult under a mistyped name is
      // common (an outpatient and an inpatient number) and should link.
      const bool minor = (m.age_years < 0 && other.age_years < 0) ||
                         (m.age_years >= 0 && m.age_years < kFacilityRuleMaxAge) ||
                         (other.age_years >= 0 && other.age_years < kFacilityRuleMaxAge);
      const bool without_ids = m.resident_id.empty() && other.resident_id.empty();
      if ((minor || without_ids) && !s.identifier_agrees && !s.names_identical &&
          Rec(mh).facility_id() == Rec(h).facility_id()) {
        facility_conflict = true;
        ps.facility_conflicts.push_back(mh);
      } else if (s.score > ps.score_without_conflicts) {
        ps.score_without_conflicts = s.score;
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
    const double upper = thresholds.upper;
    if (facility_conflict && !ps.identifier_agrees && ps.score >= upper) {
      ps.score = upper - 1e-3;
      ps.capped_by_facility = true;
      ++counters_.facility_conflicts;
    }
    ps.evict_conflicts = facility_conflict && (ps.identifier_agrees || ps.names_identical) &&
                         ps.score_without_conflicts >= upper;
    // Link acts only on candidates at or above the lower threshold, and
    // EvictFacilityConflicts only on those that evict (the only scores it
    // changes). The rest are dropped before they get their id: copying it
    // was a cache miss for every candidate of every record.
    if (ps.score < thresholds.lower && !ps.evict_conflicts) continue;
    ps.patient_id = pid;
    scores.push_back(std::move(ps));
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
  if (engine_.options_.keep_history) p.stored.set_created_at(now());
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
      if (engine_.options_.keep_records) {
        auto* members = p->stored.mutable_members();
        for (int i = 0; i < members->size(); ++i) {
          if (members->Get(i).facility_id() == r.facility_id() && members->Get(i).record_id() == r.record_id()) {
            members->DeleteSubrange(i, 1);
            break;
          }
        }
      }
      if (p->members.empty() && p->stored.status() == hisbridge::v1::PATIENT_STATUS_ACTIVE) {
        p->stored.set_status(hisbridge::v1::PATIENT_STATUS_RETIRED);
      }
      Touch(old);
      AddChange(hisbridge::v1::CHANGE_KIND_UNLINKED, old, h, patient_id);
    }
  }
  state_.SetPatientOf(h, patient_id);
  *r.link.mutable_link() = std::move(link);
  MarkRecord(h);
  if (!patient_id.empty()) {
    r.stored.clear_former_patient_id();
    PatientState* p = state_.FindPatient(patient_id);
    p->members.push_back(h);
    if (engine_.options_.keep_records) {
      auto* member = p->stored.add_members();
      member->set_facility_id(r.facility_id());
      member->set_record_id(r.record_id());
    }
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
  EvictFacilityConflicts(&scores);
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
      // A lone record the new member matches strongly may now match its
      // patient too (the new member bridges them): give it its turn, as if
      // it had arrived now. It links only if the patient is then its single
      // strong candidate.
      if (!reevaluating_) {
        reevaluating_ = true;
        for (size_t i = 1; i < above.size(); ++i) {
          const PatientState* other = state_.FindPatient(above[i].patient_id);
          if (other == nullptr || other->members.size() != 1) continue;
          const RecordHandle lone = other->members[0];
          if (Rec(lone).link.link().pinned()) continue;
          Link(lone);
          ++counters_.bridged_relinks;
        }
        reevaluating_ = false;
      }
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

void LinkEngine::Application::NoteMixedPatient(RecordHandle h, const PatientState& patient) {
  if (reevaluating_) return;
  // The record cannot join this patient (a member has another valid
  // resident id), yet members there bear exactly its name without an id
  // of their own: the patient may hold two people (twins, one of whose
  // records joined the other before their ids showed them apart). Those
  // members get a second look once the record has its place.
  const match::MatchRecord& m = Rec(h).match;
  for (RecordHandle x : patient.members) {
    if (x == h) continue;
    const match::MatchRecord& other = Rec(x).match;
    if (!other.resident_id.empty() || other.name.empty() || m.name.empty()) continue;
    const uint8_t name = match::CompareName(m.name, other.name);
    if (name != match::level::kNameExact && name != match::level::kNameVariant &&
        name != match::level::kNameLatinEqual) {
      continue;
    }
    if (std::find(second_look_.begin(), second_look_.end(), x) == second_look_.end()) second_look_.push_back(x);
  }
}

void LinkEngine::Application::SecondLooks() {
  if (reevaluating_ || second_look_.empty()) return;
  reevaluating_ = true;
  std::vector<RecordHandle> pending;
  pending.swap(second_look_);
  for (RecordHandle x : pending) {
    RecordState& r = Rec(x);
    if (!r.live() || r.patient_id().empty() || r.link.link().pinned()) continue;
    Link(x);
    ++counters_.second_looks;
  }
  reevaluating_ = false;
}

void LinkEngine::Application::EvictFacilityConflicts(std::vector<PatientScore>* scores) {
  bool evicted = false;
  for (PatientScore& ps : *scores) {
    // The record has the exact name of some members and strong evidence
    // without the conflicting ones, and the facility's other record under
    // a different name is in the patient: that record is the one that does
    // not belong (a twin who joined her sister before the facility's own
    // records showed them to be two). It leaves, with a review item.
    if (!ps.evict_conflicts) continue;
    bool pinned = false;
    for (RecordHandle m : ps.facility_conflicts) pinned |= Rec(m).link.link().pinned();
    if (pinned) continue;
    for (RecordHandle m : ps.facility_conflicts) {
      if (Rec(m).patient_id() != ps.patient_id) continue;
      const PatientState* patient = state_.FindPatient(ps.patient_id);
      if (patient == nullptr || patient->members.size() <= 1) continue;
      PatientScore left;
      left.patient_id = ps.patient_id;
      for (RecordHandle other : patient->members) {
        if (other == m) continue;
        const match::PairScore pair = matcher_.Score(Rec(m).match, Rec(other).match, state_.frequencies());
        if (pair.score > left.score) {
          left.score = pair.score;
          left.best_member = other;
        }
      }
      PatientState& own = NewPatientFor(m);
      MoveTo(m, own.stored.patient_id(), MakeLink(hisbridge::v1::LINK_METHOD_NEW_PATIENT, 0));
      OpenReview(m, {left}, "same_facility_different_person");
      ++counters_.facility_evictions;
      evicted = true;
    }
    if (ps.capped_by_facility) ps.score = ps.score_without_conflicts;
    ps.capped_by_facility = false;
  }
  if (evicted) {
    std::sort(scores->begin(), scores->end(), [](const PatientScore& a, const PatientScore& b) {
      if (a.score != b.score) return a.score > b.score;
      return a.patient_id < b.patient_id;
    });
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
  SplitSpellingGroups(target.patient_id);
}

void LinkEngine::Application::SplitSpellingGroups(const std::string& patient_id) {
  PatientState* patient = state_.FindPatient(patient_id);
  if (patient == nullptr || patient->members.size() < 4) return;
  // Children only, as for the facility rule: adults' records carry ids,
  // and an adult's name may well be written two ways by many clinics
  // (晓/小) while an identifier joins them.
  const int age = Rec(patient->members.front()).match.age_years;
  if (age < 0 || age >= kFacilityRuleMaxAge) return;
  // Members by their exact (simplified) name.
  std::vector<std::pair<std::string, std::vector<RecordHandle>>> groups;
  for (RecordHandle m : patient->members) {
    const core::NormalizedName& name = Rec(m).match.name;
    if (name.script != core::NameScript::kHan || Rec(m).match.placeholder_name) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == name.han; });
    if (it == groups.end()) {
      groups.push_back({name.han, {m}});
    } else {
      it->second.push_back(m);
    }
  }
  if (groups.size() < 2) return;
  // Two names, each written the same way by two or more records: one
  // person's name is mistyped the same way twice only rarely, while twins
  // (梁宇诚 and 梁宇辰) each keep their own spelling. Unless an identifier
  // of one person spans the groups, the group without the patient's first
  // member leaves, with a review item.
  const std::string first_name = Rec(patient->members.front()).match.name.han;
  const auto staying_it =
      std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == first_name; });
  if (staying_it == groups.end() || staying_it->second.size() < 2) return;
  const auto& staying = *staying_it;
  for (const auto& [name, members] : groups) {
    if (name == first_name || members.size() < 2) continue;
    bool shared_identifier = false;
    bool pinned = false;
    for (RecordHandle x : members) {
      pinned |= Rec(x).link.link().pinned();
      for (RecordHandle y : patient->members) {
        if (std::find(members.begin(), members.end(), y) != members.end()) continue;
        if (matcher_.Score(Rec(x).match, Rec(y).match, state_.frequencies()).identifier_agrees) shared_identifier = true;
      }
    }
    if (shared_identifier || pinned) continue;
    PatientState& own = NewPatientFor(members.front());
    const std::string own_id = own.stored.patient_id();
    const std::vector<RecordHandle> moving = members;
    for (RecordHandle x : moving) {
      MoveTo(x, own_id, MakeLink(hisbridge::v1::LINK_METHOD_NEW_PATIENT, 0));
    }
    PatientScore left;
    left.patient_id = patient_id;
    left.best_member = staying.second.front();
    left.score = matcher_.Score(Rec(moving.front()).match, Rec(left.best_member).match, state_.frequencies()).score;
    OpenReview(moving.front(), {left}, "possible_twins");
    ++counters_.spelling_splits;
    return;  // the patient changed; one split per link
  }
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
  item.set_created_at(now());
  r.stored.clear_review_candidate_ids();
  for (const PatientScore& s : candidates) {
    r.stored.add_review_candidate_ids(s.patient_id);
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

void LinkEngine::Application::CloseReviewIfOpen(RecordHandle h, const std::string& why,
                                                 hisbridge::v1::ReviewDecision decision) {
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
    for (const std::string& candidate : r.stored.review_candidate_ids()) item.add_candidates()->set_patient_id(candidate);
    item.set_resolved_at(now());
    item.set_resolved_by(command_ != nullptr ? command_->actor() : absl::StrCat("linker: ", why));
    item.set_decision(decision);
    changes_.review_items.push_back(std::move(item));
    AddAudit(r.patient_id(), "review_resolved", &r, "", nullptr);
  }
  r.stored.clear_open_review_id();
  r.stored.clear_review_candidate_ids();
  MarkRecord(h);
}

void LinkEngine::Application::AddChange(ChangeKind kind, const std::string& patient_id, RecordHandle h,
                                        const std::string& other, const LinkInfo* link) {
  AddChangeOf(kind, patient_id, &Rec(h), other, link);
}

void LinkEngine::Application::AddPatientChange(ChangeKind kind, const std::string& patient_id,
                                               const std::string& other) {
  AddChangeOf(kind, patient_id, nullptr, other, nullptr);
}

void LinkEngine::Application::AddChangeOf(ChangeKind kind, const std::string& patient_id, const RecordState* record,
                                          const std::string& other, const LinkInfo* link) {
  if (!engine_.options_.keep_history) return;
  hisbridge::v1::ChangeEvent e;
  e.set_kind(kind);
  e.set_patient_id(patient_id);
  e.set_other_patient_id(other);
  if (record != nullptr) {
    e.set_facility_id(record->facility_id());
    e.set_record_id(record->record_id());
  }
  e.set_time(now());
  e.mutable_cause()->set_topic(position_.topic);
  e.mutable_cause()->set_partition(position_.partition);
  e.mutable_cause()->set_offset(position_.offset);
  if (link != nullptr) *e.mutable_link() = *link;
  changes_.change_events.push_back(e);
  AddAudit(patient_id, ChangeAction(kind), record, other, link);
}

void LinkEngine::Application::AddAudit(const std::string& patient_id, const std::string& action,
                                       const RecordState* record, const std::string& other, const LinkInfo* link) {
  if (!engine_.options_.keep_history || patient_id.empty()) return;
  hisbridge::v1::HistoryEntry entry;
  entry.set_time(now());
  entry.set_action(action);
  if (record != nullptr) {
    entry.set_facility_id(record->facility_id());
    entry.set_record_id(record->record_id());
  }
  entry.set_other_patient_id(other);
  if (command_ != nullptr) {
    entry.set_actor(command_->actor());
    entry.set_reason(command_->reason());
  }
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
                                            match::MatchRecord* prepared, std::optional<uint64_t> fingerprint_given) {
  bool created = false;
  const RecordHandle h = state_.GetOrCreateHandle(record.facility_id(), record.record_id(), &created);
  RecordState& r = Rec(h);
  if (!created && event_micros < r.stored.event_time_micros()) {
    // An older version arriving late must never overwrite a newer one.
    ++counters_.stale_ignored;
    return;
  }
  const bool was_live = !created && r.live() && !r.patient_id().empty();
  const uint64_t fingerprint = fingerprint_given.has_value() ? *fingerprint_given : RecordFingerprint(record);
  if (was_live && r.content_hash == fingerprint) {
    // A re-send of the same version: nothing to do.
    r.stored.set_event_time_micros(event_micros);
    MarkRecord(h);
    return;
  }
  r.content_hash = fingerprint;
  if (engine_.options_.keep_records) {
    *r.stored.mutable_record() = record;
    r.stored.mutable_record()->clear_op();
  }
  // Otherwise only the identity is kept (by the region); the MatchRecord
  // holds what linking needs.
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
  SecondLooks();
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
    Record copy = Rec(mh).stored.record();  // empty but for the identity without kept records
    copy.set_facility_id(record.facility_id());
    copy.set_record_id(survivor_id);
    copy.set_event_time(record.event_time());
    // Without kept records the merged record's preparation is all there is
    // of its demographics: the survivor takes it over.
    match::MatchRecord taken = Rec(mh).match;
    PatientUpsert(copy, event_micros, today, engine_.options_.keep_records ? nullptr : &taken);
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
  command_ = &command;
  using Action = hisbridge::v1::StewardCommand;
  Outcome outcome;
  switch (command.action_case()) {
    case Action::kLinkRecord: outcome = StewardLink(command.link_record()); break;
    case Action::kUnlinkRecord: outcome = StewardUnlink(command.unlink_record()); break;
    case Action::kMergePatients:
      outcome = StewardMerge(command.merge_patients().into_patient_id(), command.merge_patients().from_patient_id());
      break;
    case Action::kUnmergePatients: outcome = StewardUnmerge(command.unmerge_patients()); break;
    case Action::kNotSamePerson:
      outcome = StewardNotSame(command.not_same_person().patient_id(), command.not_same_person().other_patient_id());
      break;
    case Action::kResolveReview: outcome = StewardResolve(command.resolve_review()); break;
    case Action::ACTION_NOT_SET: outcome = Refused("the command carries no action"); break;
  }
  if (outcome.applied) {
    ++counters_.commands_applied;
  } else {
    ++counters_.commands_refused;
  }
  hisbridge::v1::CommandResult result;
  result.set_command_id(command.command_id());
  result.set_applied(outcome.applied);
  result.set_result(std::move(outcome.text));
  result.mutable_position()->set_topic(position_.topic);
  result.mutable_position()->set_partition(position_.partition);
  result.mutable_position()->set_offset(position_.offset);
  result.set_time(now());
  result.set_actor(command.actor());
  command_result_ = std::move(result);
}

RecordHandle* LinkEngine::Application::StewardRecord(absl::string_view facility_id, absl::string_view record_id,
                                                     std::string* why) {
  RecordHandle* h = state_.FindHandle(facility_id, record_id);
  if (h == nullptr) {
    *why = absl::StrCat("record ", facility_id, "/", record_id, " is not in the index of region ", state_.region());
    return nullptr;
  }
  if (!Rec(*h).live()) {
    *why = absl::StrCat("record ", facility_id, "/", record_id,
                        Rec(*h).stored.merged_into_record_id().empty()
                            ? " was deleted by its facility"
                            : absl::StrCat(" was merged by its facility into ", Rec(*h).stored.merged_into_record_id()));
    return nullptr;
  }
  return h;
}

PatientState* LinkEngine::Application::StewardPatient(const std::string& patient_id, std::string* why) {
  if (patient_id.empty()) {
    *why = "patient_id is empty";
    return nullptr;
  }
  PatientState* p = state_.FindPatient(patient_id);
  for (int hops = 0; p != nullptr && p->stored.status() == hisbridge::v1::PATIENT_STATUS_MERGED && hops < 64; ++hops) {
    p = state_.FindPatient(p->stored.merged_into());
  }
  if (p == nullptr) *why = absl::StrCat("patient ", patient_id, " is not in the index of region ", state_.region());
  return p;
}

LinkEngine::Application::Outcome LinkEngine::Application::StewardLink(const hisbridge::v1::LinkRecordAction& action) {
  std::string why;
  RecordHandle* h = StewardRecord(action.facility_id(), action.record_id(), &why);
  if (h == nullptr) return Refused(why);
  PatientState* target = StewardPatient(action.patient_id(), &why);
  if (target == nullptr) return Refused(why);
  const std::string target_id = target->stored.patient_id();
  const std::string before = Rec(*h).patient_id();
  CloseReviewIfOpen(*h, "", hisbridge::v1::REVIEW_DECISION_LINK);
  MoveTo(*h, target_id, ManualLink());
  if (before == target_id) {
    return Applied(absl::StrCat("record ", action.facility_id(), "/", action.record_id(), " was already in ",
                                target_id, "; it is now pinned there"));
  }
  return Applied(absl::StrCat("linked record ", action.facility_id(), "/", action.record_id(), " to ", target_id,
                              before.empty() ? "" : absl::StrCat(" (was in ", before, ")"), "; pinned"));
}

LinkEngine::Application::Outcome LinkEngine::Application::StewardUnlink(
    const hisbridge::v1::UnlinkRecordAction& action) {
  std::string why;
  RecordHandle* h = StewardRecord(action.facility_id(), action.record_id(), &why);
  if (h == nullptr) return Refused(why);
  const std::string before = Rec(*h).patient_id();
  const PatientState* current = before.empty() ? nullptr : state_.FindPatient(before);
  CloseReviewIfOpen(*h, "", hisbridge::v1::REVIEW_DECISION_NEW_PATIENT);
  if (current != nullptr && current->members.size() == 1) {
    MoveTo(*h, before, ManualLink());
    return Applied(absl::StrCat("record ", action.facility_id(), "/", action.record_id(), " is already alone in ",
                                before, "; it is now pinned there"));
  }
  PatientState& own = NewPatientFor(*h);
  const std::string own_id = own.stored.patient_id();
  MoveTo(*h, own_id, ManualLink());
  return Applied(absl::StrCat("split record ", action.facility_id(), "/", action.record_id(), " out of ", before,
                              " into new patient ", own_id, "; pinned"));
}

LinkEngine::Application::Outcome LinkEngine::Application::StewardMerge(const std::string& into_id,
                                                                       const std::string& from_id) {
  if (into_id.empty() || from_id.empty()) return Refused("into_patient_id and from_patient_id are both required");
  if (into_id == from_id) return Refused(absl::StrCat("cannot merge patient ", into_id, " into itself"));
  PatientState* into = state_.FindPatient(into_id);
  PatientState* from = state_.FindPatient(from_id);
  if (into == nullptr) return Refused(absl::StrCat("patient ", into_id, " is not in the index of region ", state_.region()));
  if (from == nullptr) return Refused(absl::StrCat("patient ", from_id, " is not in the index of region ", state_.region()));
  if (from->stored.status() == hisbridge::v1::PATIENT_STATUS_MERGED) {
    return Refused(absl::StrCat("patient ", from_id, " was already merged into ", from->stored.merged_into()));
  }
  if (into->stored.status() == hisbridge::v1::PATIENT_STATUS_MERGED) {
    return Refused(absl::StrCat("patient ", into_id, " was merged into ", into->stored.merged_into(),
                                "; merge into that patient instead"));
  }
  if (from->members.empty()) return Refused(absl::StrCat("patient ", from_id, " has no live records to merge"));
  if (state_.IsNotSame(into_id, from_id)) {
    return Refused(absl::StrCat("patients ", into_id, " and ", from_id,
                                " were marked as different people by a steward"));
  }
  // What the merged-away patient was, so that an unmerge restores it.
  from->stored.clear_merged_members();
  for (RecordHandle m : from->members) {
    auto* saved = from->stored.add_merged_members();
    saved->mutable_key()->set_facility_id(Rec(m).facility_id());
    saved->mutable_key()->set_record_id(Rec(m).record_id());
    *saved->mutable_link() = Rec(m).link.link();
  }
  const MemberList moving = from->members;
  for (RecordHandle m : moving) MoveTo(m, into_id, ManualLink());
  from = state_.FindPatient(from_id);
  from->stored.set_status(hisbridge::v1::PATIENT_STATUS_MERGED);
  from->stored.set_merged_into(into_id);
  Touch(from_id);
  Touch(into_id);
  AddPatientChange(hisbridge::v1::CHANGE_KIND_MERGED, into_id, from_id);
  AddPatientChange(hisbridge::v1::CHANGE_KIND_MERGED, from_id, into_id);
  return Applied(absl::StrCat("merged patient ", from_id, " into ", into_id, " (", moving.size(),
                              moving.size() == 1 ? " record)" : " records)"));
}

LinkEngine::Application::Outcome LinkEngine::Application::StewardUnmerge(
    const hisbridge::v1::UnmergePatientsAction& action) {
  const std::string& survivor_id = action.patient_id();
  const std::string& restore_id = action.restore_patient_id();
  PatientState* restore = restore_id.empty() ? nullptr : state_.FindPatient(restore_id);
  if (restore == nullptr) {
    return Refused(absl::StrCat("patient ", restore_id, " is not in the index of region ", state_.region()));
  }
  if (restore->stored.status() != hisbridge::v1::PATIENT_STATUS_MERGED) {
    return Refused(absl::StrCat("patient ", restore_id, " is not merged into another patient"));
  }
  if (restore->stored.merged_into() != survivor_id) {
    return Refused(absl::StrCat("patient ", restore_id, " was merged into ", restore->stored.merged_into(), ", not ",
                                survivor_id));
  }
  const auto saved = restore->stored.merged_members();
  restore->stored.clear_merged_members();
  restore->stored.clear_merged_into();
  restore->stored.set_status(hisbridge::v1::PATIENT_STATUS_RETIRED);
  int restored = 0, moved_since = 0;
  for (const auto& member : saved) {
    RecordHandle* h = state_.FindHandle(member.key().facility_id(), member.key().record_id());
    if (h == nullptr || !Rec(*h).live() || Rec(*h).patient_id() != survivor_id) {
      // Deleted, or moved by a later decision: that decision stands.
      ++moved_since;
      continue;
    }
    MoveTo(*h, restore_id, member.link());
    ++restored;
  }
  // Undoing a merge says the two are different people: never suggest
  // them again.
  if (state_.AddNotSame(survivor_id, restore_id)) changes_.meta = true;
  Touch(restore_id);
  Touch(survivor_id);
  AddPatientChange(hisbridge::v1::CHANGE_KIND_UNMERGED, survivor_id, restore_id);
  AddPatientChange(hisbridge::v1::CHANGE_KIND_UNMERGED, restore_id, survivor_id);
  return Applied(absl::StrCat("restored patient ", restore_id, " from ", survivor_id, " (", restored, " records",
                              moved_since > 0 ? absl::StrCat("; ", moved_since, " deleted or moved since, left as they are")
                                              : "",
                              "); the two are marked as different people"));
}

LinkEngine::Application::Outcome LinkEngine::Application::StewardNotSame(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return Refused("patient_id and other_patient_id are both required");
  if (a == b) return Refused(absl::StrCat("patient ", a, " cannot be marked different from itself"));
  for (const std::string* id : {&a, &b}) {
    if (state_.FindPatient(*id) == nullptr) {
      return Refused(absl::StrCat("patient ", *id, " is not in the index of region ", state_.region()));
    }
  }
  if (!state_.AddNotSame(a, b)) return Applied(absl::StrCat("patients ", a, " and ", b, " were already marked as different people"));
  changes_.meta = true;
  AddAudit(a, "not_same_person", nullptr, b, nullptr);
  AddAudit(b, "not_same_person", nullptr, a, nullptr);
  Touch(a);
  Touch(b);
  return Applied(absl::StrCat("patients ", a, " and ", b, " are marked as different people"));
}

LinkEngine::Application::Outcome LinkEngine::Application::StewardResolve(
    const hisbridge::v1::ResolveReviewAction& action) {
  if (action.review_id().empty()) return Refused("review_id is empty");
  // Commands are rare: a scan beats keeping an index of open items.
  std::optional<RecordHandle> found;
  for (size_t i = 0; i < state_.record_count(); ++i) {
    if (state_.record(static_cast<RecordHandle>(i)).stored.open_review_id() == action.review_id()) {
      found = static_cast<RecordHandle>(i);
      break;
    }
  }
  if (!found.has_value()) {
    return Refused(absl::StrCat("review item ", action.review_id(), " is not open (resolved already, or unknown)"));
  }
  const RecordHandle h = *found;
  RecordState& r = Rec(h);
  const std::vector<std::string> candidates(r.stored.review_candidate_ids().begin(),
                                            r.stored.review_candidate_ids().end());
  const std::string own = r.patient_id();
  auto is_candidate = [&](const std::string& id) {
    return std::find(candidates.begin(), candidates.end(), id) != candidates.end();
  };
  const std::string candidate_list = absl::StrJoin(candidates, ", ");
  switch (action.decision()) {
    case hisbridge::v1::REVIEW_DECISION_LINK: {
      if (!is_candidate(action.patient_id())) {
        return Refused(absl::StrCat("patient '", action.patient_id(), "' is not a candidate of review item ",
                                    action.review_id(), " (candidates: ", candidate_list, ")"));
      }
      std::string why;
      PatientState* target = StewardPatient(action.patient_id(), &why);
      if (target == nullptr) return Refused(why);
      const std::string target_id = target->stored.patient_id();
      CloseReviewIfOpen(h, "", action.decision());
      MoveTo(h, target_id, ManualLink());
      return Applied(absl::StrCat("review ", action.review_id(), ": linked record ", r.facility_id(), "/",
                                  r.record_id(), " to ", target_id, "; pinned"));
    }
    case hisbridge::v1::REVIEW_DECISION_NEW_PATIENT: {
      CloseReviewIfOpen(h, "", action.decision());
      hisbridge::v1::UnlinkRecordAction unlink;
      unlink.set_facility_id(r.facility_id());
      unlink.set_record_id(r.record_id());
      Outcome o = StewardUnlink(unlink);
      return Applied(absl::StrCat("review ", action.review_id(), ": ", o.text));
    }
    case hisbridge::v1::REVIEW_DECISION_MERGE: {
      // The chosen patient survives; the record's own patient and the other
      // candidates are folded into it.
      const std::string& chosen = action.patient_id();
      if (!is_candidate(chosen) && chosen != own) {
        return Refused(absl::StrCat("patient '", chosen, "' is neither the record's patient nor a candidate of review ",
                                    action.review_id(), " (candidates: ", candidate_list, ")"));
      }
      std::string why;
      PatientState* target = StewardPatient(chosen, &why);
      if (target == nullptr) return Refused(why);
      const std::string target_id = target->stored.patient_id();
      CloseReviewIfOpen(h, "", action.decision());
      std::vector<std::string> parts;
      std::vector<std::string> others = candidates;
      if (!own.empty()) others.push_back(own);
      for (const std::string& other : others) {
        std::string ignored;
        PatientState* p = StewardPatient(other, &ignored);
        if (p == nullptr || p->stored.patient_id() == target_id) continue;
        parts.push_back(StewardMerge(target_id, p->stored.patient_id()).text);
      }
      return Applied(absl::StrCat("review ", action.review_id(), ": ",
                                  parts.empty() ? "nothing to merge" : absl::StrJoin(parts, "; ")));
    }
    case hisbridge::v1::REVIEW_DECISION_NOT_SAME: {
      if (own.empty()) return Refused(absl::StrCat("the record of review ", action.review_id(), " has no patient"));
      std::vector<std::string> others;
      if (!action.patient_id().empty()) {
        if (!is_candidate(action.patient_id())) {
          return Refused(absl::StrCat("patient '", action.patient_id(), "' is not a candidate of review item ",
                                      action.review_id(), " (candidates: ", candidate_list, ")"));
        }
        others.push_back(action.patient_id());
      } else {
        others = candidates;
      }
      CloseReviewIfOpen(h, "", action.decision());
      std::vector<std::string> parts;
      for (const std::string& other : others) {
        if (other == own || state_.FindPatient(other) == nullptr) continue;
        parts.push_back(StewardNotSame(own, other).text);
      }
      return Applied(absl::StrCat("review ", action.review_id(), ": ",
                                  parts.empty() ? "no other patient to mark" : absl::StrJoin(parts, "; ")));
    }
    default:
      return Refused(absl::StrCat("review ", action.review_id(),
                                  ": decision must be LINK, NEW_PATIENT, MERGE or NOT_SAME"));
  }
}

void LinkEngine::Application::Finish() {
  for (const std::string& pid : touched_) {
    PatientState* p = state_.FindPatient(pid);
    if (p == nullptr) continue;
    p->stored.set_version(p->stored.version() + 1);
    if (engine_.options_.keep_history) p->stored.set_updated_at(now());
    changes_.patients.insert(pid);
  }
  for (size_t i = first_change_; i < changes_.change_events.size(); ++i) {
    hisbridge::v1::ChangeEvent& e = changes_.change_events[i];
    if (PatientState* p = state_.FindPatient(e.patient_id())) e.set_version(p->stored.version());
  }
  if (command_result_.has_value()) {
    for (const std::string& pid : touched_) command_result_->add_patient_ids(pid);
    changes_.command_results.push_back(std::move(*command_result_));
    command_result_.reset();
  }
  command_ = nullptr;
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

void LinkEngine::PrepareUpsert(const Record& record, absl::CivilDay today, absl::string_view region,
                               PreparedUpsert* out) const {
  PrepareRecord(record, today, region, &out->match);
  out->fingerprint = RecordFingerprint(record);
}

absl::CivilDay LinkEngine::RecordDay(int64_t event_micros) {
  return absl::ToCivilDay(absl::FromUnixMicros(event_micros), ChinaTime());
}

bool LinkEngine::PrepareLoadedRecord(RegionState* state, RecordHandle h) const {
  RecordState& r = state->record(h);
  r.content_hash = RecordFingerprint(r.stored.record());
  bool same = r.stored.blocking_tokens_size() == 0;
  if (!r.stored.deleted()) {
    PrepareRecord(r.stored.record(), RecordDay(r.stored.event_time_micros()), state->region(), &r.match);
    for (uint64_t t : r.match.blocking_tokens) state->AddBlockingToken(t, h);
    state->frequencies().Add(r.match);
    r.counted = true;
    same = r.match.blocking_tokens.size() == static_cast<size_t>(r.stored.blocking_tokens_size()) &&
           std::equal(r.match.blocking_tokens.begin(), r.match.blocking_tokens.end(),
                      r.stored.blocking_tokens().begin());
  }
  // In memory the tokens live in the MatchRecord only.
  r.stored.clear_blocking_tokens();
  return !same;
}

uint64_t LinkEngine::RecordFingerprint(const Record& record) {
  // The op is not content (an upsert and a merge line may carry the same
  // demographics).
  thread_local std::string bytes;
  bytes.clear();
  if (record.op().empty()) {
    record.AppendToString(&bytes);
  } else {
    Record copy = record;
    copy.clear_op();
    copy.AppendToString(&bytes);
  }
  return match::FastHash(bytes);
}

absl::Status LinkEngine::Apply(const hisbridge::v1::InboxEvent& event, const InputPosition& position,
                               RegionState* state, RegionChanges* changes, EngineCounters* counters,
                               PreparedUpsert* prepared) const {
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
          case records::RecordOp::kUpsert:
            app.PatientUpsert(record, micros, today, prepared != nullptr ? &prepared->match : nullptr,
                              prepared != nullptr ? std::optional<uint64_t>(prepared->fingerprint) : std::nullopt);
            break;
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
