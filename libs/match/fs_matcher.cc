#include "libs/match/fs_matcher.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "libs/match/id_exact_matcher.h"

namespace hisbridge::match {
namespace {

// Pseudo-observations of the model's average u blended into a value's
// observed frequency: with few live records the average dominates, with
// many the county's own counts do.
constexpr double kFrequencyPrior = 1.0;

// The name levels that identify a person when no identifier agrees.
bool NameIdentifies(uint8_t l) { return l <= level::kNameReordered; }

}  // namespace

void FsMatcher::Prepare(const hisbridge::v1::Record& patient, const PrepareOptions& options,
                        MatchRecord* out) const {
  PrepareMatchRecord(patient, options, out);
}

double FsMatcher::LevelWeight(Field field, uint8_t l, const MatchRecord& a, const MatchRecord& b,
                              const TermFrequencies& frequencies) const {
  if (!model_.term_frequency(field, l) || frequencies.records() <= 0) return model_.weight(field, l);
  int64_t count = 0;
  if (field == Field::kName) {
    // Exact and variant names share their characters; homophones and
    // pinyin spellings share at best their pinyin: count what they share,
    // and the commoner side when they differ.
    const bool characters = l == level::kNameExact || l == level::kNameVariant;
    count = characters ? std::max(frequencies.Count(a.name_token), frequencies.Count(b.name_token))
                       : std::max(frequencies.Count(a.pinyin_token), frequencies.Count(b.pinyin_token));
  } else if (field == Field::kPhone) {
    for (uint64_t t : a.phone_tokens) {
      if (std::find(b.phone_tokens.begin(), b.phone_tokens.end(), t) != b.phone_tokens.end()) {
        count = std::max(count, frequencies.Count(t));
      }
    }
    if (count == 0) return model_.weight(field, l);  // same local number: no shared token
  } else {
    return model_.weight(field, l);
  }
  const double average_u = model_.u(field, l);
  const double n = static_cast<double>(frequencies.records());
  const double u = (static_cast<double>(count) + kFrequencyPrior) / (n + kFrequencyPrior / average_u);
  return model_.WeightFor(field, l, u);
}

FsMatcher::Scored FsMatcher::Evaluate(const MatchRecord& a, const MatchRecord& b,
                                      const TermFrequencies& frequencies) const {
  Scored s;
  s.levels = Compare(a, b);
  bool per_person_document = false;
  if (s.levels[Field::kOtherId] == level::kOtherExact) CompareOtherIds(a, b, &per_person_document);
  const uint8_t id = s.levels[Field::kResidentId];
  if (id == level::kIdDifferentBothValid) {
    s.score.certain_non_match = true;
    s.score.score = kCertainNonMatchScore;
    for (size_t f = 0; f < kFieldCount; ++f) {
      s.weights[f] = LevelWeight(static_cast<Field>(f), s.levels.levels[f], a, b, frequencies);
    }
    return s;
  }
  double total = 0;
  for (size_t f = 0; f < kFieldCount; ++f) {
    s.weights[f] = LevelWeight(static_cast<Field>(f), s.levels.levels[f], a, b, frequencies);
    total += s.weights[f];
  }
  s.score.score = total;
  s.score.same_resident_id = id == level::kIdExact;
  s.score.identifier_agrees = s.score.same_resident_id || per_person_document;
  // One card, two names: a relative's card used at a clinic. The id then
  // proves nothing, and the pair goes to a human.
  s.id_name_conflict = s.score.identifier_agrees && s.levels[Field::kName] >= level::kNameOneCharDifferent &&
                       s.levels[Field::kName] != level::kNameMissing;
  if (s.id_name_conflict) {
    s.score.same_resident_id = false;
    s.score.identifier_agrees = false;
  }
  s.name_gate = NameIdentifies(s.levels[Field::kName]);
  s.date_gate = s.levels[Field::kBirthDate] != level::kDateDifferent;
  const double upper = model_.thresholds().upper;
  const uint8_t name = s.levels[Field::kName];
  s.score.names_identical =
      name == level::kNameExact || name == level::kNameVariant || name == level::kNameLatinEqual;
  // Boy-girl twins: similar names, the same birthday and household, and
  // different sexes. A true pair would need two errors at once.
  s.sex_conflict = !s.score.names_identical && s.levels[Field::kSex] == level::kSexDifferent;
  if (!s.score.identifier_agrees && (!(s.name_gate && s.date_gate) || s.sex_conflict || s.id_name_conflict) &&
      total >= upper) {
    // Just below the threshold keeps the ranking among capped pairs while
    // sending every one of them to a human.
    s.score.score = upper - 1e-3 / (1.0 + std::min(1e6, total - upper));
    s.score.capped = true;
  }
  return s;
}

PairScore FsMatcher::Score(const MatchRecord& a, const MatchRecord& b, const TermFrequencies& frequencies) const {
  return Evaluate(a, b, frequencies).score;
}

hisbridge::v1::Explanation FsMatcher::Explain(const MatchRecord& a, const MatchRecord& b,
                                              const TermFrequencies& frequencies) const {
  const Scored s = Evaluate(a, b, frequencies);
  hisbridge::v1::Explanation e;
  for (size_t f = 0; f < kFieldCount; ++f) {
    const Field field = static_cast<Field>(f);
    auto* c = e.add_fields();
    c->set_field(std::string(FieldName(field)));
    c->set_level(std::string(LevelNames(field)[s.levels.levels[f]]));
    c->set_weight(s.weights[f]);
    c->set_left(DisplayValue(a, field));
    c->set_right(DisplayValue(b, field));
  }
  if (s.score.certain_non_match) {
    e.add_rules("different_valid_resident_ids");
  } else {
    if (s.score.same_resident_id) e.add_rules("same_valid_resident_id");
    if (s.score.capped) {
      e.add_rules(s.id_name_conflict ? "needs_review:same_id_different_names"
                  : !s.name_gate         ? "needs_identifier:name_differs"
                  : !s.date_gate         ? "needs_identifier:birth_date_differs"
                                         : "needs_identifier:similar_name_and_sex_differs");
    }
  }
  if (a.placeholder_name || b.placeholder_name) e.add_rules("placeholder_name");
  e.set_total(std::isfinite(s.score.score) ? s.score.score : 0);
  return e;
}

absl::StatusOr<std::unique_ptr<Matcher>> MakeMatcher(absl::string_view name, const std::string& model_path) {
  if (name == "id-exact") {
    if (!model_path.empty()) {
      return absl::InvalidArgumentError("--model is only for --matcher=fs; id-exact has no model");
    }
    return std::unique_ptr<Matcher>(std::make_unique<IdExactMatcher>());
  }
  if (name == "fs" || name.empty()) {
    if (model_path.empty()) return std::unique_ptr<Matcher>(std::make_unique<FsMatcher>(FsModel::Default()));
    auto model = FsModel::Load(model_path);
    if (!model.ok()) return model.status();
    return std::unique_ptr<Matcher>(std::make_unique<FsMatcher>(std::move(*model)));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown matcher \"", name, "\": use fs (probabilistic, the default) or id-exact (baseline)"));
}

}  // namespace hisbridge::match
