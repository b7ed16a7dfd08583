#include "libs/linker/link_engine.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/match/id_exact_matcher.h"

namespace hisbridge::linker {
namespace {

using ::testing::ElementsAre;

// A matcher whose scores come from a table keyed by the records' names, so
// tests can set up any decision situation. Names starting with "PH" are
// placeholders; "id" carries the resident id.
class FakeMatcher : public match::Matcher {
 public:
  std::map<std::pair<std::string, std::string>, double> scores;
  std::string version() const override { return "fake/1"; }
  match::Thresholds thresholds() const override { return {10, 4}; }
  void Prepare(const hisbridge::v1::Record& r, const match::PrepareOptions&, match::MatchRecord* m) const override {
    *m = match::MatchRecord();
    m->resident_id = r.id_number();
    m->id_digits18 = r.id_number();
    m->id_valid = !r.id_number().empty();
    m->blocking_tokens = {match::Token("all"), match::Token("name:" + r.name())};
    std::sort(m->blocking_tokens.begin(), m->blocking_tokens.end());
    m->placeholder_name = r.name().rfind("PH", 0) == 0;
    m->name.han = r.name();
  }
  match::PairScore Score(const match::MatchRecord& a, const match::MatchRecord& b,
                         const match::TermFrequencies&) const override {
    match::PairScore s;
    if (!a.resident_id.empty() && !b.resident_id.empty()) {
      if (a.resident_id != b.resident_id) {
        s.certain_non_match = true;
        s.score = match::kCertainNonMatchScore;
        return s;
      }
      s.same_resident_id = true;
      s.identifier_agrees = true;
      s.score = 20;
      return s;
    }
    const std::string& na = a.name.han;
    const std::string& nb = b.name.han;
    auto it = scores.find({std::min(na, nb), std::max(na, nb)});
    s.score = it == scores.end() ? -5 : it->second;
    s.names_identical = na == nb;
    return s;
  }
  hisbridge::v1::Explanation Explain(const match::MatchRecord& a, const match::MatchRecord& b,
                                     const match::TermFrequencies& tf) const override {
    hisbridge::v1::Explanation e;
    e.set_total(Score(a, b, tf).score);
    return e;
  }
  void Set(const std::string& a, const std::string& b, double score) { scores[{std::min(a, b), std::max(a, b)}] = score; }
};

class LinkEngineTest : public ::testing::Test {
 protected:
  LinkEngineTest() : state_("450321", 0) {}

  hisbridge::v1::InboxEvent Patient(const std::string& facility, const std::string& record, const std::string& name,
                                    const std::string& id = "", const std::string& time = "2026-03-01T08:00:00+08:00") {
    hisbridge::v1::InboxEvent e;
    e.set_region("450321");
    auto* r = e.mutable_record();
    r->set_kind("patient");
    r->set_facility_id(facility);
    r->set_record_id(record);
    r->set_name(name);
    r->set_id_number(id);
    r->set_event_time(time);
    return e;
  }

  void Apply(const LinkEngine& engine, const hisbridge::v1::InboxEvent& e) {
    InputPosition pos{"inbox", 0, offset_++, absl::FromUnixSeconds(1772323200)};
    ASSERT_TRUE(engine.Apply(e, pos, &state_, &changes_.For(&state_), &counters_).ok());
  }

  std::string PatientOf(const std::string& facility, const std::string& record) {
    RecordHandle* h = state_.FindHandle(facility, record);
    return h == nullptr ? "<none>" : state_.record(*h).patient_id();
  }

