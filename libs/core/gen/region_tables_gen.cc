// Build-time generator: turns libs/core/data/regions.tsv ("code<TAB>name"
// lines, '#' comments) into the tables declared in libs/core/region_data.h.
//
//   region_tables_gen --input=regions.tsv --out=region_data.cc
//
// It derives each region's short name (the name without its administrative
// suffix and ethnic groups: 恭城瑶族自治县 -> 恭城), which the address parser
// matches when people leave the suffix out, and the subtree bounds that let
// the library walk children without searching.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "region_tables_gen: " << message << "\n";
  std::exit(1);
}

std::string FlagValue(int argc, char** argv, const std::string& name) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
  }
  Die("missing --" + name);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Number of UTF-8 code points.
size_t Chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// GB/T 3304 ethnic group names, plus 各 (各族自治县: "of all nationalities").
const char* const kEthnicGroups[] = {
    "汉",   "蒙古",     "回",   "藏",     "维吾尔", "苗",   "彝",       "壮",     "布依",
    "朝鲜", "满",       "侗",   "瑶",     "白",     "土家", "哈尼",     "哈萨克", "傣",
    "黎",   "傈僳",     "佤",   "畲",     "高山",   "拉祜", "水",       "东乡",   "纳西",
    "景颇", "柯尔克孜", "土",   "达斡尔", "仫佬",   "羌",   "布朗",     "撒拉",   "毛南",
    "仡佬", "锡伯",     "阿昌", "普米",   "塔吉克", "怒",   "乌孜别克", "俄罗斯", "鄂温克",
    "德昂", "保安",     "裕固", "京",     "塔塔尔", "独龙", "鄂伦春",   "赫哲",   "门巴",
    "珞巴", "基诺",     "各"};

std::string StripEthnicGroups(std::string s) {
  for (bool stripped = true; stripped;) {
    stripped = false;
    size_t best = 0;
    for (const char* g : kEthnicGroups) {
      const std::string with_zu = std::string(g) + "族";
      if (EndsWith(s, with_zu) && with_zu.size() > best) best = with_zu.size();
      // Official names drop 族 after multi-character names (新疆维吾尔自治区).
      if (Chars(g) >= 2 && EndsWith(s, g) && std::string(g).size() > best)
        best = std::string(g).size();
    }
    if (best > 0 && Chars(s.substr(0, s.size() - best)) >= 2) {
      s.resize(s.size() - best);
      stripped = true;
    }
  }
  return s;
}

