#include "libs/synth/name_tables.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "libs/core/utf8.h"

namespace hisbridge::synth {
namespace {

// Approximate shares in percent, national rank order (see the header).
constexpr WeightedText kNationalSurnames[] = {
    {"王", 7.10}, {"李", 7.00}, {"张", 6.40}, {"刘", 5.20}, {"陈", 4.30}, {"杨", 3.10}, {"赵", 2.20},
    {"黄", 2.20}, {"周", 1.70}, {"吴", 1.60}, {"徐", 1.30}, {"孙", 1.30}, {"胡", 1.20}, {"朱", 1.20},
    {"高", 1.10}, {"林", 1.10}, {"何", 1.10}, {"郭", 1.10}, {"马", 1.00}, {"罗", 0.90}, {"梁", 0.85},
    {"宋", 0.80}, {"郑", 0.78}, {"谢", 0.74}, {"韩", 0.72}, {"唐", 0.70}, {"冯", 0.68}, {"于", 0.65},
    {"董", 0.63}, {"萧", 0.60}, {"程", 0.58}, {"曹", 0.56}, {"袁", 0.54}, {"邓", 0.52}, {"许", 0.50},
    {"傅", 0.48}, {"沈", 0.46}, {"曾", 0.45}, {"彭", 0.44}, {"吕", 0.43}, {"苏", 0.42}, {"卢", 0.41},
    {"蒋", 0.40}, {"蔡", 0.39}, {"贾", 0.38}, {"丁", 0.37}, {"魏", 0.36}, {"薛", 0.35}, {"叶", 0.34},
    {"阎", 0.33}, {"余", 0.32}, {"潘", 0.31}, {"杜", 0.30}, {"戴", 0.29}, {"夏", 0.28}, {"钟", 0.28},
    {"汪", 0.27}, {"田", 0.27}, {"任", 0.26}, {"姜", 0.26}, {"范", 0.25}, {"方", 0.25}, {"石", 0.24},
    {"姚", 0.24}, {"谭", 0.23}, {"廖", 0.23}, {"邹", 0.22}, {"熊", 0.22}, {"金", 0.21}, {"陆", 0.21},
    {"郝", 0.20}, {"孔", 0.20}, {"白", 0.19}, {"崔", 0.19}, {"康", 0.18}, {"毛", 0.18}, {"邱", 0.17},
    {"秦", 0.17}, {"江", 0.17}, {"史", 0.16}, {"顾", 0.16}, {"侯", 0.15}, {"邵", 0.15}, {"孟", 0.15},
    {"龙", 0.14}, {"万", 0.14}, {"段", 0.14}, {"雷", 0.13}, {"钱", 0.13}, {"汤", 0.13}, {"尹", 0.12},
    {"黎", 0.12}, {"易", 0.12}, {"常", 0.11}, {"武", 0.11}, {"乔", 0.11}, {"贺", 0.11}, {"赖", 0.10},
    {"龚", 0.10}, {"文", 0.10},
};

constexpr WeightedText kCompoundSurnames[] = {
    {"欧阳", 0.06}, {"司马", 0.005}, {"诸葛", 0.005}, {"上官", 0.005}, {"皇甫", 0.003}, {"司徒", 0.005},
};

// Guangxi: multipliers for national surnames and regional surnames outside
// the national top 100 (shares in percent of Guangxi's Han population).
constexpr WeightedText kGuangxiMultipliers[] = {
    {"黄", 3.0}, {"梁", 2.5}, {"唐", 2.2}, {"蒋", 2.5}, {"廖", 2.0}, {"邓", 1.6}, {"陆", 2.0},
    {"卢", 1.5}, {"覃", 1.0}, {"谭", 1.5}, {"莫", 1.0}, {"蒙", 1.0}, {"罗", 1.5}, {"秦", 1.3},
    {"韦", 1.0}, {"萧", 0.3}, {"阎", 0.1}, {"于", 0.3}, {"孔", 0.5}, {"郝", 0.3}, {"乔", 0.3},
};
constexpr WeightedText kGuangxiRegional[] = {
    {"韦", 1.2}, {"覃", 0.9}, {"莫", 0.9}, {"蒙", 0.5}, {"蓝", 0.4}, {"农", 0.2},
    {"盘", 0.1}, {"奉", 0.1}, {"肖", 0.5}, {"付", 0.2}, {"闫", 0.02}, {"凌", 0.2},
};
constexpr WeightedText kZhuangSurnames[] = {
    {"韦", 14}, {"黄", 13}, {"覃", 10}, {"蓝", 5}, {"莫", 6}, {"蒙", 5}, {"陆", 4}, {"农", 3},
    {"梁", 4},  {"卢", 3},  {"罗", 3},  {"李", 4}, {"潘", 2}, {"谭", 2}, {"廖", 1}, {"何", 1},
    {"陈", 2},  {"杨", 2},  {"刘", 2},  {"王", 2}, {"赵", 1}, {"吴", 1}, {"唐", 1}, {"马", 1},
};
constexpr WeightedText kYaoSurnames[] = {
    {"盘", 15}, {"赵", 12}, {"邓", 10}, {"李", 8}, {"黄", 8}, {"冯", 5}, {"蒋", 4}, {"唐", 4},
    {"奉", 4},  {"沈", 3},  {"胡", 3},  {"陈", 3}, {"蓝", 3}, {"罗", 2}, {"杨", 2}, {"雷", 1},
};

// Given-name characters by sex and cohort, commonest first; weights fall
// off as 1/(rank + 4).
constexpr absl::string_view kGiven[2][5] = {
    {
        // women
        "秀英兰珍桂凤玉芳花梅莲香翠金菊妹娥芬春荣素淑琼爱月云霞群仙清娟连美",
        "秀英红华芳玲丽萍兰梅霞琴珍桂凤云艳敏燕莲春妹菊素青爱群平荣金玉兰娟",
        "丽艳芳敏静燕红娟霞玲梅婷琳颖洁莉慧英萍春华玉秀琴丹云晓雪桂妹凤君",
        "婷雪丹倩佳颖静琳欣莹晶雯悦娜瑶怡月璐梦蕾露丽燕玲思慧敏茜妍彤姗",
        "欣怡梓涵诗雨萱可馨思语子琪佳一妍梦晨彤依若沐汐芯悦雅瑶嘉诺琳紫",
    },
    {
        // men
        "德福贵荣财生富寿祥发喜顺有林金永昌茂文明才春清山成汉忠元仁义堂",
        "国建华军明平志伟红卫东学民文强胜刚兵海忠林春云庆新亮光跃进福生",
        "伟勇军杰涛斌波辉磊超鹏华明峰强亮健俊飞宁刚龙林文东凯晓海志平",
        "浩杰宇鹏磊超俊帅鑫博文轩飞龙凯阳晨旭斌辉家明志豪伟天振健宁",
        "子轩宇浩梓睿俊宸泽辰铭一航博皓晨然豪锦煜诚逸思文奕嘉阳承瑞",
    },
};

std::vector<std::string> SplitChars(absl::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    char32_t cp;
    if (!core::DecodeUtf8(text, &pos, &cp)) break;
    out.emplace_back(text.substr(start, pos - start));
  }
  return out;
}

char32_t FirstCodePoint(absl::string_view text) {
  size_t pos = 0;
  char32_t cp = 0;
  if (!text.empty()) core::DecodeUtf8(text, &pos, &cp);
  return cp;
}

}  // namespace