  RegionState state_;
  ChangeSet changes_;
  EngineCounters counters_;
  int64_t offset_ = 0;
  records::FacilityDirectory facilities_;
};

TEST_F(LinkEngineTest, SameResidentIdLinksAcrossFacilities) {
  match::IdExactMatcher matcher;
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("WS-1", "A", "王小明", "450321198503021232"));
  Apply(engine, Patient("CUN-7", "B", "王晓明", "450321198503021232"));
  Apply(engine, Patient("WS-1", "C", "王小明", "450321198503021259"));  // twin, different id
  Apply(engine, Patient("WS-2", "D", "李四", ""));
  EXPECT_EQ(PatientOf("WS-1", "A"), "450321-P0000001");
  EXPECT_EQ(PatientOf("CUN-7", "B"), "450321-P0000001");
  EXPECT_EQ(PatientOf("WS-1", "C"), "450321-P0000002");
  EXPECT_EQ(PatientOf("WS-2", "D"), "450321-P0000003");
  EXPECT_EQ(counters_.new_patients, 3);
  EXPECT_EQ(counters_.auto_links, 1);
  const PatientState* p = state_.FindPatient("450321-P0000001");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->members.size(), 2u);
  EXPECT_EQ(p->stored.version(), 2);
  const RecordState& b = state_.record(*state_.FindHandle("CUN-7", "B"));
  EXPECT_EQ(b.link.link().method(), hisbridge::v1::LINK_METHOD_RESIDENT_ID);
  EXPECT_EQ(b.link.link().model_version(), "id-exact/1");
}

TEST_F(LinkEngineTest, OlderVersionNeverOverwritesNewer) {
  match::IdExactMatcher matcher;
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("WS-1", "A", "王小明新", "", "2026-03-02T08:00:00+08:00"));
  Apply(engine, Patient("WS-1", "A", "王小明旧", "", "2026-03-01T08:00:00+08:00"));
  EXPECT_EQ(state_.record(*state_.FindHandle("WS-1", "A")).stored.record().name(), "王小明新");
  EXPECT_EQ(counters_.stale_ignored, 1);
}

TEST_F(LinkEngineTest, ChangedIdMovesTheRecordOut) {
  match::IdExactMatcher matcher;
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("WS-1", "A", "王小明", "450321198503021232"));
  Apply(engine, Patient("WS-2", "B", "王小明", "450321198503021232"));
  ASSERT_EQ(PatientOf("WS-2", "B"), PatientOf("WS-1", "A"));
  // The clinic corrects B's id: B is someone else.
  Apply(engine, Patient("WS-2", "B", "王小明", "450321198503021259", "2026-03-02T08:00:00+08:00"));
  EXPECT_NE(PatientOf("WS-2", "B"), PatientOf("WS-1", "A"));
  EXPECT_EQ(PatientOf("WS-2", "B"), "450321-P0000002");
}

TEST_F(LinkEngineTest, DeleteRemovesAndTombstoneBlocksResurrection) {
  match::IdExactMatcher matcher;
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("WS-1", "A", "王小明", "", "2026-03-01T08:00:00+08:00"));
  hisbridge::v1::InboxEvent del = Patient("WS-1", "A", "", "", "2026-03-03T08:00:00+08:00");
  del.mutable_record()->set_op("delete");
  Apply(engine, del);
  EXPECT_EQ(PatientOf("WS-1", "A"), "");
  EXPECT_EQ(state_.FindPatient("450321-P0000001")->stored.status(), hisbridge::v1::PATIENT_STATUS_RETIRED);
  Apply(engine, Patient("WS-1", "A", "王小明", "", "2026-03-02T08:00:00+08:00"));  // older than the delete
  EXPECT_EQ(PatientOf("WS-1", "A"), "");
  Apply(engine, Patient("WS-1", "A", "王小明", "", "2026-03-04T08:00:00+08:00"));  // re-registered later
  EXPECT_EQ(PatientOf("WS-1", "A"), "450321-P0000001");
}

TEST_F(LinkEngineTest, FacilityMergeFoldsRecordAndItsEvents) {
  match::IdExactMatcher matcher;
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("WS-1", "OLD", "王小明", ""));
  Apply(engine, Patient("WS-1", "NEW", "王小明", ""));
  hisbridge::v1::InboxEvent merge = Patient("WS-1", "NEW", "", "", "2026-03-05T08:00:00+08:00");
  merge.mutable_record()->set_op("merge");
  merge.mutable_record()->set_merged_record_id("OLD");
  Apply(engine, merge);
  const RecordState& survivor = state_.record(*state_.FindHandle("WS-1", "NEW"));
  const RecordState& folded = state_.record(*state_.FindHandle("WS-1", "OLD"));
  EXPECT_THAT(survivor.stored.absorbed_record_ids(), ElementsAre("OLD"));
  EXPECT_TRUE(folded.stored.deleted());
  EXPECT_EQ(folded.stored.merged_into_record_id(), "NEW");
  EXPECT_EQ(folded.patient_id(), "");
  EXPECT_EQ(state_.FindPatient("450321-P0000001")->stored.status(), hisbridge::v1::PATIENT_STATUS_RETIRED);
  EXPECT_EQ(counters_.facility_merges, 1);
}

