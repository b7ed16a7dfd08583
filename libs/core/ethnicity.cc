#include "libs/core/ethnicity.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "libs/core/text.h"

namespace hisbridge::core {
namespace {

struct Group {
  absl::string_view code;
  absl::string_view name;
};

constexpr Group kGroups[] = {{"01", "汉族"},       {"02", "蒙古族"},
                             {"03", "回族"},       {"04", "藏族"},
                             {"05", "维吾尔族"},   {"06", "苗族"},
                             {"07", "彝族"},       {"08", "壮族"},
                             {"09", "布依族"},     {"10", "朝鲜族"},
                             {"11", "满族"},       {"12", "侗族"},
                             {"13", "瑶族"},       {"14", "白族"},
                             {"15", "土家族"},     {"16", "哈尼族"},
                             {"17", "哈萨克族"},   {"18", "傣族"},
                             {"19", "黎族"},       {"20", "傈僳族"},
                             {"21", "佤族"},       {"22", "畲族"},
                             {"23", "高山族"},     {"24", "拉祜族"},
                             {"25", "水族"},       {"26", "东乡族"},
                             {"27", "纳西族"},     {"28", "景颇族"},
                             {"29", "柯尔克孜族"}, {"30", "土族"},
                             {"31", "达斡尔族"},   {"32", "仫佬族"},
                             {"33", "羌族"},       {"34", "布朗族"},
                             {"35", "撒拉族"},     {"36", "毛南族"},
                             {"37", "仡佬族"},     {"38", "锡伯族"},
                             {"39", "阿昌族"},     {"40", "普米族"},
                             {"41", "塔吉克族"},   {"42", "怒族"},
                             {"43", "乌孜别克族"}, {"44", "俄罗斯族"},
                             {"45", "鄂温克族"},   {"46", "德昂族"},
                             {"47", "保安族"},     {"48", "裕固族"},
                             {"49", "京族"},       {"50", "塔塔尔族"},
                             {"51", "独龙族"},     {"52", "鄂伦春族"},
                             {"53", "赫哲族"},     {"54", "门巴族"},
                             {"55", "珞巴族"},     {"56", "基诺族"},
                             {"97", "其他"},       {"98", "外国血统中国籍人士"}};

}  // namespace

EthnicityResult ParseEthnicity(absl::string_view raw) {
  EthnicityResult r;
  std::string text;
  if (!NormalizeNfkc(raw, &text)) {
    r.status = EthnicityStatus::kInvalid;
    return r;
  }
  const absl::string_view v = absl::StripAsciiWhitespace(text);
  if (v.empty()) return r;
  for (const Group& g : kGroups) {
    if (v == g.code) {
      r.code = g.code;
      r.status = EthnicityStatus::kValid;
      return r;
    }
  }
  r.status = EthnicityStatus::kNonStandard;
  if (v.size() == 1 && absl::ascii_isdigit(static_cast<unsigned char>(v[0])) && v[0] != '0') {
    r.code = kGroups[v[0] - '1'].code;
    return r;
  }
  for (const Group& g : kGroups) {
    // "汉族", or "汉" without 族.
    if (v == g.name || (absl::EndsWith(g.name, "族") && v == g.name.substr(0, g.name.size() - 3))) {
      r.code = g.code;
      return r;
    }
  }
  r.status = EthnicityStatus::kInvalid;
  return r;
}

absl::string_view EthnicityName(absl::string_view code) {
  for (const Group& g : kGroups) {
    if (code == g.code) return g.name;
  }
  return "";
}

}  // namespace hisbridge::core
