// Build-time generator: turns Debian's Unihan files into the compact tables
// declared in libs/core/han_data.h. It runs once per build (see
// libs/core/CMakeLists.txt) so the library itself never reads /usr/share.
//
//   han_tables_gen --bzcat=/usr/bin/bzcat --readings=Unihan_Readings.txt.bz2
//       --variants=Unihan_Variants.txt.bz2 --dictionary=Unihan_DictionaryLikeData.txt.bz2
//       --out=han_data.cc
//
// Which readings a character gets: kMandarin (the customary reading, first),
// then the modern dictionaries kTGHZ2013 (通用规范汉字字典) and kXHC1983
// (现代汉语词典). Only when none of those has the character do we fall back
// to kHanyuPinyin, whose archaic readings would otherwise turn unrelated
// names into "homophones".
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

struct CharData {
  std::vector<std::string> mandarin, tghz, xhc, hanyu;
  std::vector<char32_t> simplified_variants, traditional_variants;
  uint32_t four_corner = 0;
  int frequency = 9;
};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "han_tables_gen: " << message << "\n";
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

std::vector<std::string> ReadBz2Lines(const std::string& bzcat, const std::string& path) {
  if (path.find('\'') != std::string::npos) Die("path contains a quote: " + path);
  const std::string command = "'" + bzcat + "' -c '" + path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) Die("cannot run " + command);
  std::vector<std::string> lines;
  std::string line;
  char buf[4096];
  while (fgets(buf, sizeof(buf), pipe) != nullptr) {
    line += buf;
    if (!line.empty() && line.back() == '\n') {
      line.pop_back();
      lines.push_back(std::move(line));
      line.clear();
    }
  }
  if (!line.empty()) lines.push_back(line);
  if (pclose(pipe) != 0) Die("failed: " + command);
  if (lines.empty()) Die("no data in " + path);
  return lines;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

char32_t ParseCodePoint(const std::string& s) {
  if (s.size() < 3 || s[0] != 'U' || s[1] != '+') Die("bad code point " + s);
  return static_cast<char32_t>(std::stoul(s.substr(2), nullptr, 16));
}

// Decodes UTF-8 (the data is well-formed; anything else is a data error).
std::vector<char32_t> Decode(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) Die("bad UTF-8 in data: " + s);
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

// "lǘ" -> "lv", "ḿ" -> "m", "ê̄" -> "e". Empty when a letter is not pinyin.
std::string Toneless(const std::string& reading) {
  static const std::map<char32_t, char> kFold = {
      {U'ā', 'a'}, {U'á', 'a'}, {U'ǎ', 'a'}, {U'à', 'a'}, {U'ē', 'e'}, {U'é', 'e'}, {U'ě', 'e'},
      {U'è', 'e'}, {U'ê', 'e'}, {U'ế', 'e'}, {U'ề', 'e'}, {U'ī', 'i'}, {U'í', 'i'}, {U'ǐ', 'i'},
      {U'ì', 'i'}, {U'ō', 'o'}, {U'ó', 'o'}, {U'ǒ', 'o'}, {U'ò', 'o'}, {U'ū', 'u'}, {U'ú', 'u'},
      {U'ǔ', 'u'}, {U'ù', 'u'}, {U'ü', 'v'}, {U'ǖ', 'v'}, {U'ǘ', 'v'}, {U'ǚ', 'v'}, {U'ǜ', 'v'},
      {U'ń', 'n'}, {U'ň', 'n'}, {U'ǹ', 'n'}, {U'ḿ', 'm'}, {U'm', 'm'}};
  std::string out;
  for (char32_t cp : Decode(reading)) {
    if (cp >= 0x300 && cp <= 0x36F) continue;  // combining tone marks
    if (cp >= 'a' && cp <= 'z') {
      out += static_cast<char>(cp);
      continue;
    }
    if (cp >= 'A' && cp <= 'Z') {
      out += static_cast<char>(cp - 'A' + 'a');
      continue;
    }
    auto it = kFold.find(cp);
    if (it == kFold.end()) return "";
    out += it->second;
  }
  return out;
}

// Values look like "212.030:lè 453.020:yuè" (kTGHZ2013, kXHC1983: one reading
// per location, sometimes with a '*' after the location) or
// "10109.030:qiú,chóu,jū" (kHanyuPinyin: several per location).
std::vector<std::string> LocatedReadings(const std::string& value) {
  std::vector<std::string> out;
  for (const std::string& item : Split(value, ' ')) {
    const size_t colon = item.find(':');
    if (colon == std::string::npos) continue;
    for (const std::string& r : Split(item.substr(colon + 1), ',')) out.push_back(r);
  }
  return out;
}

void AddUnique(std::vector<std::string>* out, const std::string& toneless) {
  if (toneless.empty()) return;
  if (std::find(out->begin(), out->end(), toneless) == out->end()) out->push_back(toneless);
}

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%X", v);
  return buf;
}

