#include "libs/core/han.h"

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/core/pinyin.h"

namespace hisbridge::core {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

std::vector<std::string> ReadingTexts(char32_t cp) {
  std::vector<std::string> out;
  for (SyllableId id : Readings(cp)) out.emplace_back(SyllableText(id));
  return out;
}

TEST(Han, SimplifiesTraditionalCharacters) {
  EXPECT_EQ(ToSimplified(U'曉'), U'晓');
  EXPECT_EQ(ToSimplified(U'劉'), U'刘');
  EXPECT_EQ(ToSimplified(U'歐'), U'欧');
  EXPECT_EQ(ToSimplified(U'陽'), U'阳');
  EXPECT_EQ(ToSimplified(U'張'), U'张');
  EXPECT_EQ(ToSimplified(U'王'), U'王');
  EXPECT_EQ(ToSimplified(U'乾'), U'乾');  // stays in names such as 乾隆
  EXPECT_EQ(ToSimplified(U'a'), U'a');
}

TEST(Han, ListsTraditionalVariants) {
  const absl::Span<const char32_t> fa = TraditionalVariants(U'发');
  EXPECT_THAT(std::vector<char32_t>(fa.begin(), fa.end()), Contains(U'發'));
  EXPECT_THAT(std::vector<char32_t>(fa.begin(), fa.end()), Contains(U'髮'));
  EXPECT_THAT(std::vector<char32_t>(fa.begin(), fa.end()), Not(Contains(U'发')));
  const absl::Span<const char32_t> xiao = TraditionalVariants(U'晓');
  EXPECT_THAT(std::vector<char32_t>(xiao.begin(), xiao.end()), ElementsAre(U'曉'));
  EXPECT_TRUE(TraditionalVariants(U'王').empty());
}

TEST(Han, GivesEveryTonelessReadingCustomaryFirst) {
  EXPECT_THAT(ReadingTexts(U'王'), ElementsAre("wang"));
  const std::vector<std::string> dan = ReadingTexts(U'单');
  ASSERT_FALSE(dan.empty());
  EXPECT_EQ(dan[0], "dan");
  EXPECT_THAT(dan, Contains("shan"));
  EXPECT_THAT(dan, Contains("chan"));
  EXPECT_THAT(ReadingTexts(U'吕'), ElementsAre("lv"));
  EXPECT_THAT(ReadingTexts(U'略'), Contains("lve"));
  EXPECT_THAT(ReadingTexts(U'曾'), Contains("zeng"));
  EXPECT_THAT(ReadingTexts(U'曾'), Contains("ceng"));
  // Archaic kHanyuPinyin readings are not used when a modern dictionary has the character.
  EXPECT_THAT(ReadingTexts(U'仇'), Not(Contains("ju")));
  EXPECT_TRUE(Readings(U'a').empty());
}

TEST(Han, SyllableTableRoundTrips) {
  ASSERT_GT(SyllableCount(), 400u);
  for (size_t i = 0; i < SyllableCount(); ++i) {
    const absl::optional<SyllableId> id = FindSyllable(SyllableText(static_cast<SyllableId>(i)));
    ASSERT_TRUE(id.has_value());
    EXPECT_EQ(*id, i);
  }
  EXPECT_FALSE(FindSyllable("smith").has_value());
  EXPECT_FALSE(FindSyllable("").has_value());
}

TEST(Han, FindsHomophonesForTheGenerator) {
  const std::vector<char32_t> xiao = Homophones(U'小');
  EXPECT_THAT(xiao, Contains(U'晓'));
  EXPECT_THAT(xiao, Contains(U'笑'));
  EXPECT_THAT(xiao, Not(Contains(U'小')));
  for (char32_t c : xiao) EXPECT_TRUE(IsStandardCharacter(c));
  // Standard characters come first among all characters read "xiao".
  const absl::Span<const char32_t> all = CharactersWithReading(*FindSyllable("xiao"));
  ASSERT_FALSE(all.empty());
  EXPECT_TRUE(IsStandardCharacter(all[0]));
  EXPECT_GT(Homophones(U'小', /*standard_only=*/false).size(), xiao.size());
}

TEST(Han, FourCornerCodes) {
  EXPECT_EQ(FourCorner(U'王').ToString(), "1010.4");
  EXPECT_EQ(FourCorner(U'晓').ToString(), "6501");
  EXPECT_FALSE(FourCorner(U'a').valid());
  EXPECT_TRUE(SameFourCorner(U'己', U'已'));
  EXPECT_TRUE(SameFourCorner(U'未', U'末'));
  EXPECT_TRUE(SameFourCorner(U'土', U'士'));
  EXPECT_FALSE(SameFourCorner(U'王', U'玉'));  // 1010.4 vs 1010.3
  EXPECT_FALSE(SameFourCorner(U'王', U'a'));
  EXPECT_THAT(VisuallySimilar(U'己'), Contains(U'已'));
  EXPECT_THAT(VisuallySimilar(U'未'), Contains(U'末'));
  EXPECT_THAT(VisuallySimilar(U'未'), Not(Contains(U'未')));
}

TEST(Han, KnowsTheStandardCharacterList) {
  EXPECT_TRUE(IsStandardCharacter(U'王'));
  EXPECT_FALSE(IsStandardCharacter(U'曉'));
  EXPECT_TRUE(IsHan(U'王'));
  EXPECT_TRUE(IsHan(0x20000));
  EXPECT_FALSE(IsHan(U'a'));
  EXPECT_THAT(std::string(UnihanVersion()), ::testing::StartsWith("Unihan "));
}

TEST(Pinyin, SegmentsLatinLetters) {
  const auto seg = [](absl::string_view letters) {
    SyllableList out;
    std::vector<std::string> texts;
    if (!SegmentPinyin(letters, &out)) return texts;
    for (SyllableId id : out) texts.emplace_back(SyllableText(id));
    return texts;
  };
  EXPECT_THAT(seg("xiaoming"), ElementsAre("xiao", "ming"));
  EXPECT_THAT(seg("wangxiaoming"), ElementsAre("wang", "xiao", "ming"));
  EXPECT_THAT(seg("changan"), ElementsAre("chan", "gan"));  // chang'an needs its apostrophe
  EXPECT_THAT(seg("nana"), ElementsAre("na", "na"));
  EXPECT_THAT(seg("xian"), ElementsAre("xian"));
  EXPECT_THAT(seg("lyu"), ElementsAre("lv"));
  EXPECT_THAT(seg("nve"), ElementsAre("nve"));
  EXPECT_THAT(seg("ouyangnana"), ElementsAre("ou", "yang", "na", "na"));
  EXPECT_TRUE(seg("smith").empty());
  EXPECT_TRUE(seg("").empty());
  EXPECT_TRUE(seg("Wang").empty());  // callers lower-case first
  EXPECT_TRUE(seg(std::string(65, 'a')).empty());
}

TEST(Pinyin, EditDistanceCountsTranspositionsOnce) {
  EXPECT_EQ(EditDistance("wangxiaoming", "wangxiaoming"), 0);
  EXPECT_EQ(EditDistance("wangxiaoming", "wangxiaomin"), 1);
  EXPECT_EQ(EditDistance("wangxiaoming", "wnagxiaoming"), 1);
  EXPECT_EQ(EditDistance("zhang", "chang"), 1);
  EXPECT_EQ(EditDistance("zhang", "cang"), 2);
  EXPECT_EQ(EditDistance("", "abc"), 3);
  EXPECT_EQ(EditDistance(std::string(100, 'a'), std::string(100, 'a')), 0);
}

TEST(Pinyin, EditDistanceAtMostAgreesWithEditDistance) {
  const char* const words[] = {"", "a", "ab", "ba", "abc", "wangxiaoming", "wangxiaomin", "wnagxiaoming",
                               "wangxiaomng", "zhangwei", "zhangwie", "changwei", "xiaoming", "wangming"};
  for (const char* x : words) {
    for (const char* y : words) {
      const int d = EditDistance(x, y);
      for (int k = 0; k <= 4; ++k) {
        EXPECT_EQ(EditDistanceAtMost(x, y, k), d <= k) << x << " / " << y << " within " << k;
      }
    }
  }
  EXPECT_FALSE(EditDistanceAtMost("abc", "abd", -1));
  EXPECT_TRUE(EditDistanceAtMost(std::string(64, 'a'), "", 64));
  EXPECT_FALSE(EditDistanceAtMost(std::string(64, 'a'), "", 63));
  EXPECT_TRUE(EditDistanceAtMost("abc", "xyz", std::numeric_limits<int>::max()));
}

// The textbook optimal-string-alignment distance over the full table, as
// an independent reference (the library computes a band of it).
int ReferenceOsa(const std::string& a, const std::string& b) {
  std::vector<std::vector<int>> d(a.size() + 1, std::vector<int>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The bounded distance computes only a band around the diagonal: random
// words over a small alphabet (many repeats and transpositions) cover the
// band's edges far better than a word list.
TEST(Pinyin, EditDistanceAtMostAgreesWithEditDistanceOnRandomWords) {
  std::mt19937 rng(5);
  auto word = [&rng] {
    std::string w(rng() % 13, 'a');
    for (char& c : w) c = static_cast<char>('a' + rng() % 3);
    return w;
  };
  for (int trial = 0; trial < 20000; ++trial) {
    const std::string x = word();
    const std::string y = trial % 4 == 0 ? x.substr(0, x.size() / 2) + word() : word();
    const int d = EditDistance(x, y);
    ASSERT_EQ(d, ReferenceOsa(x, y)) << x << " / " << y;
    for (int k = 0; k <= 4; ++k) {
      ASSERT_EQ(EditDistanceAtMost(x, y, k), d <= k) << x << " / " << y << " within " << k << " (distance " << d << ")";
    }
  }
}

TEST(Pinyin, TreatsUmlautSpellingsAsEquivalent) {
  EXPECT_TRUE(SyllablesEquivalent(*FindSyllable("lv"), *FindSyllable("lu")));
  EXPECT_TRUE(SyllablesEquivalent(*FindSyllable("nv"), *FindSyllable("nu")));
  EXPECT_FALSE(FindSyllable("nue").has_value());  // only the "nve" spelling exists
  EXPECT_FALSE(SyllablesEquivalent(*FindSyllable("lv"), *FindSyllable("li")));
}

}  // namespace
}  // namespace hisbridge::core
