#include "libs/core/name.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/text.h"
#include "libs/core/utf8.h"

namespace hisbridge::core {
namespace {

// --- surname data ---

struct PolyphonicSurname {
  char32_t cp;
  absl::string_view readings[2];
  size_t count;
};

// Characters whose surname reading differs from (or is not first among)
// their customary readings.
constexpr PolyphonicSurname kPolyphonicSurnames[] = {
    {U'万', {"wan"}, 1},       {U'仇', {"qiu"}, 1},       {U'区', {"ou"}, 1},
    {U'华', {"hua"}, 1},       {U'单', {"shan"}, 1},      {U'卜', {"bu"}, 1},
    {U'厍', {"she"}, 1},       {U'句', {"gou"}, 1},       {U'召', {"shao"}, 1},
    {U'员', {"yun"}, 1},       {U'乐', {"yue", "le"}, 2}, {U'任', {"ren"}, 1},
    {U'便', {"pian"}, 1},      {U'冼', {"xian"}, 1},      {U'宿', {"su"}, 1},
    {U'尉', {"wei"}, 1},       {U'折', {"she"}, 1},       {U'曲', {"qu"}, 1},
    {U'曾', {"zeng"}, 1},      {U'朝', {"chao"}, 1},      {U'朴', {"piao"}, 1},
    {U'柏', {"bai"}, 1},       {U'查', {"zha"}, 1},       {U'洗', {"xian"}, 1},
    {U'牟', {"mou", "mu"}, 2}, {U'相', {"xiang"}, 1},     {U'盖', {"ge"}, 1},
    {U'石', {"shi"}, 1},       {U'祭', {"zhai"}, 1},      {U'秘', {"bi"}, 1},
    {U'种', {"chong"}, 1},     {U'粘', {"nian"}, 1},      {U'繁', {"po"}, 1},
    {U'纪', {"ji"}, 1},        {U'缪', {"miao"}, 1},      {U'翟', {"zhai", "di"}, 2},
    {U'能', {"nai"}, 1},       {U'莘', {"shen"}, 1},      {U'蕃', {"pi"}, 1},
    {U'薄', {"bo"}, 1},        {U'藏', {"zang"}, 1},      {U'覃', {"qin", "tan"}, 2},
    {U'角', {"jue"}, 1},       {U'解', {"xie"}, 1},       {U'谌', {"chen", "shen"}, 2},
    {U'贲', {"ben"}, 1},       {U'车', {"che"}, 1},       {U'过', {"guo"}, 1},
    {U'那', {"na"}, 1},        {U'都', {"du"}, 1},        {U'重', {"chong"}, 1},
    {U'长', {"chang"}, 1},     {U'阚', {"kan"}, 1},       {U'隗', {"wei"}, 1},
    {U'隽', {"juan"}, 1},      {U'黑', {"he"}, 1},        {U'燕', {"yan"}, 1},
    {U'沈', {"shen"}, 1},      {U'费', {"fei"}, 1},       {U'殷', {"yin"}, 1},
};

struct CompoundSurname {
  absl::string_view han;
  // Overrides for the two characters' surname readings; empty = customary.
  absl::string_view first;
  absl::string_view second;
};

constexpr CompoundSurname kCompoundSurnames[] = {
    {"欧阳", "", ""}, {"司马", "", ""},       {"诸葛", "", ""},         {"上官", "", ""},
    {"司徒", "", ""}, {"东方", "", ""},       {"皇甫", "", ""},         {"尉迟", "yu", "chi"},
    {"公孙", "", ""}, {"慕容", "", ""},       {"长孙", "zhang", "sun"}, {"宇文", "", ""},
    {"夏侯", "", ""}, {"令狐", "ling", "hu"}, {"轩辕", "", ""},         {"独孤", "", ""},
    {"南宫", "", ""}, {"西门", "", ""},       {"百里", "", ""},         {"呼延", "", ""},
    {"端木", "", ""}, {"万俟", "mo", "qi"},   {"澹台", "tan", "tai"},   {"闻人", "", ""},
    {"公羊", "", ""}, {"赫连", "", ""},       {"单于", "chan", "yu"},   {"申屠", "", ""},
    {"太史", "", ""}, {"濮阳", "", ""},       {"淳于", "", ""},         {"钟离", "", ""},
    {"宗政", "", ""}, {"司空", "", ""},       {"拓跋", "", ""},         {"第五", "", ""},
    {"东郭", "", ""}, {"公冶", "", ""},       {"太叔", "", ""},         {"仲孙", "", ""},
    {"左丘", "", ""}, {"梁丘", "", ""},       {"谷梁", "", ""},         {"乐正", "yue", "zheng"},
    {"羊舌", "", ""}, {"微生", "", ""},       {"夹谷", "jia", "gu"},    {"宰父", "", ""},
    {"巫马", "", ""}, {"亓官", "qi", "guan"}, {"司寇", "", ""},         {"漆雕", "", ""},
    {"壤驷", "", ""}, {"鲜于", "xian", "yu"}, {"闾丘", "", ""},         {"公西", "", ""},
    {"颛孙", "", ""}, {"子车", "", ""},       {"段干", "", ""},         {"东门", "", ""},
    {"公良", "", ""}, {"乌孙", "", ""},       {"呼衍", "", ""},
};

// Pinyin of compound surnames, for names written in latin letters.
constexpr absl::string_view kCompoundSurnamePinyin[] = {
    "baili",     "chanyu",    "dongfang", "dongguo",  "duanmu", "dugu",    "gongsun",  "gongyang",
    "huangfu",   "huyan",     "linghu",   "moqi",     "murong", "nangong", "ouyang",   "puyang",
    "shangguan", "shentu",    "sikong",   "sima",     "situ",   "taishi",  "tantai",   "wenren",
    "ximen",     "xiahou",    "xianyu",   "xuanyuan", "yuchi",  "yuwen",   "zhangsun", "zhongli",
    "zhuge",     "zongzheng", "chunyu",   "tuoba",    "helian"};

const PolyphonicSurname* FindPolyphonicSurname(char32_t cp) {
  for (const PolyphonicSurname& s : kPolyphonicSurnames) {
    if (s.cp == cp) return &s;
  }
  return nullptr;
}

const CompoundSurname* FindCompoundSurname(absl::string_view han) {
  // Every compound surname is at least two 3-byte characters; compare the
  // second character's last byte first, where they differ most.
  if (han.size() < 6) return nullptr;
  for (const CompoundSurname& s : kCompoundSurnames) {
    if (han[5] == s.han[5] && han[2] == s.han[2] && absl::StartsWith(han, s.han)) return &s;
  }
  return nullptr;
}

bool IsCompoundSurnamePinyin(absl::string_view s) {
  return std::find(std::begin(kCompoundSurnamePinyin), std::end(kCompoundSurnamePinyin), s) !=
         std::end(kCompoundSurnamePinyin);
}

// --- character classes ---

bool IsDot(char32_t cp) {
  return cp == 0xB7 || cp == 0x2022 || cp == 0x30FB || cp == 0x2027 || cp == 0x2219 || cp == '.' ||
         cp == 0x318D || cp == 0x22C5 || cp == 0x2E31 || cp == 0xFF65;
}

bool IsOpenBracket(char32_t cp) {
  return cp == '(' || cp == '[' || cp == '{' || cp == '<' || cp == 0x3010 || cp == 0x3014 ||
         cp == 0x300A || cp == 0x3008 || cp == 0x300C || cp == 0x300E || cp == 0x3016;
}

bool IsCloseBracket(char32_t cp) {
  return cp == ')' || cp == ']' || cp == '}' || cp == '>' || cp == 0x3011 || cp == 0x3015 ||
         cp == 0x300B || cp == 0x3009 || cp == 0x300D || cp == 0x300F || cp == 0x3017;
}

// Latin letters, folding the diacritics of pinyin with tone marks and of
// common European names to their base letter; ü becomes 'v' as in every
// Chinese input method. Returns 0 for anything else.
char FoldLatin(char32_t cp) {
  if (cp >= 'a' && cp <= 'z') return static_cast<char>(cp);
  if (cp >= 'A' && cp <= 'Z') return static_cast<char>(cp - 'A' + 'a');
  switch (cp) {
    case U'ü':
    case U'Ü':
    case U'ǖ':
    case U'ǘ':
    case U'ǚ':
    case U'ǜ':
    case U'Ǖ':
    case U'Ǘ':
    case U'Ǚ':
    case U'Ǜ':
      return 'v';
    case U'à':
    case U'á':
    case U'â':
    case U'ã':
    case U'ä':
    case U'å':
    case U'ā':
    case U'ǎ':
    case U'À':
    case U'Á':
    case U'Â':
    case U'Ã':
    case U'Ä':
    case U'Å':
    case U'Ā':
    case U'Ǎ':
      return 'a';
    case U'è':
    case U'é':
    case U'ê':
    case U'ë':
    case U'ē':
    case U'ě':
    case U'È':
    case U'É':
    case U'Ê':
    case U'Ë':
    case U'Ē':
    case U'Ě':
      return 'e';
    case U'ì':
    case U'í':
    case U'î':
    case U'ï':
    case U'ī':
    case U'ǐ':
    case U'Ì':
    case U'Í':
    case U'Î':
    case U'Ï':
    case U'Ī':
    case U'Ǐ':
      return 'i';
    case U'ò':
    case U'ó':
    case U'ô':
    case U'õ':
    case U'ö':
    case U'ō':
    case U'ǒ':
    case U'ø':
    case U'Ò':
    case U'Ó':
    case U'Ô':
    case U'Õ':
    case U'Ö':
    case U'Ō':
    case U'Ǒ':
    case U'Ø':
      return 'o';
    case U'ù':
    case U'ú':
    case U'û':
    case U'ū':
    case U'ǔ':
    case U'Ù':
    case U'Ú':
    case U'Û':
    case U'Ū':
    case U'Ǔ':
      return 'u';
    case U'ç':
    case U'Ç':
      return 'c';
    case U'ñ':
    case U'Ñ':
    case U'ń':
    case U'ň':
    case U'ǹ':
      return 'n';
    case U'ý':
    case U'ÿ':
    case U'Ý':
      return 'y';
    case U'ḿ':
      return 'm';
    default:
      return 0;
  }
}

bool IsUpperLatin(char32_t cp) { return (cp >= 'A' && cp <= 'Z') || (cp >= 0xC0 && cp <= 0xDE); }
bool IsLowerLatin(char32_t cp) { return (cp >= 'a' && cp <= 'z') || (cp >= 0xDF && cp <= 0xFF); }

// --- placeholders ---

// Whole names (after cleaning) that are placeholders.
struct PlaceholderName {
  absl::string_view han;
  PlaceholderReason reason;
};
constexpr PlaceholderName kPlaceholderNames[] = {
    {"无名氏", PlaceholderReason::kUnknownPerson},
    {"无名", PlaceholderReason::kUnknownPerson},
    {"未知", PlaceholderReason::kUnknownPerson},
    {"不详", PlaceholderReason::kUnknownPerson},
    {"不明", PlaceholderReason::kUnknownPerson},
    {"匿名", PlaceholderReason::kUnknownPerson},
    {"无", PlaceholderReason::kUnknownPerson},
    {"空", PlaceholderReason::kUnknownPerson},
    {"待定", PlaceholderReason::kUnknownPerson},
    {"待查", PlaceholderReason::kUnknownPerson},
    {"病人", PlaceholderReason::kUnknownPerson},
    {"患者", PlaceholderReason::kUnknownPerson},
    {"急诊", PlaceholderReason::kUnknownPerson},
    {"急诊患者", PlaceholderReason::kUnknownPerson},
    {"急诊病人", PlaceholderReason::kUnknownPerson},
    {"临时", PlaceholderReason::kUnknownPerson},
    {"临时病人", PlaceholderReason::kUnknownPerson},
    {"三无人员", PlaceholderReason::kUnknownPerson},
    {"三无", PlaceholderReason::kUnknownPerson},
    {"流浪汉", PlaceholderReason::kUnknownPerson},
    {"流浪者", PlaceholderReason::kUnknownPerson},
    {"某", PlaceholderReason::kSomebody},
    {"新生儿", PlaceholderReason::kNewborn},
    {"婴儿", PlaceholderReason::kNewborn},
    {"男婴", PlaceholderReason::kNewborn},
    {"女婴", PlaceholderReason::kNewborn},
    {"婴", PlaceholderReason::kNewborn},
    {"男孩", PlaceholderReason::kNewborn},
    {"女孩", PlaceholderReason::kNewborn},
    {"小孩", PlaceholderReason::kNewborn},
    {"儿童", PlaceholderReason::kNewborn},
    {"宝宝", PlaceholderReason::kInfantNickname},
    {"小宝", PlaceholderReason::kInfantNickname},
    {"宝贝", PlaceholderReason::kInfantNickname},
    {"大宝", PlaceholderReason::kInfantNickname},
    {"二宝", PlaceholderReason::kInfantNickname},
    {"三宝", PlaceholderReason::kInfantNickname},
    {"大双", PlaceholderReason::kInfantNickname},
    {"小双", PlaceholderReason::kInfantNickname},
    {"测试", PlaceholderReason::kTestRecord},
};

// Given names that mark an infant not yet named: 王宝宝, 张小宝.
constexpr absl::string_view kInfantGivenNames[] = {"宝宝", "小宝",   "宝贝", "大宝", "二宝",
                                                   "三宝", "大双",   "小双", "婴",   "男婴",
                                                   "女婴", "新生儿", "婴儿"};

constexpr absl::string_view kLatinPlaceholders[] = {
    "unknown", "unk",         "noname",  "none",   "null",    "nil",       "na",
    "test",    "testpatient", "patient", "baby",   "babyboy", "babygirl",  "newborn",
    "infant",  "x",           "xx",      "xxx",    "xxxx",    "wumingshi", "wuming",
    "moumou",  "anonymous",   "johndoe", "janedoe"};

// Every Han placeholder above contains one of these characters (or is a
// lone surname or ends in 氏), so most names are cleared without comparing
// a single string. Sorted.
constexpr char32_t kPlaceholderTriggers[] = {U'三', U'不', U'之', U'二', U'儿', U'匿', U'双',
                                             U'大', U'女', U'婴', U'孩', U'宝', U'小', U'待',
                                             U'患', U'急', U'新', U'无', U'明', U'某', U'流',
                                             U'测', U'男', U'病', U'知', U'空', U'贝', U'详'};

bool MayBePlaceholder(const NormalizedName& n) {
  if (n.chars.size() <= n.surname_length || n.chars.size() <= 1 || n.chars.back().cp == U'氏')
    return true;
  for (const NameChar& c : n.chars) {
    if (std::binary_search(std::begin(kPlaceholderTriggers), std::end(kPlaceholderTriggers), c.cp))
      return true;
  }
  return false;
}

PlaceholderReason HanPlaceholder(const NormalizedName& n) {
  if (!MayBePlaceholder(n)) return PlaceholderReason::kNone;
  const absl::string_view han = n.han;
  for (const PlaceholderName& p : kPlaceholderNames) {
    if (han == p.han) return p.reason;
  }
  if (absl::StrContains(han, "测试")) return PlaceholderReason::kTestRecord;
  if (absl::StrContains(han, "无名")) return PlaceholderReason::kUnknownPerson;
  if (absl::StrContains(han, "某某")) return PlaceholderReason::kSomebody;
  if (absl::EndsWith(han, "之子") || absl::EndsWith(han, "之女") || absl::EndsWith(han, "之儿") ||
      absl::EndsWith(han, "之孩")) {
    return PlaceholderReason::kChildOf;
  }
  if (absl::StrContains(han, "新生儿") || absl::StrContains(han, "婴儿") ||
      absl::EndsWith(han, "男婴") || absl::EndsWith(han, "女婴") || absl::EndsWith(han, "之婴") ||
      absl::StrContains(han, "双胞胎") || absl::StrContains(han, "双胎")) {
    return PlaceholderReason::kNewborn;
  }
  const size_t count = n.chars.size();
  // 张某, 张某甲: a surname and 某 is how records anonymise a person.
  if (count >= 2 && count <= 3 &&
      n.chars[n.surname_length < count ? n.surname_length : 0].cp == U'某') {
    return PlaceholderReason::kSomebody;
  }
  if (!n.segmented && n.surname_length > 0) {
    const absl::string_view given = n.given;
    for (absl::string_view g : kInfantGivenNames) {
      if (given == g)
        return g == "婴" || g == "男婴" || g == "女婴" || g == "新生儿" || g == "婴儿"
                   ? PlaceholderReason::kNewborn
                   : PlaceholderReason::kInfantNickname;
    }
    // 王氏, 张王氏: a married woman recorded by surnames only.
    if (given.empty() || (count <= 3 && n.chars.back().cp == U'氏'))
      return PlaceholderReason::kSurnameOnly;
  }
  return PlaceholderReason::kNone;
}

PlaceholderReason LatinPlaceholder(absl::string_view letters) {
  for (absl::string_view p : kLatinPlaceholders) {
    if (letters == p)
      return p == "baby" || p == "babyboy" || p == "babygirl" || p == "newborn" || p == "infant"
                 ? PlaceholderReason::kNewborn
             : p == "test" || p == "testpatient" ? PlaceholderReason::kTestRecord
                                                 : PlaceholderReason::kUnknownPerson;
  }
  return PlaceholderReason::kNone;
}

// --- building the result ---

void AddReading(NameChar* c, SyllableId id) {
  for (size_t i = 0; i < c->reading_count; ++i) {
    if (c->reading_ids[i] == id) return;
  }
  if (c->reading_count < kMaxReadingsPerCharacter) c->reading_ids[c->reading_count++] = id;
}

void AddReadingText(NameChar* c, absl::string_view text) {
  if (text.empty()) return;
  absl::optional<SyllableId> id = FindSyllable(text);
  if (id.has_value()) AddReading(c, *id);
}

void FillChar(char32_t original, NameChar* c) {
  const HanCharData as_written = LookupHan(original);
  c->original = original;
  c->cp = as_written.simplified;
  c->reading_count = 0;
  if (c->cp == original) {
    c->four_corner = as_written.four_corner;
    for (SyllableId id : as_written.readings) AddReading(c, id);
    return;
  }
  const HanCharData simplified = LookupHan(c->cp);
  c->four_corner = simplified.four_corner;
  for (SyllableId id : simplified.readings) AddReading(c, id);
  // A traditional character may carry a reading its simplified form lacks.
  for (SyllableId id : as_written.readings) AddReading(c, id);
}

// Moves the surname readings of chars[0, surname_length) to the front.
void ApplySurnameReadings(NormalizedName* n, const CompoundSurname* compound) {
  for (size_t i = 0; i < n->surname_length; ++i) {
    NameChar& c = n->chars[i];
    NameChar reordered = c;
    reordered.reading_count = 0;
    if (compound != nullptr) {
      AddReadingText(&reordered, i == 0 ? compound->first : compound->second);
    } else if (const PolyphonicSurname* p = FindPolyphonicSurname(c.cp)) {
      for (size_t k = 0; k < p->count; ++k) AddReadingText(&reordered, p->readings[k]);
    }
    for (SyllableId id : c.readings()) AddReading(&reordered, id);
    c = reordered;
  }
}

void FinishPinyin(NormalizedName* n) {
  n->pinyin.clear();
  n->surname_pinyin.clear();
  n->given_initials.clear();
  for (size_t i = 0; i < n->syllables.size(); ++i) {
    const SyllableId id = n->syllables[i];
    if (id == kNoSyllable) continue;
    const absl::string_view text = SyllableText(id);
    n->pinyin.append(text.data(), text.size());
    if (i < n->surname_length) {
      n->surname_pinyin.append(text.data(), text.size());
    } else {
      n->given_initials.push_back(text[0]);
    }
  }
}

void Reset(NormalizedName* n) {
  n->script = NameScript::kEmpty;
  n->han.clear();
  n->chars.clear();
  n->surname.clear();
  n->given.clear();
  n->surname_length = 0;
  n->syllables.clear();
  n->pinyin.clear();
  n->surname_pinyin.clear();
  n->given_initials.clear();
  n->is_pinyin = false;
  n->segmented = false;
  n->placeholder = PlaceholderReason::kNone;
  n->issues = 0;
}

void AddIssue(NormalizedName* n, NameIssue issue) { n->issues |= static_cast<uint32_t>(issue); }

constexpr size_t kMaxLatinTokens = 16;

struct LatinToken {
  std::string letters;
  // Apostrophes and hyphens split a token into parts that are segmented
  // separately ("xi'an" is xi an, not xian).
  std::vector<size_t> part_ends;
  bool all_upper = true;
  bool any_lower = false;
};

void BuildLatin(std::vector<LatinToken>& tokens, NormalizedName* n) {
  n->script = NameScript::kLatin;
  std::vector<SyllableList> token_syllables(tokens.size());
  bool pinyin = true;
  for (size_t t = 0; t < tokens.size() && pinyin; ++t) {
    size_t begin = 0;
    for (size_t end : tokens[t].part_ends) {
      if (end > begin &&
          !SegmentPinyin(absl::string_view(tokens[t].letters).substr(begin, end - begin),
                         &token_syllables[t])) {
        pinyin = false;
        break;
      }
      begin = end;
    }
  }
  std::string joined;
  for (const LatinToken& t : tokens) joined += t.letters;
  if (!pinyin) {
    // A foreign name: keep the tokens in written order.
    AddIssue(n, NameIssue::kNotPinyin);
    n->pinyin = joined;
    for (size_t t = 0; t < tokens.size(); ++t) {
      if (t > 0) n->given.push_back(' ');
      n->given += tokens[t].letters;
    }
    n->placeholder = LatinPlaceholder(joined);
    // "Baby Wang", "Wang Baby boy".
    for (size_t t = 0; t < tokens.size() && n->placeholder == PlaceholderReason::kNone; ++t) {
      const PlaceholderReason r = LatinPlaceholder(tokens[t].letters);
      if (r == PlaceholderReason::kNewborn || r == PlaceholderReason::kTestRecord)
        n->placeholder = r;
    }
    return;
  }
  n->is_pinyin = true;
  // Which token is the surname? A token in capitals among mixed-case ones
  // ("WANG Xiaoming", "Xiaoming WANG") is, as passports write it. Otherwise
  // a compound surname, then a lone one-syllable token next to a
  // multi-syllable one; Chinese order (surname first) by default.
  size_t surname_token = 0;
  if (tokens.size() >= 2) {
    size_t upper_count = 0, upper_index = 0;
    bool any_mixed = false;
    for (size_t t = 0; t < tokens.size(); ++t) {
      if (tokens[t].all_upper && !tokens[t].any_lower) {
        ++upper_count;
        upper_index = t;
      } else {
        any_mixed = true;
      }
    }
    const auto text_of = [&](size_t t) { return absl::string_view(tokens[t].letters); };
    if (upper_count == 1 && any_mixed) {
      surname_token = upper_index;
    } else if (tokens.size() == 2) {
      const size_t first = token_syllables[0].size();
      const size_t last = token_syllables[1].size();
      if (IsCompoundSurnamePinyin(text_of(0))) {
        surname_token = 0;
      } else if (IsCompoundSurnamePinyin(text_of(1))) {
        surname_token = 1;
      } else if (first >= 2 && last == 1) {
        surname_token = 1;
      }
    }
  }
  std::vector<size_t> order;
  order.push_back(surname_token);
  for (size_t t = 0; t < tokens.size(); ++t) {
    if (t != surname_token) order.push_back(t);
  }
  size_t surname_syllables = token_syllables[surname_token].size();
  if (tokens.size() == 1) {
    // "wangxiaoming", "ouyangnana": the first syllable(s).
    const SyllableList& s = token_syllables[0];
    surname_syllables = 1;
    if (s.size() >= 3) {
      std::string two = std::string(SyllableText(s[0])) + std::string(SyllableText(s[1]));
      if (IsCompoundSurnamePinyin(two)) surname_syllables = 2;
    }
    if (s.size() < 2) surname_syllables = s.size();
  }
  for (size_t t : order) {
    for (SyllableId id : token_syllables[t]) n->syllables.push_back(id);
  }
  n->surname_length = static_cast<uint8_t>(std::min<size_t>(surname_syllables, 255));
  for (size_t i = 0; i < n->syllables.size(); ++i) {
    const absl::string_view text = SyllableText(n->syllables[i]);
    (i < n->surname_length ? n->surname : n->given).append(text.data(), text.size());
  }
  FinishPinyin(n);
  n->placeholder = LatinPlaceholder(joined);
  if (n->placeholder == PlaceholderReason::kNone && n->given.empty()) {
    n->placeholder = PlaceholderReason::kSurnameOnly;  // "Wang"
  }
}

}  // namespace

absl::string_view PlaceholderReasonName(PlaceholderReason reason) {
  switch (reason) {
    case PlaceholderReason::kNone:
      return "none";
    case PlaceholderReason::kUnknownPerson:
      return "unknown_person";
    case PlaceholderReason::kSomebody:
      return "somebody";
    case PlaceholderReason::kNewborn:
      return "newborn";
    case PlaceholderReason::kChildOf:
      return "child_of";
    case PlaceholderReason::kInfantNickname:
      return "infant_nickname";
    case PlaceholderReason::kSurnameOnly:
      return "surname_only";
    case PlaceholderReason::kTestRecord:
      return "test_record";
    case PlaceholderReason::kNotAName:
      return "not_a_name";
  }
  return "none";
}

absl::Span<const absl::string_view> SurnameReadings(char32_t cp) {
  const PolyphonicSurname* p = FindPolyphonicSurname(cp);
  if (p == nullptr) return {};
  return absl::Span<const absl::string_view>(p->readings, p->count);
}

absl::string_view CompoundSurnamePrefix(absl::string_view han) {
  const CompoundSurname* c = FindCompoundSurname(han);
  return c == nullptr ? absl::string_view() : c->han;
}

void NormalizeName(absl::string_view raw, NormalizedName* out) {
  Reset(out);
  std::string text;
  if (!NormalizeNfkc(raw, &text)) {
    AddIssue(out, NameIssue::kInvalidUtf8);
    out->placeholder = PlaceholderReason::kNotAName;
    return;
  }

  // One pass classifies every code point. Han characters are collected as
  // written; separators are remembered only between Han characters.
  absl::InlinedVector<char32_t, 8> han;
  absl::InlinedVector<size_t, 2> dots_before;  // han index a dot precedes
  std::vector<LatinToken> tokens;
  bool in_token = false;
  bool pending_separator = false;
  bool pending_dot = false;
  bool anything = false;
  size_t han_total = 0;
  size_t latin_total = 0;
  int depth = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp;
    if (!DecodeUtf8(text, &pos, &cp)) break;  // NFKC output is valid; never loop
    if (!IsSpaceCodePoint(cp)) anything = true;
    if (IsOpenBracket(cp)) {
      ++depth;
      AddIssue(out, NameIssue::kNoteRemoved);
      in_token = false;
      continue;
    }
    if (IsCloseBracket(cp)) {
      if (depth > 0) {
        --depth;
      } else {
        AddIssue(out, NameIssue::kJunkRemoved);
      }
      in_token = false;
      continue;
    }
    if (depth > 0) continue;
    if (IsHanCodePoint(cp)) {
      if (!han.empty() && pending_dot) {
        dots_before.push_back(han.size());
      } else if (!han.empty() && pending_separator) {
        AddIssue(out, NameIssue::kSeparatorsRemoved);
      }
      pending_dot = pending_separator = false;
      ++han_total;
      if (han.size() < kMaxNameCharacters) han.push_back(cp);
      in_token = false;
      continue;
    }
    if (const char letter = FoldLatin(cp)) {
      ++latin_total;
      if (!in_token) {
        in_token = true;
        // Absurd input must not allocate without bound; it is too long anyway.
        if (tokens.size() < kMaxLatinTokens) tokens.emplace_back();
      }
      if (tokens.size() == kMaxLatinTokens && latin_total > 64) continue;
      LatinToken& t = tokens.back();
      if (t.letters.size() < 64) t.letters.push_back(letter);
      if (IsLowerLatin(cp)) t.any_lower = true;
      if (!IsUpperLatin(cp)) t.all_upper = false;
      continue;
    }
    if ((cp == '\'' || cp == '-' || cp == 0x2019) && in_token) {
      if (tokens.back().part_ends.size() < kMaxLatinTokens) {
        tokens.back().part_ends.push_back(tokens.back().letters.size());
      }
      continue;
    }
    in_token = false;
    if (cp == '?' || cp == 0xFFFD) {
      AddIssue(out, NameIssue::kLostCharacter);
    } else if (IsDot(cp)) {
      pending_dot = true;
    } else if (IsSpaceCodePoint(cp) || cp == ',' || cp == 0x3001 || cp == ';' || cp == ':' ||
               cp == '_' || cp == '/' || cp == '\\' || cp == '-' || cp == '\'' || cp == '"' ||
               cp == 0x2014 || cp == 0x2019 || cp == 0x201C || cp == 0x201D || cp == 0x3002) {
      pending_separator = true;
    } else {
      AddIssue(out, NameIssue::kJunkRemoved);  // digits, '*', '#', symbols, other scripts
    }
  }
  for (LatinToken& t : tokens) t.part_ends.push_back(t.letters.size());

