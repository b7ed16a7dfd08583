#include "libs/synth/corruption.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "gtest/gtest.h"
#include "libs/core/han.h"
#include "libs/core/name.h"
#include "libs/core/resident_id.h"

namespace hisbridge::synth {
namespace {

constexpr absl::CivilDay kToday(2025, 6, 1);

bool ShareReading(char32_t a, char32_t b) {
  for (core::SyllableId x : core::Readings(a)) {
    for (core::SyllableId y : core::Readings(b)) {
      if (x == y) return true;
    }
  }
  return false;
}

// The one position where two equally long names differ; -1 otherwise.
int OnlyDifference(const std::vector<char32_t>& a, const std::vector<char32_t>& b) {
  if (a.size() != b.size()) return -1;
  int at = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (at >= 0) return -1;
    at = static_cast<int>(i);
  }
  return at;
}

TEST(CorruptionTest, IdTyposAreCaughtByTheCheckDigit) {
  const std::string id = *core::MakeResidentId("450324", absl::CivilDay(1985, 3, 2), 123);
  Rng rng(1);
  for (int i = 0; i < 500; ++i) {
    std::string one, swapped;
    ASSERT_TRUE(IdOneDigit(id, rng, &one));
    ASSERT_TRUE(IdTransposition(id, rng, &swapped));
    const core::ResidentIdResult a = core::ParseResidentId(one, kToday);
    const core::ResidentIdResult b = core::ParseResidentId(swapped, kToday);
    EXPECT_FALSE(a.ok()) << one;
    EXPECT_FALSE(b.ok()) << swapped;
    EXPECT_EQ(core::ClassifyIdDifference(one, id), core::IdDifference::kOneCharacterDifferent);
    EXPECT_EQ(core::ClassifyIdDifference(swapped, id), core::IdDifference::kAdjacentTransposition);
  }
}

TEST(CorruptionTest, IdFormatNoiseStaysValid) {
  const std::string id = *core::MakeResidentId("450324", absl::CivilDay(1971, 12, 30), 7);
  Rng rng(2);
  for (int i = 0; i < 200; ++i) {
    const std::string noisy = IdFormatNoise(id, rng);
    const core::ResidentIdResult r = core::ParseResidentId(noisy, kToday);
    EXPECT_TRUE(r.ok()) << noisy;
    EXPECT_EQ(r.canonical, id);
  }
}

TEST(CorruptionTest, HomophonesShareTheToneLessReading) {
  Rng rng(3);
  int applied = 0;
  for (const char* given : {"伟", "小明", "秀英", "浩然", "丽华", "建国", "婷"}) {
    for (int i = 0; i < 50; ++i) {
      std::string out;
      if (!NameHomophone("王", given, rng, &out)) continue;
      ++applied;
      const std::vector<char32_t> a = DecodeChars(std::string("王") + given), b = DecodeChars(out);
      const int at = OnlyDifference(a, b);
      ASSERT_GE(at, 1) << out;  // never the surname
      EXPECT_TRUE(ShareReading(a[at], b[at])) << out;
      EXPECT_TRUE(core::IsStandardCharacter(b[at])) << out;
      EXPECT_EQ(core::CompareNames(core::NormalizeName(std::string("王") + given), core::NormalizeName(out)),
                core::NameMatch::kHomophone)
          << out;
    }
  }
  EXPECT_GT(applied, 300);
}

TEST(CorruptionTest, SimilarCharactersShareTheFourCornerCode) {
  Rng rng(4);
  int applied = 0;
  for (const char* given : {"明", "己", "玉", "天", "土", "未", "日"}) {
    for (int i = 0; i < 30; ++i) {
      std::string out;
      if (!NameSimilarChar("李", given, rng, &out)) continue;
      ++applied;
      const std::vector<char32_t> a = DecodeChars(std::string("李") + given), b = DecodeChars(out);
      const int at = OnlyDifference(a, b);
      ASSERT_GE(at, 1) << out;
      EXPECT_TRUE(core::SameFourCorner(a[at], b[at])) << out;
    }
  }
  EXPECT_GT(applied, 50);
  EXPECT_EQ(HasSimilarCandidate("明"), !core::VisuallySimilar(U'明').empty());
}

TEST(CorruptionTest, TraditionalFormsAreRealVariants) {
  Rng rng(5);
  for (int i = 0; i < 100; ++i) {
    std::string out;
    ASSERT_TRUE(NameTraditional("刘", "伟华", rng, &out));
    const std::vector<char32_t> a = DecodeChars("刘伟华"), b = DecodeChars(out);
    ASSERT_EQ(a.size(), b.size());
    int changed = 0;
    for (size_t k = 0; k < a.size(); ++k) {
      if (a[k] == b[k]) continue;
      ++changed;
      const absl::Span<const char32_t> v = core::TraditionalVariants(a[k]);
      EXPECT_NE(std::find(v.begin(), v.end(), b[k]), v.end());
    }
    EXPECT_GE(changed, 1);
  }
  std::string out;
  EXPECT_FALSE(NameTraditional("王", "丁", rng, &out));
}

TEST(CorruptionTest, PinyinNamesUseSurnameReadings) {
  Rng rng(6);
  bool saw_shan = false;
  for (int i = 0; i < 50; ++i) {
    std::string out;
    ASSERT_TRUE(NamePinyin("单", "小明", rng, &out));
    for (char c : out) EXPECT_TRUE(absl::ascii_isalpha(c) || c == ' ') << out;
    saw_shan |= absl::AsciiStrToLower(out).find("shan") != std::string::npos;
    EXPECT_EQ(absl::AsciiStrToLower(out).find("dan"), std::string::npos) << out;
  }
  EXPECT_TRUE(saw_shan);
  const core::NormalizedName latin = core::NormalizeName("WANG XIAOMING");
  EXPECT_EQ(core::CompareNames(latin, core::NormalizeName("王小明")), core::NameMatch::kLatinEqual);
}

TEST(CorruptionTest, NoiseNormalisesAway) {
  Rng rng(7);
  for (int i = 0; i < 100; ++i) {
    const std::string spaced = NameSpaceNoise("欧阳娜娜", rng);
    const std::string wide = NameFullwidthNoise("王小明", rng);
    EXPECT_NE(spaced, "欧阳娜娜");
    EXPECT_NE(wide, "王小明");
    EXPECT_EQ(core::NormalizeName(spaced).han, "欧阳娜娜") << spaced;
    EXPECT_EQ(core::NormalizeName(wide).han, "王小明") << wide;
  }
}

TEST(CorruptionTest, LunarShiftIsTwentyToFiftyDaysEarly) {
  Rng rng(8);
  for (int i = 0; i < 200; ++i) {
    const absl::CivilDay d(1950, 2, 10);
    const int64_t shift = d - LunarShift(d, rng);
    EXPECT_GE(shift, 20);
    EXPECT_LE(shift, 50);
  }
}

TEST(CorruptionTest, PhoneTypoKeepsThePrefix) {
  Rng rng(9);
  for (int i = 0; i < 200; ++i) {
    std::string out;
    ASSERT_TRUE(PhoneOneDigit("13812345678", rng, &out));
    EXPECT_EQ(out.substr(0, 3), "138");
    EXPECT_EQ(core::ClassifyIdDifference(out, "13812345678"), core::IdDifference::kOneCharacterDifferent);
  }
}

}  // namespace
}  // namespace hisbridge::synth