TEST_F(LinkEngineTest, ScoreDecisions) {
  FakeMatcher matcher;
  matcher.Set("张三", "张三丰", 12);  // strong
  matcher.Set("张三", "张叁", 6);     // between thresholds
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("F1", "1", "张三"));
  Apply(engine, Patient("F2", "2", "张三丰"));
  Apply(engine, Patient("F3", "3", "张叁"));
  EXPECT_EQ(PatientOf("F2", "2"), PatientOf("F1", "1"));
  EXPECT_EQ(PatientOf("F3", "3"), "450321-P0000002");
  const RecordState& r3 = state_.record(*state_.FindHandle("F3", "3"));
  EXPECT_FALSE(r3.stored.open_review_id().empty());
  ASSERT_EQ(changes_.For(&state_).review_items.size(), 1u);
  EXPECT_EQ(changes_.For(&state_).review_items[0].reason(), "between_thresholds");
  EXPECT_EQ(changes_.For(&state_).review_items[0].candidates(0).patient_id(), PatientOf("F1", "1"));
}

TEST_F(LinkEngineTest, RecordMatchingTwoPatientsGoesToReview) {
  FakeMatcher matcher;
  matcher.Set("甲", "乙", 12);
  matcher.Set("甲", "丙", 12);
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("F1", "B", "乙"));
  Apply(engine, Patient("F2", "C", "丙"));  // 乙 and 丙 do not match each other
  ASSERT_NE(PatientOf("F1", "B"), PatientOf("F2", "C"));
  Apply(engine, Patient("F3", "A", "甲"));
  EXPECT_NE(PatientOf("F3", "A"), PatientOf("F1", "B"));
  EXPECT_NE(PatientOf("F3", "A"), PatientOf("F2", "C"));
  ASSERT_EQ(changes_.For(&state_).review_items.size(), 1u);
  EXPECT_EQ(changes_.For(&state_).review_items[0].reason(), "matches_several_patients");
  EXPECT_EQ(changes_.For(&state_).review_items[0].candidates_size(), 2);
}

TEST_F(LinkEngineTest, ClearlyOwnPatientAmongSeveralIsJoinedAndTheOtherReviewed) {
  // Twins 杨可紫 and 杨可子 have patients of their own; another record of
  // 杨可子 matches her exactly and her sister only through a homophone.
  FakeMatcher matcher;
  matcher.Set("杨可子", "杨可子", 30);
  matcher.Set("杨可子", "杨可紫", 15);
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("WS-1", "A", "杨可紫"));
  Apply(engine, Patient("WS-1", "B", "杨可子"));  // the same clinic: two people
  ASSERT_NE(PatientOf("WS-1", "A"), PatientOf("WS-1", "B"));
  Apply(engine, Patient("F3", "C", "杨可子"));
  EXPECT_EQ(PatientOf("F3", "C"), PatientOf("WS-1", "B"));
  EXPECT_NE(PatientOf("WS-1", "A"), PatientOf("WS-1", "B")) << "re-evaluated, and still the clinic's other child";
  const auto& items = changes_.For(&state_).review_items;
  EXPECT_TRUE(std::any_of(items.begin(), items.end(), [](const hisbridge::v1::ReviewItem& i) {
    return i.reason() == "matches_several_patients" && i.record_id() == "C";
  }));
}