  if (han.empty() && tokens.empty()) {
    if (anything) out->placeholder = PlaceholderReason::kNotAName;
    return;
  }
  if (han_total > kMaxNameCharacters || latin_total > 64) {
    AddIssue(out, NameIssue::kTooLong);
    out->placeholder = PlaceholderReason::kNotAName;
  }
  if (han.empty()) {
    BuildLatin(tokens, out);
    if (out->has(NameIssue::kTooLong)) out->placeholder = PlaceholderReason::kNotAName;
    return;
  }
  if (!tokens.empty()) AddIssue(out, NameIssue::kLatinDropped);

  out->script = NameScript::kHan;
  // Transliterated names joined by a dot are long (阿卜杜拉·买买提, 古丽·阿不都);
  // a dot inside a short name ("王.小明") is a typing slip.
  out->segmented = !dots_before.empty() && han.size() >= 4;
  if (!dots_before.empty() && !out->segmented) AddIssue(out, NameIssue::kSeparatorsRemoved);
  out->chars.resize(han.size());
  for (size_t i = 0; i < han.size(); ++i) {
    FillChar(han[i], &out->chars[i]);
    if (out->chars[i].cp != han[i]) AddIssue(out, NameIssue::kTraditional);
    if (out->chars[i].reading_count == 0) AddIssue(out, NameIssue::kUnknownCharacter);
    AppendUtf8(out->chars[i].cp, &out->han);
  }
  const CompoundSurname* compound = nullptr;
  if (!out->segmented) {
    compound = FindCompoundSurname(out->han);
    out->surname_length =
        compound != nullptr ? static_cast<uint8_t>(CountCodePoints(compound->han)) : 1;
    if (out->surname_length > out->chars.size())
      out->surname_length = static_cast<uint8_t>(out->chars.size());
    ApplySurnameReadings(out, compound);
    size_t split = 0;
    for (size_t i = 0; i < out->surname_length; ++i) {
      char32_t cp;
      if (!DecodeUtf8(out->han, &split, &cp)) break;
    }
    out->surname.assign(out->han, 0, split);
    out->given.assign(out->han, split, std::string::npos);
  } else {
    out->given = out->han;
  }
  for (const NameChar& c : out->chars) {
    out->syllables.push_back(c.reading_count > 0 ? c.reading_ids[0] : kNoSyllable);
  }
  FinishPinyin(out);
  if (out->placeholder == PlaceholderReason::kNone) out->placeholder = HanPlaceholder(*out);
}

