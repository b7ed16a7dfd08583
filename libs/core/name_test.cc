#include "libs/core/name.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hisbridge::core {
namespace {

using ::testing::Contains;

std::vector<std::string> Texts(absl::Span<const SyllableId> ids) {
  std::vector<std::string> out;
  for (SyllableId id : ids) out.emplace_back(SyllableText(id));
  return out;
}

TEST(NormalizeName, PlainHanName) {
  const NormalizedName n = NormalizeName("王小明");
  EXPECT_EQ(n.script, NameScript::kHan);
  EXPECT_EQ(n.han, "王小明");
  EXPECT_EQ(n.surname, "王");
  EXPECT_EQ(n.given, "小明");
  EXPECT_EQ(n.surname_length, 1);
  EXPECT_EQ(n.pinyin, "wangxiaoming");
  EXPECT_EQ(n.surname_pinyin, "wang");
  EXPECT_EQ(n.given_initials, "xm");
  EXPECT_EQ(Texts(n.syllables), (std::vector<std::string>{"wang", "xiao", "ming"}));
  ASSERT_EQ(n.chars.size(), 3u);
  EXPECT_EQ(n.chars[0].four_corner.ToString(), "1010.4");
  EXPECT_FALSE(n.is_placeholder());
  EXPECT_EQ(n.issues, 0u);
}

TEST(NormalizeName, RemovesSpacesAndPunctuationBetweenHan) {
  for (const char* raw : {"王 小明", "王　小明", " 王小明 ", "王,小明", "王、小明", "王_小明"}) {
    const NormalizedName n = NormalizeName(raw);
    EXPECT_EQ(n.han, "王小明") << raw;
    EXPECT_EQ(n.surname, "王") << raw;
  }
  EXPECT_TRUE(NormalizeName("王 小明").has(NameIssue::kSeparatorsRemoved));
  EXPECT_FALSE(NormalizeName(" 王小明 ").has(NameIssue::kSeparatorsRemoved));
}

TEST(NormalizeName, StripsNotesAndJunk) {
  for (const char* raw :
       {"王小明(新)", "王小明（新）", "王小明【重复】", "王小明[作废]", "王小明(", "王小明〔2〕"}) {
    const NormalizedName n = NormalizeName(raw);
    EXPECT_EQ(n.han, "王小明") << raw;
    EXPECT_TRUE(n.has(NameIssue::kNoteRemoved)) << raw;
  }
  for (const char* raw : {"王小明*", "*王小明", "王小明2", "王小明#", "王小明１", "王小明★"}) {
    const NormalizedName n = NormalizeName(raw);
    EXPECT_EQ(n.han, "王小明") << raw;
    EXPECT_TRUE(n.has(NameIssue::kJunkRemoved)) << raw;
  }
  const NormalizedName mixed = NormalizeName("王小明abc");
  EXPECT_EQ(mixed.han, "王小明");
  EXPECT_TRUE(mixed.has(NameIssue::kLatinDropped));
  const NormalizedName lost = NormalizeName("王?明");
  EXPECT_EQ(lost.han, "王明");
  EXPECT_TRUE(lost.has(NameIssue::kLostCharacter));
}

TEST(NormalizeName, FoldsWidthAndCompatibilityIdeographs) {
  const NormalizedName n = NormalizeName("ＷＡＮＧ　ＸＩＡＯＭＩＮＧ");
  EXPECT_EQ(n.script, NameScript::kLatin);
  EXPECT_TRUE(n.is_pinyin);
  EXPECT_EQ(n.pinyin, "wangxiaoming");
  EXPECT_EQ(n.surname, "wang");
  EXPECT_EQ(n.given, "xiaoming");
  // U+F9DC is a CJK compatibility ideograph; NFKC makes it 隆.
  EXPECT_EQ(NormalizeName("王\uF9DC").han, "王隆");
}

TEST(NormalizeName, SimplifiesTraditionalNames) {
  const NormalizedName n = NormalizeName("王曉明");
  EXPECT_EQ(n.han, "王晓明");
  EXPECT_TRUE(n.has(NameIssue::kTraditional));
  EXPECT_EQ(n.chars[1].original, U'曉');
  EXPECT_EQ(n.chars[1].cp, U'晓');
  EXPECT_EQ(NormalizeName("歐陽娜娜").han, "欧阳娜娜");
  EXPECT_EQ(NormalizeName("歐陽娜娜").surname, "欧阳");
  EXPECT_EQ(NormalizeName("劉德華").han, "刘德华");
}

TEST(NormalizeName, LatinNamesComeSurnameFirst) {
  struct Case {
    const char* raw;
    const char* pinyin;
    const char* surname;
    const char* initials;
  };
  for (const Case& c : std::vector<Case>{{"Wang Xiaoming", "wangxiaoming", "wang", "xm"},
                                         {"XIAOMING WANG", "wangxiaoming", "wang", "xm"},
                                         {"wang xiao ming", "wangxiaoming", "wang", "xm"},
                                         {"Xiaoming WANG", "wangxiaoming", "wang", "xm"},
                                         {"WANG Xiaoming", "wangxiaoming", "wang", "xm"},
                                         {"wangxiaoming", "wangxiaoming", "wang", "xm"},
                                         {"Wáng Xiǎomíng", "wangxiaoming", "wang", "xm"},
                                         {"Ouyang Nana", "ouyangnana", "ouyang", "nn"},
                                         {"Nana Ouyang", "ouyangnana", "ouyang", "nn"},
                                         {"ouyangnana", "ouyangnana", "ouyang", "nn"},
                                         {"LYU Bo", "lvbo", "lv", "b"}}) {
    const NormalizedName n = NormalizeName(c.raw);
    EXPECT_EQ(n.script, NameScript::kLatin) << c.raw;
    EXPECT_TRUE(n.is_pinyin) << c.raw;
    EXPECT_EQ(n.pinyin, c.pinyin) << c.raw;
    EXPECT_EQ(n.surname, c.surname) << c.raw;
    EXPECT_EQ(n.given_initials, c.initials) << c.raw;
  }
  const NormalizedName apostrophe = NormalizeName("Li Xi'an");
  EXPECT_EQ(Texts(apostrophe.syllables), (std::vector<std::string>{"li", "xi", "an"}));
}

TEST(NormalizeName, ForeignLatinNamesKeepTheirTokens) {
  const NormalizedName n = NormalizeName("John Smith");
  EXPECT_EQ(n.script, NameScript::kLatin);
  EXPECT_FALSE(n.is_pinyin);
  EXPECT_TRUE(n.has(NameIssue::kNotPinyin));
  EXPECT_EQ(n.given, "john smith");
  EXPECT_EQ(n.pinyin, "johnsmith");
  EXPECT_EQ(n.surname, "");
  EXPECT_EQ(NormalizeName("José Müller").given, "jose mvller");
}

TEST(NormalizeName, MinorityNamesWithMiddleDotAreNotSplit) {
  for (const char* raw : {"阿卜杜拉·买买提", "阿卜杜拉.买买提", "阿卜杜拉•买买提",
                          "阿卜杜拉・买买提", "阿卜杜拉．买买提"}) {
    const NormalizedName n = NormalizeName(raw);
    EXPECT_EQ(n.han, "阿卜杜拉买买提") << raw;
    EXPECT_TRUE(n.segmented) << raw;
    EXPECT_EQ(n.surname, "") << raw;
    EXPECT_EQ(n.surname_length, 0) << raw;
    EXPECT_EQ(n.given, "阿卜杜拉买买提") << raw;
    // kMandarin lists 卜 as "bo bǔ" (bo from 萝卜); the toned reading comes first.
    EXPECT_EQ(n.pinyin, "abudulamaimaiti") << raw;
    EXPECT_THAT(Texts(n.chars[1].readings()), Contains("bo")) << raw;
    EXPECT_FALSE(n.is_placeholder()) << raw;
  }
}

TEST(NormalizeName, ADotInAShortNameIsASlip) {
  const NormalizedName n = NormalizeName("王.小明");
  EXPECT_FALSE(n.segmented);
  EXPECT_EQ(n.surname, "王");
  EXPECT_TRUE(n.has(NameIssue::kSeparatorsRemoved));
  EXPECT_TRUE(NormalizeName("古丽·阿不都").segmented);
}

TEST(NormalizeName, PolyphonicSurnamesReadAsSurnames) {
  struct Case {
    const char* name;
    const char* surname_pinyin;
    const char* other_reading;  // still among the alternatives
  };
  for (const Case& c : std::vector<Case>{
           {"单田芳", "shan", "dan"}, {"曾国藩", "zeng", "ceng"}, {"解缙", "xie", "jie"},
           {"朴正熙", "piao", "pu"},  {"仇英", "qiu", "chou"},    {"区小玲", "ou", "qu"},
           {"查良镛", "zha", "cha"},  {"盖叫天", "ge", "gai"},    {"乐嘉", "yue", "le"},
           {"覃振华", "qin", "tan"},  {"翟志刚", "zhai", "di"},   {"缪晓", "miao", "mou"},
           {"尉缭", "wei", "yu"},     {"秘书华", "bi", "mi"},     {"种师道", "chong", "zhong"},
           {"召忽", "shao", "zhao"},  {"繁钦", "po", "fan"},      {"员半千", "yun", "yuan"},
           {"柏杨", "bai", "bo"},     {"折从阮", "she", "zhe"}}) {
    const NormalizedName n = NormalizeName(c.name);
    ASSERT_EQ(n.script, NameScript::kHan) << c.name;
    EXPECT_EQ(n.surname_pinyin, c.surname_pinyin) << c.name;
    EXPECT_EQ(SyllableText(n.chars[0].readings()[0]), c.surname_pinyin) << c.name;
    EXPECT_THAT(Texts(n.chars[0].readings()), Contains(c.other_reading)) << c.name;
  }
  // The same characters inside a given name keep their customary reading first.
  const NormalizedName given = NormalizeName("李单");
  EXPECT_EQ(SyllableText(given.chars[1].readings()[0]), "dan");
  EXPECT_EQ(NormalizeName("曾").surname_pinyin, "zeng");
}

TEST(NormalizeName, SplitsCompoundSurnames) {
  struct Case {
    const char* name;
    const char* surname;
    const char* given;
    const char* surname_pinyin;
  };
  for (const Case& c : std::vector<Case>{{"欧阳娜娜", "欧阳", "娜娜", "ouyang"},
                                         {"司马光", "司马", "光", "sima"},
                                         {"诸葛亮", "诸葛", "亮", "zhuge"},
                                         {"上官婉儿", "上官", "婉儿", "shangguan"},
                                         {"司徒雷登", "司徒", "雷登", "situ"},
                                         {"东方明", "东方", "明", "dongfang"},
                                         {"皇甫嵩", "皇甫", "嵩", "huangfu"},
                                         {"尉迟恭", "尉迟", "恭", "yuchi"},
                                         {"长孙无忌", "长孙", "无忌", "zhangsun"},
                                         {"单于夫罗", "单于", "夫罗", "chanyu"},
                                         {"万俟明", "万俟", "明", "moqi"},
                                         {"令狐冲", "令狐", "冲", "linghu"},
                                         {"澹台明", "澹台", "明", "tantai"}}) {
    const NormalizedName n = NormalizeName(c.name);
    EXPECT_EQ(n.surname, c.surname) << c.name;
    EXPECT_EQ(n.given, c.given) << c.name;
    EXPECT_EQ(n.surname_length, 2) << c.name;
    EXPECT_EQ(n.surname_pinyin, c.surname_pinyin) << c.name;
  }
  EXPECT_EQ(CompoundSurnamePrefix("欧阳娜娜"), "欧阳");
  EXPECT_EQ(CompoundSurnamePrefix("王小明"), "");
  EXPECT_EQ(NormalizeName("王司马").surname, "王");
}

TEST(NormalizeName, DetectsPlaceholders) {
  struct Case {
    const char* name;
    PlaceholderReason reason;
  };
  for (const Case& c : std::vector<Case>{{"无名氏", PlaceholderReason::kUnknownPerson},
                                         {"无名氏(男)", PlaceholderReason::kUnknownPerson},
                                         {"无名男", PlaceholderReason::kUnknownPerson},
                                         {"未知", PlaceholderReason::kUnknownPerson},
                                         {"不详", PlaceholderReason::kUnknownPerson},
                                         {"某某", PlaceholderReason::kSomebody},
                                         {"张某某", PlaceholderReason::kSomebody},
                                         {"张某", PlaceholderReason::kSomebody},
                                         {"新生儿", PlaceholderReason::kNewborn},
                                         {"婴儿", PlaceholderReason::kNewborn},
                                         {"李梅之女婴", PlaceholderReason::kNewborn},
                                         {"李梅男婴", PlaceholderReason::kNewborn},
                                         {"李梅新生儿", PlaceholderReason::kNewborn},
                                         {"李梅之子", PlaceholderReason::kChildOf},
                                         {"李梅之女", PlaceholderReason::kChildOf},
                                         {"王之子", PlaceholderReason::kChildOf},
                                         {"小宝", PlaceholderReason::kInfantNickname},
                                         {"宝宝", PlaceholderReason::kInfantNickname},
                                         {"王宝宝", PlaceholderReason::kInfantNickname},
                                         {"张小宝", PlaceholderReason::kInfantNickname},
                                         {"王氏", PlaceholderReason::kSurnameOnly},
                                         {"张王氏", PlaceholderReason::kSurnameOnly},
                                         {"王", PlaceholderReason::kSurnameOnly},
                                         {"欧阳", PlaceholderReason::kSurnameOnly},
                                         {"测试", PlaceholderReason::kTestRecord},
                                         {"测试患者", PlaceholderReason::kTestRecord},
                                         {"unknown", PlaceholderReason::kUnknownPerson},
                                         {"UNKNOWN", PlaceholderReason::kUnknownPerson},
                                         {"Baby Wang", PlaceholderReason::kNewborn},
                                         {"test", PlaceholderReason::kTestRecord},
                                         {"WANG", PlaceholderReason::kSurnameOnly},
                                         {"***", PlaceholderReason::kNotAName},
                                         {"123", PlaceholderReason::kNotAName},
                                         {"()", PlaceholderReason::kNotAName}}) {
    const NormalizedName n = NormalizeName(c.name);
    EXPECT_EQ(n.placeholder, c.reason)
        << c.name << ": got " << PlaceholderReasonName(n.placeholder);
    EXPECT_TRUE(n.is_placeholder()) << c.name;
  }
  for (const char* real : {"王小明", "贾宝玉", "王新生", "李宝", "宝小明", "刘婴宁", "欧阳娜娜",
                           "王氏明珠", "Wang Xiaoming"}) {
    EXPECT_FALSE(NormalizeName(real).is_placeholder())
        << real << ": " << PlaceholderReasonName(NormalizeName(real).placeholder);
  }
  EXPECT_EQ(PlaceholderReasonName(PlaceholderReason::kChildOf), "child_of");
}

TEST(NormalizeName, EmptyInvalidAndOverlong) {
  const NormalizedName empty = NormalizeName("");
  EXPECT_TRUE(empty.empty());
  EXPECT_FALSE(empty.is_placeholder());
  EXPECT_TRUE(NormalizeName("  \u3000 ").empty());
  EXPECT_FALSE(NormalizeName("  \u3000 ").is_placeholder());

  for (const char* bad :
       {"\xff", "王\xe5\xb0", "\xc0\xaf", "\xed\xa0\x80", "王小明\xf4\x90\x80\x80"}) {
    const NormalizedName n = NormalizeName(bad);
    EXPECT_TRUE(n.empty());
    EXPECT_TRUE(n.has(NameIssue::kInvalidUtf8));
    EXPECT_EQ(n.placeholder, PlaceholderReason::kNotAName);
  }

  std::string long_name;
  for (int i = 0; i < 100; ++i) long_name += "王";
  const NormalizedName n = NormalizeName(long_name);
  EXPECT_TRUE(n.has(NameIssue::kTooLong));
  EXPECT_EQ(n.placeholder, PlaceholderReason::kNotAName);
  EXPECT_LE(n.chars.size(), kMaxNameCharacters);
  EXPECT_TRUE(NormalizeName(std::string(10000, 'a')).has(NameIssue::kTooLong));
  std::string many_tokens;
  for (int i = 0; i < 100000; ++i) many_tokens += "ab'c ";
  const NormalizedName tokens = NormalizeName(many_tokens);
  EXPECT_TRUE(tokens.has(NameIssue::kTooLong));
  EXPECT_EQ(tokens.placeholder, PlaceholderReason::kNotAName);
}

TEST(NormalizeName, ReusesStorageWithoutLeakingState) {
  NormalizedName n;
  NormalizeName("阿卜杜拉·买买提", &n);
  NormalizeName("王曉明*", &n);
  EXPECT_EQ(n.han, "王晓明");
  EXPECT_FALSE(n.segmented);
  EXPECT_EQ(n.surname, "王");
  NormalizeName("", &n);
  EXPECT_TRUE(n.empty());
  EXPECT_EQ(n.issues, 0u);
  EXPECT_TRUE(n.pinyin.empty());
}

NameMatch Compare(const char* a, const char* b) {
  return CompareNames(NormalizeName(a), NormalizeName(b));
}

TEST(CompareNames, GradesRelations) {
  EXPECT_EQ(Compare("王小明", "王 小明*"), NameMatch::kExact);
  EXPECT_EQ(Compare("王曉明", "王晓明"), NameMatch::kTraditionalVariant);
  EXPECT_EQ(Compare("王晓明", "王小明"), NameMatch::kHomophone);
  EXPECT_EQ(Compare("单小明", "单晓明"), NameMatch::kHomophone);
  EXPECT_EQ(Compare("王己", "王已"), NameMatch::kVisuallySimilar);
  EXPECT_EQ(Compare("李未", "李末"), NameMatch::kVisuallySimilar);
  EXPECT_EQ(Compare("Wang Xiaoming", "王小明"), NameMatch::kLatinEqual);
  EXPECT_EQ(Compare("王小明", "XIAOMING WANG"), NameMatch::kLatinEqual);
  EXPECT_EQ(Compare("王晓明", "wang xiao ming"), NameMatch::kLatinEqual);
  EXPECT_EQ(Compare("Lu Bo", "吕波"), NameMatch::kLatinEqual);  // ü written u
  EXPECT_EQ(Compare("Shan Tianfang", "单田芳"), NameMatch::kLatinEqual);
  EXPECT_EQ(Compare("Dan Tianfang", "单田芳"), NameMatch::kLatinEqual);  // any reading
  // The heuristic reads "Ming Wang" as surname Wang; the Han name 明王 still matches.
  EXPECT_EQ(Compare("Xiao Ming", "明小"), NameMatch::kLatinEqual);
  EXPECT_EQ(Compare("Wang Xiaoming", "XIAOMING WANG"), NameMatch::kExact);
  EXPECT_EQ(Compare("John Smith", "SMITH JOHN"), NameMatch::kReordered);
  EXPECT_EQ(Compare("王小明", "王小敏"), NameMatch::kPinyinClose);
  EXPECT_EQ(Compare("王小明", "李大海"), NameMatch::kDifferent);
  EXPECT_EQ(Compare("王小明", "王明"), NameMatch::kDifferent);
  EXPECT_EQ(Compare("王小明", ""), NameMatch::kMissing);
  EXPECT_EQ(Compare("", ""), NameMatch::kMissing);
  EXPECT_EQ(NameMatchName(NameMatch::kHomophone), "homophone");
}

TEST(CompareNames, PinyinDistance) {
  EXPECT_EQ(PinyinDistance(NormalizeName("王小明"), NormalizeName("王晓明")), 0);
  EXPECT_EQ(PinyinDistance(NormalizeName("王小明"), NormalizeName("王小敏")), 1);
  EXPECT_EQ(PinyinDistance(NormalizeName("张三"), NormalizeName("zhang san")), 0);
}

}  // namespace
}  // namespace hisbridge::core