TEST_F(LinkEngineTest, OneFacilitysTwoRecordsWithDifferentNamesNeedAnIdentifier) {
  // A township centre registered twins 杨可紫 and 杨可子 the same day: its
  // two records say they are two people, however strong the similarity.
  FakeMatcher matcher;
  matcher.Set("杨可子", "杨可紫", 25);
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("WS-1", "A", "杨可紫"));
  Apply(engine, Patient("WS-1", "B", "杨可子"));
  EXPECT_NE(PatientOf("WS-1", "A"), PatientOf("WS-1", "B"));
  ASSERT_EQ(changes_.For(&state_).review_items.size(), 1u);
  EXPECT_EQ(changes_.For(&state_).review_items[0].reason(), "between_thresholds");
  // The same facility's duplicate registration under the same name links.
  matcher.Set("王芳", "王芳", 25);
  Apply(engine, Patient("WS-1", "C", "王芳"));
  Apply(engine, Patient("WS-1", "D", "王芳"));
  EXPECT_EQ(PatientOf("WS-1", "C"), PatientOf("WS-1", "D"));
}

TEST_F(LinkEngineTest, PlaceholdersNeverLinkWithoutTheSameId) {
  FakeMatcher matcher;
  matcher.Set("PH无名氏", "PH无名氏", 30);
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("ER", "1", "PH无名氏"));
  Apply(engine, Patient("ER", "2", "PH无名氏"));
  EXPECT_NE(PatientOf("ER", "1"), PatientOf("ER", "2"));
  Apply(engine, Patient("ER", "3", "PH无名氏", "450321198503021232"));
  Apply(engine, Patient("WS", "4", "王小明", "450321198503021232"));
  EXPECT_EQ(PatientOf("ER", "3"), PatientOf("WS", "4"));
}

TEST_F(LinkEngineTest, OneForbiddenMemberExcludesThePatient) {
  FakeMatcher matcher;
  matcher.Set("王芳", "王芳", 15);
  LinkEngine engine(&matcher, &facilities_);
  Apply(engine, Patient("F", "1", "王芳", "450321198503021232"));
  Apply(engine, Patient("F", "2", "王芳", ""));  // links to 1 on name (a duplicate registration)
  ASSERT_EQ(PatientOf("F", "2"), PatientOf("F", "1"));
  // The twin has a different valid id: must not join, although her name
  // matches member 2 strongly.
  Apply(engine, Patient("F", "3", "王芳", "450321198503021259"));
  EXPECT_NE(PatientOf("F", "3"), PatientOf("F", "1"));
}

TEST_F(LinkEngineTest, ReplayIsDeterministic) {
  match::IdExactMatcher matcher;
  LinkEngine engine(&matcher, &facilities_);
  std::vector<hisbridge::v1::InboxEvent> events;
  for (int i = 0; i < 50; ++i) {
    events.push_back(Patient("F" + std::to_string(i % 4), std::to_string(i), "x",
                             i % 3 == 0 ? "450321198503021232" : ""));
  }
  for (const auto& e : events) Apply(engine, e);
  RegionState replay("450321", 0);
  ChangeSet changes;
  EngineCounters counters;
  for (size_t i = 0; i < events.size(); ++i) {
    InputPosition pos{"inbox", 0, static_cast<int64_t>(i), absl::FromUnixSeconds(1772323200)};
    ASSERT_TRUE(engine.Apply(events[i], pos, &replay, &changes.For(&replay), &counters).ok());
  }
  for (int i = 0; i < 50; ++i) {
    const std::string f = "F" + std::to_string(i % 4), r = std::to_string(i);
    EXPECT_EQ(replay.record(*replay.FindHandle(f, r)).patient_id(), PatientOf(f, r));
  }
}

// ---- Steward commands ----

class StewardTest : public LinkEngineTest {
 protected:
  StewardTest() : engine_(&matcher_, &facilities_) {}

