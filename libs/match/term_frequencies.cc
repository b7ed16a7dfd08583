#include "libs/match/term_frequencies.h"

namespace hisbridge::match {

void TermFrequencies::Bump(uint64_t token, int delta) {
  if (token == 0) return;
  if (delta > 0) {
    counts_[token] += delta;
    return;
  }
  auto it = counts_.find(token);
  if (it == counts_.end()) return;
  it->second += delta;
  if (it->second <= 0) counts_.erase(it);
}

void TermFrequencies::Update(const MatchRecord& record, int delta) {
  records_ += delta;
  if (records_ < 0) records_ = 0;
  Bump(record.name_token, delta);
  if (record.pinyin_token != record.name_token) Bump(record.pinyin_token, delta);
  for (uint64_t phone : record.phone_tokens) Bump(phone, delta);
}

}  // namespace hisbridge::match