NormalizedName NormalizeName(absl::string_view raw) {
  NormalizedName n;
  NormalizeName(raw, &n);
  return n;
}

absl::string_view NameMatchName(NameMatch match) {
  switch (match) {
    case NameMatch::kMissing:
      return "missing";
    case NameMatch::kExact:
      return "exact";
    case NameMatch::kTraditionalVariant:
      return "traditional_variant";
    case NameMatch::kLatinEqual:
      return "latin_equal";
    case NameMatch::kHomophone:
      return "homophone";
    case NameMatch::kVisuallySimilar:
      return "visually_similar";
    case NameMatch::kReordered:
      return "reordered";
    case NameMatch::kPinyinClose:
      return "pinyin_close";
    case NameMatch::kDifferent:
      return "different";
  }
  return "different";
}

int PinyinDistance(const NormalizedName& a, const NormalizedName& b) {
  return EditDistance(a.pinyin, b.pinyin);
}

namespace {

bool ShareReading(const NameChar& a, const NameChar& b) {
  for (SyllableId x : a.readings()) {
    for (SyllableId y : b.readings()) {
      if (x == y) return true;
    }
  }
  return false;
}

// As SameFourCorner, on codes already looked up.
bool SameFourCornerCode(const FourCornerCode& a, const FourCornerCode& b) {
  if (!a.valid() || !b.valid() || a.main != b.main) return false;
  return a.supplement == b.supplement || a.supplement < 0 || b.supplement < 0;
}

bool HasEquivalentReading(const NameChar& c, SyllableId s) {
  for (SyllableId x : c.readings()) {
    if (SyllablesEquivalent(x, s)) return true;
  }
  return false;
}

// Whether the latin name's syllables spell the Han name, trying the
// latin surname both first (as normalised) and last (as written in the
// western order the heuristic may have misread).
bool LatinSpellsHan(const NormalizedName& latin, const NormalizedName& han) {
  const size_t n = han.chars.size();
  if (!latin.is_pinyin || latin.syllables.size() != n) return false;
  const auto spells = [&](size_t rotate) {
    for (size_t i = 0; i < n; ++i) {
      if (!HasEquivalentReading(han.chars[i], latin.syllables[(i + rotate) % n])) return false;
    }
    return true;
  };
  if (spells(0)) return true;
  // Surname moved to the end: han[0..s) = latin[n-s..n), han[s..n) = latin[0..n-s).
  const size_t s = latin.surname_length;
  return s > 0 && s < n && spells(s);
}

std::vector<absl::string_view> SortedTokens(const NormalizedName& n) {
  std::vector<absl::string_view> tokens;
  if (n.is_pinyin) {
    for (SyllableId id : n.syllables) tokens.push_back(SyllableText(id));
  } else {
    tokens = absl::StrSplit(absl::string_view(n.given), ' ', absl::SkipEmpty());
  }
  std::sort(tokens.begin(), tokens.end());
  return tokens;
}

}  // namespace