  // Applies a command and returns its result.
  hisbridge::v1::CommandResult Run(hisbridge::v1::StewardCommand command) {
    command.set_command_id("cmd-" + std::to_string(offset_));
    command.set_actor("steward-li");
    command.set_reason("checked with the clinic");
    hisbridge::v1::InboxEvent e;
    e.set_region("450321");
    *e.mutable_command() = command;
    const size_t before = changes_.For(&state_).command_results.size();
    Apply(engine_, e);
    const auto& results = changes_.For(&state_).command_results;
    EXPECT_EQ(results.size(), before + 1);
    return results.empty() ? hisbridge::v1::CommandResult() : results.back();
  }
  hisbridge::v1::CommandResult LinkRecord(const std::string& f, const std::string& r, const std::string& patient) {
    hisbridge::v1::StewardCommand c;
    c.mutable_link_record()->set_facility_id(f);
    c.mutable_link_record()->set_record_id(r);
    c.mutable_link_record()->set_patient_id(patient);
    return Run(c);
  }
  hisbridge::v1::CommandResult Unlink(const std::string& f, const std::string& r) {
    hisbridge::v1::StewardCommand c;
    c.mutable_unlink_record()->set_facility_id(f);
    c.mutable_unlink_record()->set_record_id(r);
    return Run(c);
  }
  hisbridge::v1::CommandResult Merge(const std::string& into, const std::string& from) {
    hisbridge::v1::StewardCommand c;
    c.mutable_merge_patients()->set_into_patient_id(into);
    c.mutable_merge_patients()->set_from_patient_id(from);
    return Run(c);
  }
  hisbridge::v1::CommandResult Unmerge(const std::string& survivor, const std::string& restore) {
    hisbridge::v1::StewardCommand c;
    c.mutable_unmerge_patients()->set_patient_id(survivor);
    c.mutable_unmerge_patients()->set_restore_patient_id(restore);
    return Run(c);
  }
  hisbridge::v1::CommandResult NotSame(const std::string& a, const std::string& b) {
    hisbridge::v1::StewardCommand c;
    c.mutable_not_same_person()->set_patient_id(a);
    c.mutable_not_same_person()->set_other_patient_id(b);
    return Run(c);
  }
  hisbridge::v1::CommandResult Resolve(const std::string& review_id, hisbridge::v1::ReviewDecision decision,
                                       const std::string& patient = "") {
    hisbridge::v1::StewardCommand c;
    c.mutable_resolve_review()->set_review_id(review_id);
    c.mutable_resolve_review()->set_decision(decision);
    c.mutable_resolve_review()->set_patient_id(patient);
    return Run(c);
  }
  const hisbridge::v1::LinkInfo& LinkOf(const std::string& f, const std::string& r) {
    return state_.record(*state_.FindHandle(f, r)).link.link();
  }
  const hisbridge::index::v1::StoredPatient& Stored(const std::string& patient) {
    return state_.FindPatient(patient)->stored;
  }
  std::vector<std::string> AuditActions(const std::string& patient) {
    std::vector<std::string> actions;
    for (const auto& a : changes_.For(&state_).audit) {
      if (a.patient_id == patient) actions.push_back(a.entry.action());
    }
    return actions;
  }
  // The links of all records, for before/after comparisons.
  std::map<std::string, std::string> Links() {
    std::map<std::string, std::string> links;
    for (size_t i = 0; i < state_.record_count(); ++i) {
      const RecordState& r = state_.record(static_cast<RecordHandle>(i));
      links[r.facility_id() + "/" + r.record_id()] = r.patient_id();
    }
    return links;
  }

  FakeMatcher matcher_;
  LinkEngine engine_;
};

TEST_F(StewardTest, LinkPinsTheRecordAgainstAutomaticRelinking) {
  Apply(engine_, Patient("F", "1", "张三"));
  Apply(engine_, Patient("G", "2", "张叁"));  // no score: a stranger
  ASSERT_NE(PatientOf("G", "2"), PatientOf("F", "1"));
  const auto result = LinkRecord("G", "2", PatientOf("F", "1"));
  EXPECT_TRUE(result.applied()) << result.result();
  EXPECT_EQ(result.actor(), "steward-li");
  EXPECT_EQ(PatientOf("G", "2"), "450321-P0000001");
  EXPECT_TRUE(LinkOf("G", "2").pinned());
  EXPECT_EQ(LinkOf("G", "2").method(), hisbridge::v1::LINK_METHOD_MANUAL);
  EXPECT_EQ(Stored("450321-P0000002").status(), hisbridge::v1::PATIENT_STATUS_RETIRED);
  // An update that would otherwise send the record away leaves it pinned.
  Apply(engine_, Patient("G", "2", "张叁", "", "2026-03-02T08:00:00+08:00"));
  EXPECT_EQ(PatientOf("G", "2"), "450321-P0000001");
  // The audit trail names the steward and the reason.
  bool found = false;
  for (const auto& a : changes_.For(&state_).audit) {
    if (a.patient_id == "450321-P0000001" && a.entry.action() == "linked" && a.entry.record_id() == "2") {
      found = true;
      EXPECT_EQ(a.entry.actor(), "steward-li");
      EXPECT_EQ(a.entry.reason(), "checked with the clinic");
    }
  }
  EXPECT_TRUE(found);
}

