#include "libs/synth/corruption.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/han.h"
#include "libs/core/name.h"
#include "libs/core/utf8.h"
#include "libs/synth/name_tables.h"

namespace hisbridge::synth {
namespace {

struct Substitutes {
  std::vector<char32_t> homophones;  // best first
  std::vector<double> homophone_weights;
  std::vector<char32_t> near;  // accent near-homophones
  std::vector<double> near_weights;
  std::vector<char32_t> similar;
  std::vector<double> similar_weights;
};

// The candidates an input method would offer, name characters strongly
// preferred: 伟 -> 卫 维 玮 rather than 委 or 谓.
void Rank(const std::vector<char32_t>& candidates, size_t keep_other, std::vector<char32_t>* out,
          std::vector<double>* weights) {
  const NameTables& names = NameTables::Get();
  size_t others = 0;
  for (char32_t c : candidates) {
    // Never a substitute that turns a name into a placeholder (王荣 -> 王某).
    static constexpr char32_t kPlaceholderChars[] = {U'某', U'氏', U'婴', U'宝', U'孩', U'无'};
    if (!core::IsStandardCharacter(c) ||
        std::find(std::begin(kPlaceholderChars), std::end(kPlaceholderChars), c) != std::end(kPlaceholderChars)) {
      continue;
    }
    if (names.IsGivenNameCharacter(c)) {
      out->push_back(c);
      weights->push_back(6.0);
    } else if (others < keep_other) {
      out->push_back(c);
      weights->push_back(1.0 / static_cast<double>(1 + others));
      ++others;
    }
  }
}

bool ShareAnyReading(char32_t a, char32_t b) {
  for (core::SyllableId x : core::Readings(a)) {
    for (core::SyllableId y : core::Readings(b)) {
      if (x == y) return true;
    }
  }
  return false;
}

// Characters whose customary reading is an accent variant of cp's, in
// the order CharactersWithReading gives (standard, then frequent).
std::vector<char32_t> NearHomophoneCandidates(char32_t cp) {
  std::vector<char32_t> out;
  const absl::Span<const core::SyllableId> readings = core::Readings(cp);
  if (readings.empty()) return out;
  for (const std::string& variant : AccentVariants(core::SyllableText(readings[0]))) {
    const absl::optional<core::SyllableId> id = core::FindSyllable(variant);
    if (!id.has_value()) continue;
    for (char32_t c : core::CharactersWithReading(*id)) {
      const absl::Span<const core::SyllableId> r = core::Readings(c);
      if (r.empty() || r[0] != *id || ShareAnyReading(c, cp)) continue;
      out.push_back(c);
    }
  }
  return out;
}

Substitutes ComputeSubstitutes(char32_t cp) {
  Substitutes s;
  Rank(core::Homophones(cp, /*standard_only=*/true), 6, &s.homophones, &s.homophone_weights);
  Rank(core::VisuallySimilar(cp, /*standard_only=*/true), 3, &s.similar, &s.similar_weights);
  Rank(NearHomophoneCandidates(cp), 4, &s.near, &s.near_weights);
  return s;
}

// Given names use a few hundred characters: their substitutes are computed
// once, before any thread reads them, and never change (no lock on the hot
// path). Other characters are computed on demand.
const Substitutes& SubstitutesOf(char32_t cp, Substitutes* scratch) {
  static const auto* table = [] {
    auto* t = new absl::flat_hash_map<char32_t, Substitutes>();
    for (char32_t c : NameTables::Get().GivenNameCharacters()) t->emplace(c, ComputeSubstitutes(c));
    return t;
  }();
  const auto it = table->find(cp);
  if (it != table->end()) return it->second;
  *scratch = ComputeSubstitutes(cp);
  return *scratch;
}

template <typename Candidates>
bool ReplaceGivenChar(absl::string_view surname, absl::string_view given, Rng& rng, Candidates candidates,
                      std::string* out) {
  std::vector<char32_t> chars = DecodeChars(given);
  std::vector<size_t> positions;
  for (size_t i = 0; i < chars.size(); ++i) {
    if (!candidates(chars[i]).first.empty()) positions.push_back(i);
  }
  if (positions.empty()) return false;
  const size_t pos = positions[rng.Uniform(positions.size())];
  const auto [list, weights] = candidates(chars[pos]);
  chars[pos] = list[rng.Pick(weights)];
  *out = absl::StrCat(surname, EncodeChars(chars));
  return true;
}

std::pair<std::vector<char32_t>, std::vector<double>> HomophonesOf(char32_t cp) {
  Substitutes scratch;
  const Substitutes& s = SubstitutesOf(cp, &scratch);
  return {s.homophones, s.homophone_weights};
}
std::pair<std::vector<char32_t>, std::vector<double>> NearOf(char32_t cp) {
  Substitutes scratch;
  const Substitutes& s = SubstitutesOf(cp, &scratch);
  return {s.near, s.near_weights};
}
std::pair<std::vector<char32_t>, std::vector<double>> SimilarOf(char32_t cp) {
  Substitutes scratch;
  const Substitutes& s = SubstitutesOf(cp, &scratch);
  return {s.similar, s.similar_weights};
}

std::string Capitalised(absl::string_view syllable) {
  std::string s(syllable);
  if (!s.empty()) s[0] = absl::ascii_toupper(s[0]);
  return s;
}

void AppendFullWidthDigit(char c, std::string* out) {
  // U+FF10..U+FF19; Ｘ U+FF38.
  core::AppendUtf8(c == 'X' ? U'\uFF38' : static_cast<char32_t>(0xFF10 + (c - '0')), out);
}

}  // namespace

std::vector<char32_t> DecodeChars(absl::string_view text) {
  std::vector<char32_t> out;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    if (!core::DecodeUtf8(text, &pos, &cp)) break;
    out.push_back(cp);
  }
  return out;
}

