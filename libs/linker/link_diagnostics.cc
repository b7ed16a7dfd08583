#include "libs/linker/link_diagnostics.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "libs/base/json_escape.h"
#include "libs/base/logging.h"

namespace hisbridge::linker {
namespace {

bool ShareToken(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b, const RegionState& state,
                size_t max_block, bool* searchable) {
  bool any = false;
  *searchable = false;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) {
      ++i;
    } else if (b[j] < a[i]) {
      ++j;
    } else {
      any = true;
      const BlockList* block = state.Blocked(a[i]);
      if (block != nullptr && block->size() <= max_block) *searchable = true;
      ++i, ++j;
    }
  }
  return any;
}

void Keep(const std::string& cause, const RecordState& a, const RecordState& b, const LinkEngine& engine,
          const RegionState& state, double score, int limit, std::map<std::string, int64_t>* counts,
          std::vector<PairExample>* examples) {
  const int64_t n = ++(*counts)[cause];
  if (n > limit) return;
  PairExample e;
  e.cause = cause;
  e.a_facility = a.facility_id();
  e.a_record = a.record_id();
  e.b_facility = b.facility_id();
  e.b_record = b.record_id();
  e.explanation = engine.matcher().Explain(a.match, b.match, state.frequencies());
  e.score = score;
  examples->push_back(std::move(e));
}

}  // namespace

LinkDiagnostics Diagnose(const std::vector<const RegionState*>& regions, const LinkEngine& engine,
                         const TruthMap& truth, int examples_per_cause) {
  LinkDiagnostics d;
  const match::Thresholds t = engine.matcher().thresholds();
  for (const RegionState* state : regions) {
    std::map<std::string, std::vector<RecordHandle>> by_person;
    for (RecordHandle h = 0; h < state->record_count(); ++h) {
      const RecordState& r = state->record(h);
      if (!r.live() || r.patient_id().empty()) continue;
      auto it = truth.find(std::make_pair(r.facility_id(), r.record_id()));
      if (it != truth.end()) by_person[it->second].push_back(h);
    }
    for (const auto& [person, handles] : by_person) {
      for (size_t x = 0; x < handles.size(); ++x) {
        for (size_t y = x + 1; y < handles.size(); ++y) {
          const RecordState& a = state->record(handles[x]);
          const RecordState& b = state->record(handles[y]);
          ++d.true_pairs;
          bool searchable = false;
          const bool blocked =
              ShareToken(a.match.blocking_tokens, b.match.blocking_tokens, *state, engine.options().max_block_size,
                         &searchable);
          d.blocked_pairs += blocked;
          d.searchable_pairs += searchable;
          if (a.patient_id() == b.patient_id()) {
            ++d.found_pairs;
            continue;
          }
          const match::PairScore s = engine.matcher().Score(a.match, b.match, state->frequencies());
          std::string cause;
          if (!blocked) {
            cause = "not_blocked";
          } else if (!searchable) {
            cause = "oversized_blocks_only";
          } else if ((a.match.placeholder_name || b.match.placeholder_name) && !s.same_resident_id) {
            cause = "placeholder";
          } else if (s.certain_non_match) {
            cause = "certain_non_match";
          } else if (s.capped) {
            cause = "capped";
          } else if (s.score < t.lower) {
            cause = "below_lower";
          } else if (s.score < t.upper) {
            cause = "review_band";
          } else {
            cause = "above_upper_unlinked";
          }
          Keep(cause, a, b, engine, *state, s.score, examples_per_cause, &d.missed_by_cause, &d.missed_examples);
        }
      }
    }
    std::map<std::string, std::vector<RecordHandle>> by_patient;
    for (RecordHandle h = 0; h < state->record_count(); ++h) {
      const RecordState& r = state->record(h);
      if (r.live() && !r.patient_id().empty()) by_patient[r.patient_id()].push_back(h);
    }
    for (const auto& [patient, handles] : by_patient) {
      for (size_t x = 0; x < handles.size(); ++x) {
        for (size_t y = x + 1; y < handles.size(); ++y) {
          const RecordState& a = state->record(handles[x]);
          const RecordState& b = state->record(handles[y]);
          auto ta = truth.find(std::make_pair(a.facility_id(), a.record_id()));
          auto tb = truth.find(std::make_pair(b.facility_id(), b.record_id()));
          if (ta == truth.end() || tb == truth.end()) continue;
          ++d.predicted_pairs;
          if (ta->second == tb->second) continue;
          ++d.false_pairs;
          const match::PairScore s = engine.matcher().Score(a.match, b.match, state->frequencies());
          const std::string cause = s.same_resident_id ? "same_resident_id"
                                    : s.score >= t.upper ? "above_upper"
                                                         : "through_other_members";
          Keep(cause, a, b, engine, *state, s.score, examples_per_cause, &d.false_by_cause, &d.false_examples);
        }
      }
    }
  }
  return d;
}

std::string FormatDiagnostics(const LinkDiagnostics& d) {
  std::string out;
  absl::StrAppendFormat(&out, "blocking recall  %.4f  (%d of %d true pairs share a blocking key)\n",
                        d.blocking_recall(), d.blocked_pairs, d.true_pairs);
  absl::StrAppendFormat(&out, "searchable       %.4f  (share a key whose block is not oversized)\n",
                        d.searchable_recall());
  absl::StrAppendFormat(&out, "pairwise recall  %.4f  (%d found)\n",
                        d.true_pairs ? static_cast<double>(d.found_pairs) / d.true_pairs : 1.0, d.found_pairs);
  absl::StrAppendFormat(&out, "pairwise precision %.5f  (%d false of %d predicted pairs)\n",
                        d.predicted_pairs ? 1.0 - static_cast<double>(d.false_pairs) / d.predicted_pairs : 1.0,
                        d.false_pairs, d.predicted_pairs);
  out += "missed true pairs by cause:\n";
  for (const auto& [cause, n] : d.missed_by_cause) absl::StrAppendFormat(&out, "  %-24s %d\n", cause, n);
  out += "false pairs by cause:\n";
  for (const auto& [cause, n] : d.false_by_cause) absl::StrAppendFormat(&out, "  %-24s %d\n", cause, n);
  return out;
}

std::string ExamplesToJsonLines(const LinkDiagnostics& d) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  for (const auto* list : {&d.missed_examples, &d.false_examples}) {
    for (const PairExample& e : *list) {
      std::string explanation;
      (void)google::protobuf::util::MessageToJsonString(e.explanation, &explanation, options);
      std::string a, b;
      AppendJsonEscaped(absl::StrCat(e.a_facility, "/", e.a_record), &a);
      AppendJsonEscaped(absl::StrCat(e.b_facility, "/", e.b_record), &b);
      absl::StrAppend(&out, "{\"kind\":\"", list == &d.missed_examples ? "missed" : "false", "\",\"cause\":\"",
                      e.cause, "\",\"a\":\"", a, "\",\"b\":\"", b, "\",\"score\":",
                      std::isfinite(e.score) ? absl::StrFormat("%.3f", e.score) : std::string("null"),
                      ",\"explanation\":", explanation, "}\n");
    }
  }
  return out;
}

}  // namespace hisbridge::linker