TEST_F(StewardTest, UnlinkSplitsTheRecordOutAndLinkingItBackUndoesIt) {
  matcher_.Set("王芳", "王芳", 12);
  Apply(engine_, Patient("F", "1", "王芳"));
  Apply(engine_, Patient("G", "2", "王芳"));
  ASSERT_EQ(PatientOf("G", "2"), PatientOf("F", "1"));
  const auto result = Unlink("G", "2");
  EXPECT_TRUE(result.applied()) << result.result();
  const std::string split = PatientOf("G", "2");
  EXPECT_NE(split, PatientOf("F", "1"));
  EXPECT_TRUE(LinkOf("G", "2").pinned());
  EXPECT_THAT(result.patient_ids(), ::testing::UnorderedElementsAre("450321-P0000001", split));
  // Pinned: re-sending it does not put it back.
  Apply(engine_, Patient("G", "2", "王芳", "", "2026-03-02T08:00:00+08:00"));
  EXPECT_EQ(PatientOf("G", "2"), split);
  // Undo.
  EXPECT_TRUE(LinkRecord("G", "2", "450321-P0000001").applied());
  EXPECT_EQ(PatientOf("G", "2"), "450321-P0000001");
  EXPECT_EQ(Stored(split).status(), hisbridge::v1::PATIENT_STATUS_RETIRED);
}

TEST_F(StewardTest, MergeAndUnmergeRestoreExactlyWhatWasBefore) {
  matcher_.Set("李梅", "李梅", 12);
  Apply(engine_, Patient("F", "1", "李梅"));
  Apply(engine_, Patient("G", "2", "李梅"));
  Apply(engine_, Patient("H", "3", "李玫"));
  Apply(engine_, Patient("K", "4", "李枚"));
  ASSERT_TRUE(LinkRecord("K", "4", PatientOf("H", "3")).applied());
  const std::string a = PatientOf("F", "1"), b = PatientOf("H", "3");
  ASSERT_NE(a, b);
  const auto links_before = Links();
  const hisbridge::v1::LinkInfo h3_before = LinkOf("H", "3");
  const hisbridge::v1::LinkInfo k4_before = LinkOf("K", "4");

  const auto merged = Merge(a, b);
  ASSERT_TRUE(merged.applied()) << merged.result();
  EXPECT_EQ(PatientOf("H", "3"), a);
  EXPECT_EQ(PatientOf("K", "4"), a);
  EXPECT_EQ(Stored(b).status(), hisbridge::v1::PATIENT_STATUS_MERGED);
  EXPECT_EQ(Stored(b).merged_into(), a);
  EXPECT_EQ(Stored(a).members_size(), 4);
  // Merging again, or into a merged patient, is refused with the reason.
  EXPECT_FALSE(Merge(a, b).applied());
  const auto into_merged = Merge(b, a);
  EXPECT_FALSE(into_merged.applied());
  EXPECT_THAT(into_merged.result(), ::testing::HasSubstr("was merged into"));
  // A link to the merged patient follows it to the survivor.
  Apply(engine_, Patient("M", "5", "赵六"));
  EXPECT_TRUE(LinkRecord("M", "5", b).applied());
  EXPECT_EQ(PatientOf("M", "5"), a);
  EXPECT_TRUE(Unlink("M", "5").applied());

  const auto unmerged = Unmerge(a, b);
  ASSERT_TRUE(unmerged.applied()) << unmerged.result();
  EXPECT_EQ(Stored(b).status(), hisbridge::v1::PATIENT_STATUS_ACTIVE);
  EXPECT_TRUE(Stored(b).merged_into().empty());
  auto links_after = Links();
  links_after.erase("M/5");
  EXPECT_EQ(links_after, links_before);
  EXPECT_EQ(LinkOf("H", "3").SerializeAsString(), h3_before.SerializeAsString());
  EXPECT_EQ(LinkOf("K", "4").SerializeAsString(), k4_before.SerializeAsString());
  // The undo says they are two people: never merged or suggested again.
  EXPECT_TRUE(state_.IsNotSame(a, b));
  EXPECT_FALSE(Merge(a, b).applied());
  EXPECT_FALSE(Unmerge(a, b).applied());
  const auto actions = AuditActions(b);
  EXPECT_NE(std::find(actions.begin(), actions.end(), "merged"), actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "unmerged"), actions.end());
}