absl::string_view EthnicityCode(Ethnicity e) {
  switch (e) {
    case Ethnicity::kHan: return "01";
    case Ethnicity::kZhuang: return "08";
    case Ethnicity::kYao: return "13";
  }
  return "01";
}

absl::string_view EthnicityText(Ethnicity e) {
  switch (e) {
    case Ethnicity::kHan: return "汉族";
    case Ethnicity::kZhuang: return "壮族";
    case Ethnicity::kYao: return "瑶族";
  }
  return "汉族";
}

absl::Span<const WeightedText> NationalSurnames() { return kNationalSurnames; }
absl::Span<const WeightedText> CompoundSurnames() { return kCompoundSurnames; }

Cohort CohortOf(int birth_year) {
  if (birth_year < 1950) return Cohort::kBefore1950;
  if (birth_year < 1970) return Cohort::k1950s60s;
  if (birth_year < 1990) return Cohort::k1970s80s;
  if (birth_year < 2005) return Cohort::k1990s;
  return Cohort::k2005On;
}

double NameTables::SingleCharShare(Cohort cohort) {
  // One-character given names peaked with the generation born in the 1980s.
  static constexpr double kShare[] = {0.18, 0.22, 0.28, 0.18, 0.07};
  return kShare[static_cast<int>(cohort)];
}