NameMatch CompareNames(const NormalizedName& a, const NormalizedName& b) {
  if (a.empty() || b.empty()) return NameMatch::kMissing;
  const bool a_han = a.script == NameScript::kHan;
  const bool b_han = b.script == NameScript::kHan;
  if (a_han && b_han) {
    if (a.han == b.han) {
      for (size_t i = 0; i < a.chars.size(); ++i) {
        if (a.chars[i].original != b.chars[i].original) return NameMatch::kTraditionalVariant;
      }
      return NameMatch::kExact;
    }
    if (a.chars.size() == b.chars.size()) {
      bool visual = false;
      bool all = true;
      for (size_t i = 0; i < a.chars.size() && all; ++i) {
        const NameChar& x = a.chars[i];
        const NameChar& y = b.chars[i];
        if (x.cp == y.cp || ShareReading(x, y)) continue;
        if (SameFourCornerCode(x.four_corner, y.four_corner)) {
          visual = true;
          continue;
        }
        all = false;
      }
      if (all) return visual ? NameMatch::kVisuallySimilar : NameMatch::kHomophone;
    }
  } else if (a_han != b_han) {
    const NormalizedName& latin = a_han ? b : a;
    const NormalizedName& han = a_han ? a : b;
    if (LatinSpellsHan(latin, han)) return NameMatch::kLatinEqual;
  } else {
    if (a.pinyin == b.pinyin) return NameMatch::kExact;
    if (a.is_pinyin == b.is_pinyin && SortedTokens(a) == SortedTokens(b))
      return NameMatch::kReordered;
  }
  if (!a.pinyin.empty() && !b.pinyin.empty()) {
    const size_t longest = std::max(a.pinyin.size(), b.pinyin.size());
    if (EditDistanceAtMost(a.pinyin, b.pinyin, longest > 8 ? 2 : 1)) return NameMatch::kPinyinClose;
  }
  return NameMatch::kDifferent;
}

}  // namespace hisbridge::core