TEST_F(StewardTest, NotSamePersonIsNeverSuggestedOrLinkedAgain) {
  matcher_.Set("陈静", "陈静", 7);  // between the thresholds: a review item
  Apply(engine_, Patient("F", "1", "陈静"));
  Apply(engine_, Patient("G", "2", "陈静"));
  const std::string a = PatientOf("F", "1"), b = PatientOf("G", "2");
  ASSERT_NE(a, b);
  ASSERT_EQ(counters_.review_items, 1);
  const std::string review = state_.record(*state_.FindHandle("G", "2")).stored.open_review_id();
  ASSERT_FALSE(review.empty());
  const auto result = Resolve(review, hisbridge::v1::REVIEW_DECISION_NOT_SAME);
  ASSERT_TRUE(result.applied()) << result.result();
  EXPECT_TRUE(state_.IsNotSame(a, b));
  EXPECT_TRUE(state_.record(*state_.FindHandle("G", "2")).stored.open_review_id().empty());
  const auto& items = changes_.For(&state_).review_items;
  ASSERT_FALSE(items.empty());
  EXPECT_EQ(items.back().status(), hisbridge::v1::REVIEW_STATUS_RESOLVED);
  EXPECT_EQ(items.back().decision(), hisbridge::v1::REVIEW_DECISION_NOT_SAME);
  EXPECT_EQ(items.back().resolved_by(), "steward-li");
  // Even a strong score no longer brings them together, nor a review.
  matcher_.Set("陈静", "陈静", 15);
  Apply(engine_, Patient("G", "2", "陈静", "", "2026-03-02T08:00:00+08:00"));
  EXPECT_EQ(PatientOf("G", "2"), b);
  EXPECT_EQ(counters_.review_items, 1);
  EXPECT_FALSE(Merge(a, b).applied());
  // The pair persists in the region's counters, and loads back.
  RegionState reloaded("450321", 0);
  reloaded.LoadMeta(state_.meta());
  EXPECT_TRUE(reloaded.IsNotSame(b, a));
}

TEST_F(StewardTest, ReviewLifecycleLinkDecision) {
  matcher_.Set("刘洋", "刘阳", 7);
  Apply(engine_, Patient("F", "1", "刘洋"));
  Apply(engine_, Patient("G", "2", "刘阳"));
  const std::string a = PatientOf("F", "1");
  const auto& opened = changes_.For(&state_).review_items.back();
  ASSERT_EQ(opened.status(), hisbridge::v1::REVIEW_STATUS_OPEN);
  const std::string review = opened.review_id();
  ASSERT_EQ(opened.candidates_size(), 1);
  EXPECT_EQ(opened.candidates(0).patient_id(), a);
  // A patient that is not a candidate is refused, and the item stays open.
  const auto wrong = Resolve(review, hisbridge::v1::REVIEW_DECISION_LINK, "450321-P0000999");
  EXPECT_FALSE(wrong.applied());
  EXPECT_THAT(wrong.result(), ::testing::HasSubstr("not a candidate"));
  const auto ok = Resolve(review, hisbridge::v1::REVIEW_DECISION_LINK, a);
  ASSERT_TRUE(ok.applied()) << ok.result();
  EXPECT_EQ(PatientOf("G", "2"), a);
  EXPECT_TRUE(LinkOf("G", "2").pinned());
  // Resolved items cannot be decided twice.
  const auto again = Resolve(review, hisbridge::v1::REVIEW_DECISION_NEW_PATIENT);
  EXPECT_FALSE(again.applied());
  EXPECT_THAT(again.result(), ::testing::HasSubstr("is not open"));
  EXPECT_EQ(PatientOf("G", "2"), a);
}