const NameTables& NameTables::Get() {
  static const NameTables* tables = new NameTables();
  return *tables;
}

NameTables::NameTables() {
  auto build = [](Table* table, const std::vector<std::pair<std::string, double>>& entries) {
    std::vector<double> weights;
    for (const auto& [text, weight] : entries) {
      table->items.push_back(text);
      weights.push_back(weight);
    }
    table->choice = WeightedChoice(weights);
  };
  {
    std::vector<std::pair<std::string, double>> han;
    for (const WeightedText& s : kNationalSurnames) {
      double w = s.weight;
      for (const WeightedText& m : kGuangxiMultipliers) {
        if (m.text == s.text) w *= m.weight;
      }
      han.emplace_back(std::string(s.text), w);
    }
    for (const WeightedText& s : kGuangxiRegional) {
      auto it = std::find_if(han.begin(), han.end(), [&](const auto& e) { return e.first == s.text; });
      if (it == han.end()) {
        han.emplace_back(std::string(s.text), s.weight);
      } else {
        it->second += s.weight;
      }
    }
    for (const WeightedText& s : kCompoundSurnames) han.emplace_back(std::string(s.text), s.weight);
    build(&han_surnames_, han);
  }
  {
    std::vector<std::pair<std::string, double>> zhuang, yao;
    for (const WeightedText& s : kZhuangSurnames) zhuang.emplace_back(std::string(s.text), s.weight);
    for (const WeightedText& s : kYaoSurnames) yao.emplace_back(std::string(s.text), s.weight);
    build(&zhuang_surnames_, zhuang);
    build(&yao_surnames_, yao);
  }
  for (int sex = 0; sex < 2; ++sex) {
    for (int cohort = 0; cohort < 5; ++cohort) {
      std::vector<std::pair<std::string, double>> entries;
      const std::vector<std::string> chars = SplitChars(kGiven[sex][cohort]);
      for (size_t i = 0; i < chars.size(); ++i) {
        // A character listed twice in a cohort simply counts twice.
        auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == chars[i]; });
        const double w = 1.0 / (static_cast<double>(i) + 4.0);
        if (it == entries.end()) {
          entries.emplace_back(chars[i], w);
        } else {
          it->second += w;
        }
        given_chars_.push_back(FirstCodePoint(chars[i]));
      }
      build(&given_[sex][cohort], entries);
    }
  }
  std::sort(given_chars_.begin(), given_chars_.end());
  given_chars_.erase(std::unique(given_chars_.begin(), given_chars_.end()), given_chars_.end());
}

const std::string& NameTables::DrawSurname(Ethnicity ethnicity, Rng& rng) const {
  const Table& t = ethnicity == Ethnicity::kZhuang ? zhuang_surnames_
                   : ethnicity == Ethnicity::kYao  ? yao_surnames_
                                                   : han_surnames_;
  return t.items[t.choice.Draw(rng)];
}

const std::string& NameTables::DrawGivenChar(bool male, int birth_year, Rng& rng) const {
  const Table& t = given_[male ? 1 : 0][static_cast<int>(CohortOf(birth_year))];
  return t.items[t.choice.Draw(rng)];
}

std::string NameTables::DrawGivenName(bool male, int birth_year, Rng& rng) const {
  const Cohort cohort = CohortOf(birth_year);
  std::string first = DrawGivenChar(male, birth_year, rng);
  if (rng.Bernoulli(SingleCharShare(cohort))) return first;
  // Reduplicated girls' names (婷婷, 丹丹) are common; otherwise two
  // different characters.
  if (!male && cohort >= Cohort::k1970s80s && rng.Bernoulli(0.04)) return first + first;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::string& second = DrawGivenChar(male, birth_year, rng);
    if (second != first) return first + second;
  }
  return first;
}

bool NameTables::IsGivenNameCharacter(char32_t cp) const {
  return std::binary_search(given_chars_.begin(), given_chars_.end(), cp);
}

}  // namespace hisbridge::synth