std::string EncodeChars(const std::vector<char32_t>& chars) {
  std::string out;
  for (char32_t c : chars) core::AppendUtf8(c, &out);
  return out;
}

bool IdOneDigit(absl::string_view id, Rng& rng, std::string* out) {
  if (id.empty()) return false;
  std::string s(id);
  const size_t pos = rng.Uniform(s.size());
  char replacement;
  do {
    replacement = static_cast<char>('0' + rng.Uniform(10));
  } while (replacement == s[pos]);
  s[pos] = replacement;
  *out = std::move(s);
  return true;
}

bool IdTransposition(absl::string_view id, Rng& rng, std::string* out) {
  std::vector<size_t> positions;
  for (size_t i = 0; i + 1 < id.size(); ++i) {
    // Swapping the check character X into the body would make a
    // non-digit body: not a typo a keyboard makes.
    if (id[i] != id[i + 1] && id[i] != 'X' && id[i + 1] != 'X') positions.push_back(i);
  }
  if (positions.empty()) return false;
  const size_t pos = positions[rng.Uniform(positions.size())];
  std::string s(id);
  std::swap(s[pos], s[pos + 1]);
  *out = std::move(s);
  return true;
}

std::string IdFormatNoise(absl::string_view id, Rng& rng) {
  switch (rng.Uniform(4)) {
    case 0:
      if (id.size() == 18) return absl::StrCat(id.substr(0, 6), " ", id.substr(6, 8), " ", id.substr(14));
      return absl::StrCat(id.substr(0, 6), " ", id.substr(6));
    case 1:
      if (id.back() == 'X') return absl::StrCat(id.substr(0, id.size() - 1), "x");
      return absl::StrCat(" ", id, " ");
    case 2:
      return absl::StrCat("'", id);
    default: {
      std::string out;
      for (char c : id) AppendFullWidthDigit(c, &out);
      return out;
    }
  }
}

bool HasHomophoneCandidate(absl::string_view given) {
  for (char32_t c : DecodeChars(given)) {
    Substitutes scratch;
    if (!SubstitutesOf(c, &scratch).homophones.empty()) return true;
  }
  return false;
}

std::vector<std::string> AccentVariants(absl::string_view s) {
  std::vector<std::string> out;
  auto add = [&](std::string v) {
    if (v != s && core::FindSyllable(v).has_value() &&
        std::find(out.begin(), out.end(), v) == out.end()) {
      out.push_back(std::move(v));
    }
  };
  const std::string syl(s);
  // Initials.
  if (syl.size() > 2 && (syl.compare(0, 2, "zh") == 0 || syl.compare(0, 2, "ch") == 0 || syl.compare(0, 2, "sh") == 0)) {
    add(syl.substr(0, 1) + syl.substr(2));
  } else if (!syl.empty() && (syl[0] == 'z' || syl[0] == 'c' || syl[0] == 's')) {
    add(syl.substr(0, 1) + "h" + syl.substr(1));
  }
  if (!syl.empty() && syl[0] == 'n') add("l" + syl.substr(1));
  if (!syl.empty() && syl[0] == 'l') add("n" + syl.substr(1));
  if (syl.size() > 2 && syl.compare(0, 2, "hu") == 0) add("f" + syl.substr(2));
  if (!syl.empty() && syl[0] == 'f') add("hu" + syl.substr(1));
  // Finals.
  if (syl.size() > 2 && syl.compare(syl.size() - 2, 2, "ng") == 0) add(syl.substr(0, syl.size() - 1));
  if (syl.size() > 1 && syl.back() == 'n') add(syl + "g");
  return out;
}

bool HasNearHomophoneCandidate(absl::string_view given) {
  for (char32_t c : DecodeChars(given)) {
    Substitutes scratch;
    if (!SubstitutesOf(c, &scratch).near.empty()) return true;
  }
  return false;
}

bool NameNearHomophone(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out) {
  return ReplaceGivenChar(surname, given, rng, NearOf, out);
}

bool HasSimilarCandidate(absl::string_view given) {
  for (char32_t c : DecodeChars(given)) {
    Substitutes scratch;
    if (!SubstitutesOf(c, &scratch).similar.empty()) return true;
  }
  return false;
}

bool HasTraditionalCandidate(absl::string_view name) {
  for (char32_t c : DecodeChars(name)) {
    if (!core::TraditionalVariants(c).empty()) return true;
  }
  return false;
}