std::string HeaderValue(const std::vector<std::string>& lines, const std::string& key) {
  for (const std::string& line : lines) {
    if (line.rfind("# " + key + ": ", 0) == 0) return line.substr(key.size() + 4);
    if (!line.empty() && line[0] != '#') break;
  }
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string bzcat = FlagValue(argc, argv, "bzcat");
  const std::string out_path = FlagValue(argc, argv, "out");
  std::map<char32_t, CharData> chars;

  const std::vector<std::string> readings = ReadBz2Lines(bzcat, FlagValue(argc, argv, "readings"));
  const std::string version = "Unihan " + HeaderValue(readings, "Unicode version") + " (" +
                              HeaderValue(readings, "Date") + ")";
  for (const std::string& line : readings) {
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> f = Split(line, '\t');
    if (f.size() != 3) continue;
    CharData& d = chars[ParseCodePoint(f[0])];
    if (f[1] == "kMandarin") {
      for (const std::string& r : Split(f[2], ' ')) d.mandarin.push_back(r);
    } else if (f[1] == "kTGHZ2013") {
      d.tghz = LocatedReadings(f[2]);
    } else if (f[1] == "kXHC1983") {
      d.xhc = LocatedReadings(f[2]);
    } else if (f[1] == "kHanyuPinyin") {
      d.hanyu = LocatedReadings(f[2]);
    }
  }
  for (const std::string& line : ReadBz2Lines(bzcat, FlagValue(argc, argv, "variants"))) {
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> f = Split(line, '\t');
    if (f.size() != 3) continue;
    if (f[1] != "kSimplifiedVariant" && f[1] != "kTraditionalVariant") continue;
    CharData& d = chars[ParseCodePoint(f[0])];
    for (const std::string& v : Split(f[2], ' ')) {
      const char32_t cp = ParseCodePoint(v.substr(0, v.find('<')));
      (f[1] == "kSimplifiedVariant" ? d.simplified_variants : d.traditional_variants).push_back(cp);
    }
  }
  for (const std::string& line : ReadBz2Lines(bzcat, FlagValue(argc, argv, "dictionary"))) {
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> f = Split(line, '\t');
    if (f.size() != 3) continue;
    if (f[1] == "kFourCornerCode") {
      // "1010.4" -> 1010 * 16 + 4; a code without its supplementary digit
      // ("5030") -> 5030 * 16 + 15.
      const std::string first = Split(f[2], ' ').at(0);
      const bool with_supplement = first.size() == 6 && first[4] == '.';
      if (!with_supplement && first.size() != 4) Die("bad four-corner code " + first);
      const uint32_t main_code = static_cast<uint32_t>(std::stoul(first.substr(0, 4)));
      const uint32_t supplement =
          with_supplement ? static_cast<uint32_t>(std::stoul(first.substr(5))) : 15;
      chars[ParseCodePoint(f[0])].four_corner = main_code * 16 + supplement;
    } else if (f[1] == "kFrequency") {
      chars[ParseCodePoint(f[0])].frequency = std::stoi(f[2]);
    }
  }

  // Syllable ids: every toneless reading, sorted.
  std::map<char32_t, std::vector<std::string>> toneless;
  std::set<std::string> syllable_set;
  for (auto& [cp, d] : chars) {
    std::vector<std::string> r;
    // kMandarin lists a neutral-tone reading first for a few characters
    // (卜 "bo bǔ", from 萝卜); as a name, the toned reading is the one meant.
    std::stable_partition(d.mandarin.begin(), d.mandarin.end(), [](const std::string& x) {
      return std::any_of(x.begin(), x.end(),
                         [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    });
    for (const std::string& x : d.mandarin) AddUnique(&r, Toneless(x));
    for (const std::string& x : d.tghz) AddUnique(&r, Toneless(x));
    for (const std::string& x : d.xhc) AddUnique(&r, Toneless(x));
    if (r.empty()) {
      for (const std::string& x : d.hanyu) AddUnique(&r, Toneless(x));
    }
    if (r.size() > 255) Die("too many readings");
    for (const std::string& s : r) syllable_set.insert(s);
    toneless[cp] = std::move(r);
  }
  const std::vector<std::string> syllables(syllable_set.begin(), syllable_set.end());
  if (syllables.size() > 65535) Die("too many syllables");
  auto syllable_id = [&](const std::string& s) {
    return static_cast<uint16_t>(std::lower_bound(syllables.begin(), syllables.end(), s) -
                                 syllables.begin());
  };

  // Simplification: a character whose own code point is among its simplified
  // variants is kept (乾 stays 乾; only some senses simplify to 干).
  auto simplified_of = [&](char32_t cp) -> char32_t {
    auto it = chars.find(cp);
    if (it == chars.end() || it->second.simplified_variants.empty()) return 0;
    const auto& v = it->second.simplified_variants;
    if (std::find(v.begin(), v.end(), cp) != v.end()) return 0;
    return v.front();
  };

  auto rank = [&](char32_t cp) {
    const CharData& d = chars[cp];
    const bool standard = !d.tghz.empty();
    return std::make_tuple(standard ? 0 : 1, d.frequency, cp);
  };

  std::ostringstream o;
  o << "// Generated by libs/core/gen/han_tables_gen.cc from " << version << ". Do not edit.\n"
    << "// Derived from the Unicode Han Database (Unihan). Copyright (c) Unicode, Inc.\n"
    << "// Distributed under the Unicode, Inc. License Agreement - Data Files and Software:\n"
    << "// https://www.unicode.org/license.txt (also /usr/share/doc/unicode-data/copyright).\n"
    << "#include \"libs/core/han_data.h\"\n\nnamespace hisbridge::core::internal {\n\n";
  o << "const absl::string_view kUnihanVersion = \"" << version << "\";\n\n";
  o << "const absl::string_view kSyllables[] = {\n";
  for (const std::string& s : syllables) o << "  \"" << s << "\",\n";
  o << "};\nconst size_t kSyllableCount = " << syllables.size() << ";\n\n";

  std::vector<uint16_t> reading_pool;
  std::vector<char32_t> traditional_pool;
  std::vector<std::vector<char32_t>> by_syllable(syllables.size());
  std::vector<std::pair<uint32_t, char32_t>> four_corner;
  o << "const HanEntry kHanEntries[] = {\n";
  size_t entries = 0;
  for (const auto& [cp, d] : chars) {
    const std::vector<std::string>& r = toneless[cp];
    char32_t simplified = simplified_of(cp);
    // Follow a chain (rare) so that simplifying is idempotent.
    for (int i = 0; i < 3 && simplified != 0 && simplified_of(simplified) != 0; ++i) {
      simplified = simplified_of(simplified);
    }
    std::vector<char32_t> traditional;
    for (char32_t t : d.traditional_variants) {
      if (t != cp && std::find(traditional.begin(), traditional.end(), t) == traditional.end()) {
        traditional.push_back(t);
      }
    }
    if (r.empty() && simplified == 0 && traditional.empty() && d.four_corner == 0) continue;
    const uint32_t readings_begin = static_cast<uint32_t>(reading_pool.size());
    for (const std::string& s : r) {
      reading_pool.push_back(syllable_id(s));
      by_syllable[syllable_id(s)].push_back(cp);
    }
    const uint32_t traditional_begin = static_cast<uint32_t>(traditional_pool.size());
    traditional_pool.insert(traditional_pool.end(), traditional.begin(), traditional.end());
    if (d.four_corner != 0) four_corner.emplace_back(d.four_corner, cp);
    o << "  {" << Hex(cp) << ", " << Hex(simplified) << ", " << d.four_corner << ", "
      << readings_begin << ", " << traditional_begin << ", " << r.size() << ", "
      << traditional.size() << ", " << (d.tghz.empty() ? 0 : 1) << ", " << d.frequency << "},\n";
    ++entries;
  }
  o << "};\nconst size_t kHanEntryCount = " << entries << ";\n\n";

  o << "const uint16_t kHanReadingPool[] = {";
  for (size_t i = 0; i < reading_pool.size(); ++i)
    o << (i % 16 ? " " : "\n  ") << reading_pool[i] << ",";
  o << "\n  0};\n\nconst char32_t kHanTraditionalPool[] = {";
  for (size_t i = 0; i < traditional_pool.size(); ++i) {
    o << (i % 12 ? " " : "\n  ") << Hex(traditional_pool[i]) << ",";
  }
  o << "\n  0};\n\n";

  std::vector<char32_t> syllable_chars;
  o << "const uint32_t kSyllableCharBegin[] = {";
  for (size_t s = 0; s < by_syllable.size(); ++s) {
    std::vector<char32_t>& v = by_syllable[s];
    std::sort(v.begin(), v.end(), [&](char32_t a, char32_t b) { return rank(a) < rank(b); });
    o << (s % 16 ? " " : "\n  ") << syllable_chars.size() << ",";
    syllable_chars.insert(syllable_chars.end(), v.begin(), v.end());
  }
  o << " " << syllable_chars.size() << "};\n\nconst char32_t kSyllableChars[] = {";
  for (size_t i = 0; i < syllable_chars.size(); ++i)
    o << (i % 12 ? " " : "\n  ") << Hex(syllable_chars[i]) << ",";
  o << "\n  0};\n\n";

  std::sort(four_corner.begin(), four_corner.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return rank(a.second) < rank(b.second);
  });
  o << "const FourCornerEntry kFourCornerEntries[] = {";
  for (size_t i = 0; i < four_corner.size(); ++i) {
    o << (i % 6 ? " " : "\n  ") << "{" << four_corner[i].first << ", " << Hex(four_corner[i].second)
      << "},";
  }
  o << "\n};\nconst size_t kFourCornerEntryCount = " << four_corner.size() << ";\n\n";
  o << "}  // namespace hisbridge::core::internal\n";

  // Write only when changed, so an unchanged table does not rebuild the library.
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
