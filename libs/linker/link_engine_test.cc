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

}  // namespace
}  // namespace hisbridge::linker