bool NameHomophone(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out) {
  return ReplaceGivenChar(surname, given, rng, HomophonesOf, out);
}

bool NameSimilarChar(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out) {
  return ReplaceGivenChar(surname, given, rng, SimilarOf, out);
}

bool NameTraditional(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out) {
  std::vector<char32_t> chars = DecodeChars(absl::StrCat(surname, given));
  std::vector<size_t> positions;
  for (size_t i = 0; i < chars.size(); ++i) {
    if (!core::TraditionalVariants(chars[i]).empty()) positions.push_back(i);
  }
  if (positions.empty()) return false;
  // A system set to a traditional font or input method converts every
  // character it can; a registrar picking the wrong candidate, one.
  auto convert = [&](size_t i) {
    const absl::Span<const char32_t> variants = core::TraditionalVariants(chars[i]);
    // The first variant is the usual one (发 -> 發 rather than 髮).
    chars[i] = variants[rng.Bernoulli(0.85) ? 0 : rng.Uniform(variants.size())];
  };
  if (rng.Bernoulli(0.5)) {
    for (size_t i : positions) convert(i);
  } else {
    convert(positions[rng.Uniform(positions.size())]);
  }
  *out = EncodeChars(chars);
  return true;
}

bool NamePinyin(absl::string_view surname, absl::string_view given, Rng& rng, std::string* out) {
  std::vector<std::string> sur, giv;
  for (char32_t c : DecodeChars(surname)) {
    absl::Span<const absl::string_view> special = core::SurnameReadings(c);
    if (!special.empty()) {
      sur.emplace_back(special[0]);
      continue;
    }
    absl::Span<const core::SyllableId> readings = core::Readings(c);
    if (readings.empty()) return false;
    sur.emplace_back(core::SyllableText(readings[0]));
  }
  for (char32_t c : DecodeChars(given)) {
    absl::Span<const core::SyllableId> readings = core::Readings(c);
    if (readings.empty()) return false;
    giv.emplace_back(core::SyllableText(readings[0]));
  }
  const std::string s = absl::StrJoin(sur, "");
  const std::string g = absl::StrJoin(giv, "");
  switch (rng.Uniform(5)) {
    case 0:
      *out = absl::AsciiStrToUpper(absl::StrCat(s, " ", g));
      break;
    case 1:
      *out = absl::StrCat(Capitalised(s), " ", Capitalised(g));
      break;
    case 2:
      *out = absl::StrCat(s, " ", absl::StrJoin(giv, " "));
      break;
    case 3:
      // Given name first, as on foreign-style forms.
      *out = absl::AsciiStrToUpper(absl::StrCat(g, " ", s));
      break;
    default:
      *out = absl::AsciiStrToUpper(absl::StrCat(s, g));
      break;
  }
  return true;
}

std::string NameSpaceNoise(absl::string_view name, Rng& rng) {
  std::vector<char32_t> chars = DecodeChars(name);
  if (chars.size() < 2) return absl::StrCat(name, " ");
  switch (rng.Uniform(3)) {
    case 0: {
      // Between surname and given name, the commonest.
      const size_t at = core::CompoundSurnamePrefix(name).empty() ? 1 : 2;
      chars.insert(chars.begin() + static_cast<long>(std::min(at, chars.size() - 1)), U' ');
      return EncodeChars(chars);
    }
    case 1:
      return absl::StrCat(name, " ");
    default: {
      std::string out;
      for (size_t i = 0; i < chars.size(); ++i) {
        if (i > 0) out += rng.Bernoulli(0.7) ? " " : "  ";
        core::AppendUtf8(chars[i], &out);
      }
      return out;
    }
  }
}

std::string NameFullwidthNoise(absl::string_view name, Rng& rng) {
  switch (rng.Uniform(4)) {
    case 0:
      return absl::StrCat(name, "\u3000");
    case 1: {
      std::vector<char32_t> chars = DecodeChars(name);
      if (chars.size() >= 2) chars.insert(chars.begin() + 1, U'\u3000');
      return EncodeChars(chars);
    }
    case 2:
      return absl::StrCat(name, rng.Bernoulli(0.5) ? "（新）" : "（重）");
    default:
      return absl::StrCat(name, "＊");
  }
}

absl::CivilDay LunarShift(absl::CivilDay day, Rng& rng) { return day - rng.UniformInt(20, 50); }

bool PhoneOneDigit(absl::string_view digits, Rng& rng, std::string* out) {
  // Mobiles keep their operator prefix (the part people remember); a
  // landline keeps its area code.
  const size_t keep = digits.size() == 11 ? 3 : (digits.size() >= 10 ? 4 : 0);
  if (digits.size() <= keep) return false;
  std::string s(digits);
  const size_t pos = keep + rng.Uniform(s.size() - keep);
  char replacement;
  do {
    replacement = static_cast<char>('0' + rng.Uniform(10));
  } while (replacement == s[pos]);
  s[pos] = replacement;
  *out = std::move(s);
  return true;
}

}  // namespace hisbridge::synth
