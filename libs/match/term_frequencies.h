// How often each name and phone occurs among a county's live records, for
// the term-frequency adjustment of Fellegi-Sunter weights: agreeing on a
// name shared by hundreds of people (王伟) is weaker evidence than agreeing
// on a rare one (覃秀娟), and a phone on many records (a household's, a
// village doctor's) weaker than a personal one.
//
// Counts are kept by value token (MatchRecord::name_token, pinyin_token,
// phone_tokens). The linker adds a record when it becomes live with a given
// preparation and removes it before the preparation changes, so the counts
// always describe the current live records, and a replay of the log
// reproduces them exactly.
//
// Thread safety: none; owned by the one thread linking a region. Reads
// through a const reference are safe while no thread writes.
#ifndef HISBRIDGE_LIBS_MATCH_TERM_FREQUENCIES_H_
#define HISBRIDGE_LIBS_MATCH_TERM_FREQUENCIES_H_

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "libs/match/match_record.h"

namespace hisbridge::match {

class TermFrequencies {
 public:
  void Add(const MatchRecord& record) { Update(record, +1); }
  void Remove(const MatchRecord& record) { Update(record, -1); }

  // Live records counted.
  int64_t records() const { return records_; }
  // Records with this value token (0 when unknown).
  int64_t Count(uint64_t token) const {
    auto it = counts_.find(token);
    return it == counts_.end() ? 0 : it->second;
  }
  size_t distinct_values() const { return counts_.size(); }

 private:
  void Update(const MatchRecord& record, int delta);
  void Bump(uint64_t token, int delta);

  int64_t records_ = 0;
  absl::flat_hash_map<uint64_t, int32_t> counts_;
};

}  // namespace hisbridge::match

#endif  // HISBRIDGE_LIBS_MATCH_TERM_FREQUENCIES_H_
