#include "libs/core/pinyin.h"

#include <algorithm>
#include <array>

namespace hisbridge::core {
namespace {

constexpr size_t kMaxLetters = 64;
constexpr size_t kMaxSyllableLength = 6;  // "zhuang", "chuang", "shuang"

// Syllables that are real readings but would let latin text fall apart into
// nonsense ("smith" is not s+m+i+th, but "m" and "n" are readings of 呣 and
// 嗯): interjections without a vowel never occur in names.
bool UsableInNames(absl::string_view s) {
  return s != "m" && s != "n" && s != "ng" && s != "hm" && s != "hng";
}

// Passport and legacy spellings of ü-syllables.
absl::optional<SyllableId> FindSpelling(absl::string_view s) {
  if (s == "lyu") return FindSyllable("lv");
  if (s == "nyu") return FindSyllable("nv");
  if (s == "lyue" || s == "lue") return FindSyllable("lve");
  if (s == "nyue" || s == "nue") return FindSyllable("nve");
  absl::optional<SyllableId> id = FindSyllable(s);
  if (id.has_value() && !UsableInNames(s)) return absl::nullopt;
  return id;
}

}  // namespace

bool SegmentPinyin(absl::string_view letters, SyllableList* out) {
  const size_t n = letters.size();
  if (n == 0 || n > kMaxLetters) return false;
  for (char c : letters) {
    if (c < 'a' || c > 'z') return false;
  }
  // best[i]: the cheapest split of letters[i..n); next[i]: the length of
  // its first syllable. A syllable costs 2, plus 1 when it starts with a
  // vowel after another syllable: written pinyin needs an apostrophe there
  // (xi'an), so without one "xian" is one syllable and "nana" is na na, not
  // nan a. Filled right to left; ties go to the longer first syllable.
  constexpr int kNone = 1 << 20;
  std::array<int, kMaxLetters + 1> best;
  std::array<uint8_t, kMaxLetters + 1> next{};
  std::array<SyllableId, kMaxLetters + 1> first{};
  best.fill(kNone);
  best[n] = 0;
  for (size_t i = n; i-- > 0;) {
    const size_t max_len = std::min(kMaxSyllableLength, n - i);
    for (size_t len = max_len; len >= 1; --len) {
      if (best[i + len] == kNone) continue;
      absl::optional<SyllableId> id = FindSpelling(letters.substr(i, len));
      if (!id.has_value()) continue;
      const char next_letter = i + len < n ? letters[i + len] : 'x';
      const int vowel_after =
          next_letter == 'a' || next_letter == 'e' || next_letter == 'o' ? 1 : 0;
      const int cost = best[i + len] + 2 + vowel_after;
      if (cost < best[i]) {
        best[i] = cost;
        next[i] = static_cast<uint8_t>(len);
        first[i] = *id;
      }
    }
  }
  if (best[0] == kNone) return false;
  for (size_t i = 0; i < n; i += next[i]) out->push_back(first[i]);
  return true;
}

namespace {

// min(OSA distance, bound + 1), computing only the band |i - j| <= bound.
// Every edit, and a transposition too, moves a path at most one step off
// the diagonal per unit of cost, so a cell outside the band is worth more
// than `bound` and can stand as bound + 1; so can every cell once two
// consecutive rows are all over the bound (a cell derives from the two rows
// before it plus a non-negative cost). For the matcher's bounds of 1 and 2
// that is 3 to 5 cells a row instead of the whole row.
int BoundedOsaDistance(absl::string_view a, absl::string_view b, int bound) {
  a = a.substr(0, kMaxLetters);
  b = b.substr(0, kMaxLetters);
  const size_t m = a.size();
  const size_t n = b.size();
  const int cap = bound + 1;
  const size_t k = static_cast<size_t>(bound);
  if ((m > n ? m - n : n - m) > k) return cap;
  // Only cells a row computes, and the one on either side of its band,
  // are ever read, so the rows need no filling; row 0 is read up to k + 1.
  std::array<int, kMaxLetters + 2> rows[3];
  int* prev2 = rows[0].data();
  int* prev = rows[1].data();
  int* cur = rows[2].data();
  for (size_t j = 0; j <= std::min(n, k + 1); ++j) prev[j] = j <= k ? static_cast<int>(j) : cap;
  bool prev_over = false;
  for (size_t i = 1; i <= m; ++i) {
    const size_t lo = i > k ? i - k : 1;
    const size_t hi = std::min(n, i + k);
    // The cell left of the band: column 0 (i deletions) or outside it.
    cur[lo - 1] = lo == 1 && i <= k ? static_cast<int>(i) : cap;
    int row_min = cur[lo - 1];
    for (size_t j = lo; j <= hi; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = std::min(v, prev2[j - 2] + 1);
      v = std::min(v, cap);
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    // The cell right of the band, which the next row reads above it.
    if (hi + 1 <= n) cur[hi + 1] = cap;
    const bool over = row_min >= cap;
    if (over && prev_over) return cap;
    prev_over = over;
    int* recycled = prev2;
    prev2 = prev;
    prev = cur;
    cur = recycled;
  }
  return prev[n];
}

}  // namespace

// Words are truncated to kMaxLetters, so no distance reaches that bound
// plus one: the band is the whole table.
int EditDistance(absl::string_view a, absl::string_view b) {
  return BoundedOsaDistance(a, b, static_cast<int>(kMaxLetters));
}

bool EditDistanceAtMost(absl::string_view a, absl::string_view b, int max_distance) {
  if (max_distance < 0) return false;
  // No distance exceeds the longer (truncated) word; the clamp also keeps
  // bound + 1 from overflowing.
  if (max_distance >= static_cast<int>(kMaxLetters)) return true;
  return BoundedOsaDistance(a, b, max_distance) <= max_distance;
}

bool SyllablesEquivalent(SyllableId a, SyllableId b) {
  if (a == b) return true;
  const absl::string_view x = SyllableText(a);
  const absl::string_view y = SyllableText(b);
  if (x.size() != y.size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    const char cx = x[i] == 'v' ? 'u' : x[i];
    const char cy = y[i] == 'v' ? 'u' : y[i];
    if (cx != cy) return false;
  }
  return true;
}

}  // namespace hisbridge::core