std::string ShortName(const std::string& name, size_t code_length) {
  // Longest suffixes first; autonomous suffixes also drop the ethnic groups.
  static const std::vector<std::string> kProvince = {"特别行政区", "自治区", "省", "市"};
  static const std::vector<std::string> kPrefecture = {"自治州", "地区", "盟", "市"};
  static const std::vector<std::string> kCounty = {"自治县", "自治旗", "林区", "特区",
                                                   "县",     "区",     "市",   "旗"};
  static const std::vector<std::string> kTownship = {"街道办事处", "民族乡", "民族苏木", "办事处",
                                                     "街道",       "苏木",   "镇",       "乡"};
  static const std::vector<std::string> kVillage = {
      "社区居民委员会", "社区居委会", "村民委员会", "居民委员会", "村委会",
      "居委会",         "委员会",     "社区",       "嘎查",       "村"};
  const std::vector<std::string>* suffixes = nullptr;
  switch (code_length) {
    case 2:
      suffixes = &kProvince;
      break;
    case 4:
      suffixes = &kPrefecture;
      break;
    case 6:
      suffixes = &kCounty;
      break;
    case 9:
      suffixes = &kTownship;
      break;
    default:
      suffixes = &kVillage;
      break;
  }
  for (const std::string& suffix : *suffixes) {
    if (!EndsWith(name, suffix)) continue;
    std::string s = name.substr(0, name.size() - suffix.size());
    if (suffix.find("自治") != std::string::npos || suffix.find("民族") != std::string::npos ||
        suffix == "乡") {
      s = StripEthnicGroups(s);
    }
    if (Chars(s) >= 2) return s;
    return name;
  }
  return name;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string View(const std::string& s) {
  return "{\"" + Escape(s) + "\", " + std::to_string(s.size()) + "}";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string input = FlagValue(argc, argv, "input");
  const std::string out_path = FlagValue(argc, argv, "out");
  std::ifstream in(input);
  if (!in) Die("cannot read " + input);
  struct Row {
    std::string code, name, short_name;
  };
  std::vector<Row> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos) Die("no tab in: " + line);
    Row r{line.substr(0, tab), line.substr(tab + 1), ""};
    const size_t n = r.code.size();
    if ((n != 2 && n != 4 && n != 6 && n != 9 && n != 12) ||
        r.code.find_first_not_of("0123456789") != std::string::npos || r.name.empty()) {
      Die("bad line: " + line);
    }
    r.short_name = ShortName(r.name, n);
    rows.push_back(std::move(r));
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.code < b.code; });
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0 && rows[i].code == rows[i - 1].code) Die("duplicate code " + rows[i].code);
    const size_t n = rows[i].code.size();
    if (n > 2) {
      const size_t parent_len = n == 4 ? 2 : n == 6 ? 4 : n == 9 ? 6 : 9;
      const std::string parent = rows[i].code.substr(0, parent_len);
      const bool found =
          std::binary_search(rows.begin(), rows.end(), Row{parent, "", ""},
                             [](const Row& a, const Row& b) { return a.code < b.code; });
      if (!found) Die("no parent for " + rows[i].code);
    }
  }

  std::ostringstream o;
  o << "// Generated by libs/core/gen/region_tables_gen.cc from libs/core/data/regions.tsv.\n"
    << "// Do not edit.\n#include \"libs/core/region_data.h\"\n\nnamespace "
       "hisbridge::core::internal {\n\n";
  o << "const Region kRegions[] = {\n";
  for (const Row& r : rows) {
    o << "  {" << View(r.code) << ", " << View(r.name) << ", " << View(r.short_name) << "},\n";
  }
  o << "};\nconst size_t kRegionCount = " << rows.size() << ";\n\n";
  o << "const uint32_t kRegionSubtreeEnd[] = {";
  for (size_t i = 0; i < rows.size(); ++i) {
    size_t end = i + 1;
    while (end < rows.size() && rows[end].code.compare(0, rows[i].code.size(), rows[i].code) == 0)
      ++end;
    o << (i % 12 ? " " : "\n  ") << end << ",";
  }
  o << "\n};\n\n";

  // Exact lookups by code binary-search integers: the code's digits padded
  // to 12, times 16, plus its length (so "45" and "4500" never collide).
  std::vector<std::pair<uint64_t, size_t>> keys;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string padded = rows[i].code;
    padded.resize(12, '0');
    keys.emplace_back(std::stoull(padded) * 16 + rows[i].code.size(), i);
  }
  std::sort(keys.begin(), keys.end());
  o << "const RegionCodeKey kRegionCodeKeys[] = {";
  for (size_t i = 0; i < keys.size(); ++i) {
    o << (i % 4 ? " " : "\n  ") << "{" << keys[i].first << "u, " << keys[i].second << "},";
  }
  o << "\n};\n\n";

  std::vector<std::tuple<std::string, size_t, bool>> names;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].code.size() > 6) continue;
    // The index promises names of at least two characters, so a lookup
    // only walks the names sharing the text's first two; the pseudo-
    // prefecture "县" (5002) is no name anyone writes.
    if (Chars(rows[i].name) < 2) continue;
    names.emplace_back(rows[i].name, i, false);
    if (rows[i].short_name != rows[i].name) names.emplace_back(rows[i].short_name, i, true);
  }
  std::sort(names.begin(), names.end());
  o << "const RegionNameEntry kRegionNames[] = {\n";
  for (const auto& [name, index, is_short] : names) {
    o << "  {" << View(name) << ", " << index << ", " << (is_short ? "true" : "false") << "},\n";
  }
  o << "};\nconst size_t kRegionNameCount = " << names.size() << ";\n\n";
  // The first six bytes (two Han characters) of each name as a big-endian
  // integer, so lookups binary-search integers instead of strings.
  o << "const uint64_t kRegionNameHeads[] = {";
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = std::get<0>(names[i]);
    uint64_t head = 0;
    for (size_t k = 0; k < 6; ++k)
      head = (head << 8) | static_cast<unsigned char>(k < name.size() ? name[k] : 0);
    o << (i % 6 ? " " : "\n  ") << head << "u,";
  }
  o << "\n};\n\n";
  o << "}  // namespace hisbridge::core::internal\n";

  const std::string text = o.str();
  {
    std::ifstream existing(out_path, std::ios::binary);
    std::stringstream buf;
    buf << existing.rdbuf();
    if (existing && buf.str() == text) return 0;
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) Die("cannot write " + out_path);
  return 0;
}