TEST_F(StewardTest, ReviewMergeAndNewPatientDecisions) {
  matcher_.Set("周强", "周墙", 7);
  Apply(engine_, Patient("F", "1", "周强"));
  Apply(engine_, Patient("G", "2", "周墙"));
  const std::string a = PatientOf("F", "1"), b = PatientOf("G", "2");
  std::string review = state_.record(*state_.FindHandle("G", "2")).stored.open_review_id();
  const auto merged = Resolve(review, hisbridge::v1::REVIEW_DECISION_MERGE, a);
  ASSERT_TRUE(merged.applied()) << merged.result();
  EXPECT_EQ(PatientOf("G", "2"), a);
  EXPECT_EQ(Stored(b).status(), hisbridge::v1::PATIENT_STATUS_MERGED);
  // And the undo of a review merge is the unmerge.
  ASSERT_TRUE(Unmerge(a, b).applied());
  EXPECT_EQ(PatientOf("G", "2"), b);

  matcher_.Set("吴敏", "吴民", 7);
  Apply(engine_, Patient("F", "3", "吴敏"));
  Apply(engine_, Patient("G", "4", "吴民"));
  review = state_.record(*state_.FindHandle("G", "4")).stored.open_review_id();
  const std::string own = PatientOf("G", "4");
  const auto kept = Resolve(review, hisbridge::v1::REVIEW_DECISION_NEW_PATIENT);
  ASSERT_TRUE(kept.applied()) << kept.result();
  EXPECT_EQ(PatientOf("G", "4"), own);
  EXPECT_TRUE(LinkOf("G", "4").pinned());
}

TEST_F(StewardTest, BadCommandsAreRefusedWithTheReasonAndChangeNothing) {
  Apply(engine_, Patient("F", "1", "孙丽"));
  const auto links = Links();
  struct Case {
    hisbridge::v1::CommandResult result;
    std::string expected;
  };
  std::vector<Case> cases;
  cases.push_back({LinkRecord("F", "404", "450321-P0000001"), "is not in the index"});
  cases.push_back({LinkRecord("F", "1", "450321-P0000404"), "is not in the index"});
  cases.push_back({LinkRecord("F", "1", ""), "patient_id is empty"});
  cases.push_back({Unlink("X", "1"), "is not in the index"});
  cases.push_back({Merge("450321-P0000001", "450321-P0000001"), "into itself"});
  cases.push_back({Merge("450321-P0000001", ""), "both required"});
  cases.push_back({Unmerge("450321-P0000001", "450321-P0000404"), "is not in the index"});
  cases.push_back({NotSame("450321-P0000001", "450321-P0000001"), "itself"});
  cases.push_back({Resolve("450321-R0000404", hisbridge::v1::REVIEW_DECISION_LINK), "is not open"});
  cases.push_back({Run(hisbridge::v1::StewardCommand()), "no action"});
  for (const Case& c : cases) {
    EXPECT_FALSE(c.result.applied()) << c.result.result();
    EXPECT_THAT(c.result.result(), ::testing::HasSubstr(c.expected));
  }
  EXPECT_EQ(counters_.commands_refused, static_cast<int64_t>(cases.size()));
  EXPECT_EQ(Links(), links);
  // Unlinking a record that is alone only pins it.
  EXPECT_TRUE(Unlink("F", "1").applied());
  EXPECT_EQ(Links(), links);
}

TEST_F(StewardTest, DeletedRecordCannotBeLinked) {
  Apply(engine_, Patient("F", "1", "郑红"));
  Apply(engine_, Patient("F", "2", "郑虹"));
  hisbridge::v1::InboxEvent del = Patient("F", "2", "", "", "2026-03-02T08:00:00+08:00");
  del.mutable_record()->set_op("delete");
  Apply(engine_, del);
  const auto r = LinkRecord("F", "2", "450321-P0000001");
  EXPECT_FALSE(r.applied());
  EXPECT_THAT(r.result(), ::testing::HasSubstr("deleted"));
}

}  // namespace
}  // namespace hisbridge::linker
