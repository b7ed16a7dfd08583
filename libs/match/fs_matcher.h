// The probabilistic matcher: Fellegi-Sunter weights over graded field
// comparisons (comparison.h), with term-frequency adjustment for names and
// phones, and the safety rules of Chinese county data.
//
// Score(a, b) = sum over fields of log2(m/u) of the level the pair reaches,
// where for agreeing names and phones u is the value's frequency among the
// county's live records (TermFrequencies) instead of the model's average.
//
// Safety rules, whatever the weights say:
//   - two valid, different resident ids: certain non-match (twins);
//   - without an agreeing identifier (valid resident id, or a passport,
//     permit or health card number), a pair can link automatically only
//     when the names agree (exact up to homophones, variants, dialect and
//     visually similar characters, pinyin spellings, reordering) and the
//     birth dates do not disagree. Otherwise the score is capped just below
//     the upper threshold, so the pair goes to review: a household shares
//     phone, address and often a birthday (twins); only the name and the
//     date tell its members apart, and Fellegi-Sunter's independence
//     assumption would otherwise add those shared fields up into certainty;
//   - likewise similar but not identical names with different sexes (boy
//     and girl twins: a true pair would need two errors at once).
// (Placeholder names are handled by the engine: they never link without
// the same resident id, whatever the matcher.)
//
// Thread safety: immutable; safe to share between threads.
#ifndef HISBRIDGE_LIBS_MATCH_FS_MATCHER_H_
#define HISBRIDGE_LIBS_MATCH_FS_MATCHER_H_

#include <string>

#include "libs/match/comparison.h"
#include "libs/match/fs_model.h"
#include "libs/match/matcher.h"

namespace hisbridge::match {

class FsMatcher : public Matcher {
 public:
  explicit FsMatcher(FsModel model) : model_(std::move(model)) {}

  std::string version() const override { return model_.id(); }
  Thresholds thresholds() const override { return model_.thresholds(); }
  void Prepare(const hisbridge::v1::Record& patient, const PrepareOptions& options,
               MatchRecord* out) const override;
  PairScore Score(const MatchRecord& a, const MatchRecord& b, const TermFrequencies& frequencies) const override;
  hisbridge::v1::Explanation Explain(const MatchRecord& a, const MatchRecord& b,
                                     const TermFrequencies& frequencies) const override;

  const FsModel& model() const { return model_; }

  // The weight of a level for a pair, with the term-frequency adjustment.
  double LevelWeight(Field field, uint8_t level, const MatchRecord& a, const MatchRecord& b,
                     const TermFrequencies& frequencies) const;

 private:
  struct Scored {
    ComparisonVector levels;
    double weights[kFieldCount] = {};
    PairScore score;
    bool name_gate = false;
    bool date_gate = false;
    bool sex_conflict = false;
    bool id_name_conflict = false;
  };
  Scored Evaluate(const MatchRecord& a, const MatchRecord& b, const TermFrequencies& frequencies) const;

  FsModel model_;
};

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_FS_MATCHER_H_
