#include "libs/core/address.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/region.h"
#include "libs/core/region_data.h"
#include "libs/core/text.h"
#include "libs/core/utf8.h"

namespace hisbridge::core {
namespace {

using internal::kRegionNameCount;
using internal::kRegionNames;
using internal::kRegions;
using internal::kRegionSubtreeEnd;
using internal::RegionNameEntry;

constexpr absl::string_view kProvinceSuffixes[] = {"特别行政区", "自治区", "省"};
constexpr absl::string_view kPrefectureSuffixes[] = {"自治州", "地区", "州", "盟", "市"};
constexpr absl::string_view kCountySuffixes[] = {"自治县", "自治旗", "县", "区", "旗", "市"};
constexpr absl::string_view kTownshipSuffixes[] = {"街道办事处", "街道办", "街道", "民族乡",
                                                   "镇",         "乡",     "苏木"};
constexpr absl::string_view kVillageSuffixes[] = {"村民委员会", "居民委员会", "村委会", "居委会",
                                                  "社区",       "嘎查",       "村"};
constexpr absl::string_view kGroupSuffixes[] = {"村民小组", "小组", "组", "队", "屯", "社"};

// Characters after which a short region name cannot end: "阳朔镇" is a
// township, not 阳朔(县) followed by 镇.
constexpr absl::string_view kNotAfterShortName[] = {"镇", "乡", "村", "街", "路", "县", "区",
                                                    "市", "州", "旗", "盟", "道", "巷", "社",
                                                    "组", "队", "屯", "里", "城", "省"};

size_t IndexOf(const Region* r) { return static_cast<size_t>(r - kRegions); }

// The first three bytes of `s` (one BMP Han character) packed into an
// integer, 0 when `s` is shorter. Region names all start with a Han
// character, so two names can share a prefix only if these agree.
inline uint32_t Head3(absl::string_view s) {
  if (s.size() < 3) return 0;
  return static_cast<uint32_t>(static_cast<unsigned char>(s[0])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[2]));
}

// Every region's direct children as one contiguous run of (first character,
// region) pairs. In kRegions a township's siblings are separated by its
// villages, so walking siblings there touches a cache line per village;
// scanning this array touches a few. Built once, on first use, from the
// static tables; immutable afterwards and safe to read from any thread.
class ChildIndex {
 public:
  struct Child {
    uint32_t head;    // Head3 of the region's name (== Head3 of its short name)
    uint32_t region;  // index into kRegions
  };

  static const ChildIndex& Get() {
    static const ChildIndex* const index = new ChildIndex();
    return *index;
  }

  absl::Span<const Child> ChildrenOf(size_t region) const {
    return absl::MakeConstSpan(children_.data() + begin_[region],
                               begin_[region + 1] - begin_[region]);
  }

 private:
  ChildIndex() {
    begin_.reserve(internal::kRegionCount + 1);
    children_.reserve(internal::kRegionCount);
    for (size_t i = 0; i < internal::kRegionCount; ++i) {
      begin_.push_back(static_cast<uint32_t>(children_.size()));
      for (size_t c = i + 1; c < kRegionSubtreeEnd[i]; c = kRegionSubtreeEnd[c]) {
        children_.push_back({Head3(kRegions[c].name), static_cast<uint32_t>(c)});
      }
    }
    begin_.push_back(static_cast<uint32_t>(children_.size()));
  }

  std::vector<uint32_t> begin_;  // kRegionCount + 1 offsets into children_
  std::vector<Child> children_;
};

// The run of kRegionNames whose names start with the same two Han
// characters, by those characters' six bytes: one hash probe instead of a
// binary search over every name (called up to four times per address).
class NameHeadIndex {
 public:
  struct Run {
    uint32_t begin;
    uint32_t end;
  };

  static const NameHeadIndex& Get() {
    static const NameHeadIndex* const index = new NameHeadIndex();
    return *index;
  }

  Run Find(uint64_t head) const {
    const auto it = runs_.find(head);
    return it == runs_.end() ? Run{0, 0} : it->second;
  }

 private:
  NameHeadIndex() {
    for (size_t i = 0; i < kRegionNameCount;) {
      size_t j = i;
      while (j < kRegionNameCount && internal::kRegionNameHeads[j] == internal::kRegionNameHeads[i])
        ++j;
      runs_[internal::kRegionNameHeads[i]] = {static_cast<uint32_t>(i), static_cast<uint32_t>(j)};
      i = j;
    }
  }

  absl::flat_hash_map<uint64_t, Run> runs_;
};

// StartsWith for Han text: the third byte of a character differs most often,
// so test it before calling memcmp. Hot in every suffix scan.
inline bool HasPrefix(absl::string_view s, absl::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  if (prefix.size() >= 3 && (s[2] != prefix[2] || s[1] != prefix[1])) return false;
  return std::memcmp(s.data(), prefix.data(), prefix.size()) == 0;
}

size_t FirstCharBytes(absl::string_view s) {
  if (s.empty()) return 0;
  const unsigned char c = static_cast<unsigned char>(s[0]);
  const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  return std::min(n, s.size());
}

bool StartsWithAny(absl::string_view s, absl::Span<const absl::string_view> list) {
  return std::any_of(list.begin(), list.end(),
                     [&](absl::string_view x) { return HasPrefix(s, x); });
}

// The suffix of `list` that `s` starts with, longest first by list order.
absl::string_view SuffixAt(absl::string_view s, absl::Span<const absl::string_view> list) {
  for (absl::string_view x : list) {
    if (HasPrefix(s, x)) return x;
  }
  return {};
}

bool IsDigitOrNumeral(absl::string_view ch) {
  if (ch.size() == 1) return absl::ascii_isdigit(static_cast<unsigned char>(ch[0]));
  static constexpr absl::string_view kNumerals[] = {"一", "二", "三", "四", "五", "六", "七",
                                                    "八", "九", "十", "零", "〇", "两", "第"};
  return std::find(std::begin(kNumerals), std::end(kNumerals), ch) != std::end(kNumerals);
}

// "五" -> 5, "十二" -> 12, "二十三" -> 23, "12" -> 12; -1 when not a number.
int ParseNumber(absl::string_view s) {
  if (s.empty()) return -1;
  if (std::all_of(s.begin(), s.end(),
                  [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
    if (s.size() > 4) return -1;
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  }
  static constexpr absl::string_view kDigits[] = {"零", "一", "二", "三", "四",
                                                  "五", "六", "七", "八", "九"};
  int total = 0;
  int current = -1;
  while (!s.empty()) {
    const size_t n = FirstCharBytes(s);
    const absl::string_view ch = s.substr(0, n);
    s.remove_prefix(n);
    if (ch == "十") {
      total += (current < 0 ? 1 : current) * 10;
      current = -1;
      continue;
    }
    if (ch == "两") {
      current = 2;
      continue;
    }
    if (ch == "〇") {
      current = 0;
      continue;
    }
    const auto it = std::find(std::begin(kDigits), std::end(kDigits), ch);
    if (it == std::end(kDigits)) return -1;
    current = static_cast<int>(it - std::begin(kDigits));
  }
  return total + (current < 0 ? 0 : current);
}

struct TableMatch {
  const Region* region = nullptr;
  size_t bytes = 0;
  bool ambiguous = false;
};

// Province, prefecture or county names from the name index that `text`
// starts with, restricted to `level` and to descendants of `within` (if
// any). Longest match wins; a short name must not be followed by an
// administrative suffix.
TableMatch MatchRegionName(absl::string_view text, RegionLevel level, const Region* within) {
  TableMatch best;
  // Every indexed name has two or more Han characters, so only names that
  // share the text's first two characters can be its prefix.
  const size_t first = FirstCharBytes(text);
  if (first < 2) return best;
  const size_t second = FirstCharBytes(text.substr(first));
  if (second < 2) return best;
  if (first + second != 6) return best;  // both must be 3-byte (BMP Han) characters
  uint64_t head = 0;
  for (size_t k = 0; k < 6; ++k) head = (head << 8) | static_cast<unsigned char>(text[k]);
  // The names sharing those two characters form one run of the index.
  const NameHeadIndex::Run run = NameHeadIndex::Get().Find(head);
  for (uint32_t k = run.begin; k < run.end; ++k) {
    const RegionNameEntry* it = kRegionNames + k;
    if (!HasPrefix(text, it->name)) continue;
    const Region& r = kRegions[it->region];
    if (r.level() != level) continue;
    if (within != nullptr && !absl::StartsWith(r.code, within->code)) continue;
    if (it->is_short) {
      const absl::string_view after = text.substr(it->name.size());
      if (after.empty() || StartsWithAny(after, kNotAfterShortName)) continue;
    }
    if (it->name.size() > best.bytes) {
      best.region = &r;
      best.bytes = it->name.size();
      best.ambiguous = false;
    } else if (it->name.size() == best.bytes && best.region != &r) {
      best.ambiguous = true;
    }
  }
  return best;
}

// Townships of a county or villages of a township named at the start of
// `text`: the full name, or the short name followed by a suffix of the level.
TableMatch MatchChild(absl::string_view text, const Region& parent,
                      absl::Span<const absl::string_view> suffixes) {
  TableMatch best;
  // Names and short names start with the same character: comparing it
  // rules out nearly every sibling without reading the region (the
  // village-only search below tries every village of a county).
  const uint32_t head = Head3(text);
  if (head == 0) return best;
  for (const ChildIndex::Child& child : ChildIndex::Get().ChildrenOf(IndexOf(&parent))) {
    if (child.head != head) continue;
    const Region& r = kRegions[child.region];
    size_t bytes = 0;
    if (HasPrefix(text, r.name)) {
      bytes = r.name.size();
    } else if (r.short_name.size() < r.name.size() && HasPrefix(text, r.short_name)) {
      const absl::string_view suffix = SuffixAt(text.substr(r.short_name.size()), suffixes);
      if (!suffix.empty()) bytes = r.short_name.size() + suffix.size();
    }
    // "遇龙村委会": also take a longer administrative tail the name lacks.
    if (bytes > 0) {
      const absl::string_view tail =
          SuffixAt(text.substr(bytes), {"委会", "委员会", "居委会", "村委会"});
      bytes += tail.size();
    }
    if (bytes > best.bytes) {
      best.region = &r;
      best.bytes = bytes;
    }
  }
  return best;
}

// A name ending in one of `suffixes` at the start of `text`: 1..max_chars
// characters (no digits) then the suffix. Returns its length in bytes, 0
// when none. The earliest suffix wins, so "白沙镇遇龙村" gives 白沙镇.
size_t MatchBySuffix(absl::string_view text, absl::Span<const absl::string_view> suffixes,
                     size_t max_chars, size_t min_chars = 1) {
  size_t pos = 0;
  for (size_t chars = 0; chars <= max_chars && pos < text.size(); ++chars) {
    if (chars >= min_chars) {
      const absl::string_view suffix = SuffixAt(text.substr(pos), suffixes);
      if (!suffix.empty()) return pos + suffix.size();
    }
    const size_t n = FirstCharBytes(text.substr(pos));
    if (n < 3) return 0;  // names are Han; digits and latin end the search
    pos += n;
  }
  return 0;
}

// Whether a name with one of `suffixes` ends before byte `end`: then a
// match ending at `end` would swallow a lower level ("遇龙村乡道" is not a
// township).
bool EndsEarlier(absl::string_view text, absl::Span<const absl::string_view> suffixes, size_t end) {
  const size_t n = MatchBySuffix(text, suffixes, 6, 1);
  return n > 0 && n < end;
}

// A province, prefecture or county found by suffix must not swallow a
// township or village: "白沙镇柳州路" has no prefecture 白沙镇柳州.
bool CrossesLowerLevel(absl::string_view text, size_t end) {
  return EndsEarlier(text, kTownshipSuffixes, end) || EndsEarlier(text, kVillageSuffixes, end);
}

// The name without its administrative suffix, for keys.
absl::string_view StripSuffix(absl::string_view name,
                              absl::Span<const absl::string_view> suffixes) {
  for (absl::string_view s : suffixes) {
    if (absl::EndsWith(name, s) && name.size() > s.size())
      return name.substr(0, name.size() - s.size());
  }
  return name;
}

bool IsDroppedPunctuation(char32_t cp) {
  return IsSpaceCodePoint(cp) || cp == ',' || cp == 0x3001 || cp == 0x3002 || cp == ';' ||
         cp == ':' || cp == '"' || cp == '\'' || cp == 0x201C || cp == 0x201D || cp == 0x2018 ||
         cp == 0x2019 || cp == '(' || cp == ')' || cp == '[' || cp == ']' || cp == 0x3010 ||
         cp == 0x3011 || cp == '.' || cp == 0xB7 || cp == '_' || cp == '*' || cp == '?' ||
         cp == 0xFFFD;
}

bool IsPlaceholderAddress(absl::string_view t) {
  if (t.size() > 12) return false;
  static constexpr absl::string_view kPlaceholders[] = {
      "不详",   "无",       "未知", "空",   "-",    "--",   "/",
      "无地址", "地址不详", "不明", "待补", "NULL", "null", "0"};
  return std::find(std::begin(kPlaceholders), std::end(kPlaceholders), t) !=
         std::end(kPlaceholders);
}

void Reset(NormalizedAddress* a) {
  for (std::string* s :
       {&a->text, &a->province, &a->prefecture, &a->county, &a->township, &a->village, &a->group,
        &a->detail, &a->province_code, &a->prefecture_code, &a->county_code, &a->township_code,
        &a->village_code, &a->address_code, &a->village_name, &a->county_key, &a->township_key,
        &a->village_key}) {
    s->clear();
  }
  a->issues = 0;
}

void AddIssue(NormalizedAddress* a, AddressIssue issue) {
  a->issues |= static_cast<uint32_t>(issue);
}

void SetCodesFrom(const Region& r, NormalizedAddress* a) {
  const absl::string_view c = r.code;
  if (c.size() >= 2) a->province_code.assign(c.data(), 2);
  if (c.size() >= 4) a->prefecture_code.assign(c.data(), 4);
  if (c.size() >= 6) a->county_code.assign(c.data(), 6);
  if (c.size() >= 9) a->township_code.assign(c.data(), 9);
  if (c.size() >= 12) a->village_code.assign(c.data(), 12);
}

}  // namespace

void ParseAddress(absl::string_view raw, absl::string_view address_code,
                  const AddressContext& context, NormalizedAddress* out) {
  Reset(out);

  // The code first: it is authoritative for the keys.
  {
    // Full-width digits and stray spaces are typing, not a different code.
    std::string code;
    size_t pos = 0;
    while (pos < address_code.size() && code.size() <= 12) {
      char32_t cp;
      if (!DecodeUtf8(address_code, &pos, &cp)) {
        code = "?";
        break;
      }
      if (IsSpaceCodePoint(cp)) continue;
      cp = FoldWidth(cp);
      if (cp < 0x80) {
        code.push_back(static_cast<char>(cp));
      } else {
        AppendUtf8(cp, &code);
      }
    }
    if (!code.empty()) {
      const bool digits = code.size() == 12 && std::all_of(code.begin(), code.end(), [](char c) {
                            return absl::ascii_isdigit(static_cast<unsigned char>(c));
                          });
      if (digits) {
        out->address_code = code;
        if (FindRegion(absl::string_view(code).substr(0, 6)) == nullptr)
          AddIssue(out, AddressIssue::kAddressCodeUnknown);
      } else {
        AddIssue(out, AddressIssue::kAddressCodeMalformed);
      }
    }
  }

  // Bound the work on absurd input, cutting on a character boundary.
  absl::string_view bounded = raw;
  if (bounded.size() > 4 * kMaxAddressBytes) {
    size_t cut = 4 * kMaxAddressBytes;
    while (cut > 0 && (static_cast<unsigned char>(raw[cut]) & 0xC0) == 0x80) --cut;
    bounded = raw.substr(0, cut);
  }
  // `detail` is assigned last, from `text`; until then its buffer holds the
  // NFKC form, which saves an allocation per record.
  std::string& folded = out->detail;
  if (!NormalizeNfkc(bounded, &folded)) {
    AddIssue(out, AddressIssue::kInvalidUtf8);
  } else {
    // Kept characters are copied in runs, as the NFKC form spells them.
    size_t pos = 0;
    size_t run = 0;
    bool too_long = false;
    while (pos < folded.size()) {
      const size_t start = pos;
      char32_t cp;
      if (!DecodeUtf8(folded, &pos, &cp)) {  // NFKC output is valid; never loop
        pos = start;
        break;
      }
      if (IsDroppedPunctuation(cp)) {
        out->text.append(folded, run, start - run);
        run = pos;
        continue;
      }
      if (out->text.size() + (start - run) + 4 > kMaxAddressBytes) {
        pos = start;
        too_long = true;
        break;
      }
    }
    out->text.append(folded, run, pos - run);
    if (too_long) AddIssue(out, AddressIssue::kTooLong);
    if (raw.size() > 4 * kMaxAddressBytes) AddIssue(out, AddressIssue::kTooLong);
  }
  folded.clear();
  if (IsPlaceholderAddress(out->text)) {
    AddIssue(out, AddressIssue::kPlaceholder);
    out->text.clear();
  }

  absl::string_view rest = out->text;
  const Region* context_region = nullptr;  // the deepest region resolved from the text
  auto take = [&](size_t bytes, std::string* component) {
    component->assign(rest.data(), bytes);
    rest.remove_prefix(bytes);
  };

  // An address that starts with a township of the facility's own county
  // ("东山瑶族乡三江村") names no higher level, however much its first
  // characters look like some county elsewhere (东山县 of Fujian).
  const Region* const hint_region =
      context.county_hint.size() == 6 ? FindRegion(context.county_hint) : nullptr;
  // The township found here is the one taken below (nothing is taken
  // before it), so it is matched once.
  TableMatch hinted_township;
  if (hint_region != nullptr && out->address_code.empty() && hint_region->level() == RegionLevel::kCounty) {
    hinted_township = MatchChild(rest, *hint_region, kTownshipSuffixes);
  }
  const Region* const hinted_county = hinted_township.region != nullptr ? hint_region : nullptr;
  // Province, prefecture, county: table first, then suffixes.
  if (hinted_county != nullptr) {
    // Resolved below through the hint.
  } else if (const TableMatch m = MatchRegionName(rest, RegionLevel::kProvince, nullptr);
      m.region != nullptr) {
    take(m.bytes, &out->province);
    context_region = m.region;
  } else if (const size_t n = MatchBySuffix(rest, kProvinceSuffixes, 6, 2);
             n > 0 && !CrossesLowerLevel(rest, n)) {
    take(n, &out->province);
  }
  if (hinted_county == nullptr) {
    if (const TableMatch m = MatchRegionName(rest, RegionLevel::kPrefecture, context_region);
        m.region != nullptr && !m.ambiguous) {
      take(m.bytes, &out->prefecture);
      context_region = m.region;
    } else if (context_region == nullptr || context_region->level() == RegionLevel::kProvince) {
      // "XX市" is a prefecture only if a county follows; otherwise it may be a
      // county-level city, which the county step takes.
      size_t n = MatchBySuffix(rest, kPrefectureSuffixes, 8, 2);
      if (n > 0 && (CrossesLowerLevel(rest, n) || EndsEarlier(rest, kCountySuffixes, n))) n = 0;
      if (n > 0 && !absl::EndsWith(rest.substr(0, n), "市")) {
        take(n, &out->prefecture);
      } else if (n > 0 &&
                 (MatchRegionName(rest.substr(n), RegionLevel::kCounty, context_region).region !=
                      nullptr ||
                  MatchBySuffix(rest.substr(n), {"县", "区", "旗"}, 6, 1) > 0)) {
        take(n, &out->prefecture);
      }
    }
    if (const TableMatch m = MatchRegionName(rest, RegionLevel::kCounty, context_region);
        m.region != nullptr) {
      if (m.ambiguous &&
          (context_region == nullptr || context_region->level() == RegionLevel::kProvince)) {
        // 朝阳区 of 北京 or of 长春? The hint or the code may tell.
        const absl::string_view hint = !out->address_code.empty()
                                           ? absl::string_view(out->address_code).substr(0, 6)
                                           : context.county_hint;
        const Region* hinted = hint.size() >= 4 ? FindRegion(hint.substr(0, 4)) : nullptr;
        const TableMatch again =
            hinted != nullptr ? MatchRegionName(rest, RegionLevel::kCounty, hinted) : TableMatch{};
        if (again.region != nullptr && !again.ambiguous) {
          take(again.bytes, &out->county);
          context_region = again.region;
        } else {
          AddIssue(out, AddressIssue::kAmbiguousCounty);
          take(m.bytes, &out->county);
        }
      } else {
        take(m.bytes, &out->county);
        context_region = m.region;
      }
    } else if (const size_t n = MatchBySuffix(rest, kCountySuffixes, 6, 1);
               n > 0 && !CrossesLowerLevel(rest, n) && !absl::EndsWith(rest.substr(0, n), "社区")) {
      // (A name ending in 社区 is a community, the village level, not a
      // district ending in 区.)
      take(n, &out->county);
    }
  }

  // The county the township and village are resolved in: the text's, else
  // the code's, else the hint (only when the text named no other county).
  const Region* county =
      context_region != nullptr && context_region->level() == RegionLevel::kCounty ? context_region
                                                                                   : nullptr;
  if (county == nullptr && out->county.empty()) {
    const absl::string_view fallback = !out->address_code.empty()
                                           ? absl::string_view(out->address_code).substr(0, 6)
                                           : context.county_hint;
    if (fallback.size() == 6) {
      const Region* r = out->address_code.empty() ? hint_region : FindRegion(fallback);
      if (r != nullptr && r->level() == RegionLevel::kCounty &&
          (context_region == nullptr || absl::StartsWith(r->code, context_region->code))) {
        county = r;
      }
    }
  }

  const Region* township = nullptr;
  if (county != nullptr) {
    if (const TableMatch m =
            county == hinted_county ? hinted_township : MatchChild(rest, *county, kTownshipSuffixes);
        m.region != nullptr) {
      take(m.bytes, &out->township);
      township = m.region;
    }
  }
  if (township == nullptr) {
    if (const size_t n = MatchBySuffix(rest, kTownshipSuffixes, 6, 1);
        n > 0 && !EndsEarlier(rest, kVillageSuffixes, n)) {
      take(n, &out->township);
    }
  }

  const Region* village = nullptr;
  if (township != nullptr) {
    if (const TableMatch m = MatchChild(rest, *township, kVillageSuffixes); m.region != nullptr) {
      take(m.bytes, &out->village);
      village = m.region;
    }
  } else if (county != nullptr && out->township.empty()) {
    // "大坪村11组": clinics often write only the village. A village name
    // that exists in exactly one township of the county names it; the
    // same name in two townships stays unresolved rather than guessed.
    TableMatch unique;
    bool ambiguous = false;
    const size_t begin = IndexOf(county) + 1;
    const size_t end = kRegionSubtreeEnd[IndexOf(county)];
    for (size_t i = begin; i < end; i = kRegionSubtreeEnd[i]) {
      const TableMatch m = MatchChild(rest, kRegions[i], kVillageSuffixes);
      if (m.region == nullptr || m.bytes < unique.bytes) continue;
      ambiguous = m.bytes == unique.bytes;
      unique = m;
    }
    if (unique.region != nullptr && !ambiguous) {
      take(unique.bytes, &out->village);
      village = unique.region;
    }
  }
  // The deepest region resolved sets every level's code: each lower one lies
  // inside the one above (a hinted county only when the text named none).
  if (const Region* deepest = village != nullptr    ? village
                              : township != nullptr ? township
                                                    : context_region) {
    SetCodesFrom(*deepest, out);
  }
  if (village == nullptr) {
    if (const size_t n = MatchBySuffix(rest, kVillageSuffixes, 6, 1)) {
      take(n, &out->village);
      // "遇龙村委会5组": the committee words are part of the village.
      const absl::string_view tail = SuffixAt(rest, {"委会", "委员会"});
      if (!tail.empty()) {
        out->village.append(tail.data(), tail.size());
        rest.remove_prefix(tail.size());
      }
    }
  }

  // Group: "5组", "第五组", "十二队", or a natural village name + 屯/组.
  {
    size_t pos = 0;
    size_t chars = 0;
    while (pos < rest.size() && chars < 6) {
      const size_t n = FirstCharBytes(rest.substr(pos));
      const absl::string_view ch = rest.substr(pos, n);
      const absl::string_view suffix = SuffixAt(rest.substr(pos), kGroupSuffixes);
      if (!suffix.empty() && chars > 0) {
        absl::string_view name = rest.substr(0, pos);
        if (absl::StartsWith(name, "第")) name.remove_prefix(3);
        const int number = ParseNumber(name);
        out->group =
            number >= 0 ? absl::StrCat(number, "组") : absl::StrCat(rest.substr(0, pos), suffix);
        rest.remove_prefix(pos + suffix.size());
        break;
      }
      if (n < 3 && !IsDigitOrNumeral(ch)) break;
      pos += n;
      ++chars;
    }
  }
  out->detail.assign(rest.data(), rest.size());

  // The code overrides what the text resolved, and says when they disagree.
  if (!out->address_code.empty()) {
    const absl::string_view code = out->address_code;
    if ((!out->county_code.empty() && out->county_code != code.substr(0, 6)) ||
        (!out->township_code.empty() && out->township_code != code.substr(0, 9))) {
      AddIssue(out, AddressIssue::kCodeTextMismatch);
    }
    out->province_code.assign(code.data(), 2);
    out->prefecture_code.assign(code.data(), 4);
    out->county_code.assign(code.data(), 6);
    out->township_code.assign(code.data(), 9);
    out->village_code.assign(code.data(), 12);
  }

  // Keys.
  if (!out->county_code.empty()) {
    out->county_key = out->county_code;
  } else if (!out->county.empty()) {
    absl::StrAppend(&out->county_key, "n:", StripSuffix(out->county, kCountySuffixes));
  }
  if (!out->township_code.empty()) {
    out->township_key = out->township_code;
  } else if (!out->township.empty()) {
    absl::StrAppend(&out->township_key, out->county_key, ":",
                    StripSuffix(out->township, kTownshipSuffixes));
  }
  if (village != nullptr) {
    out->village_name.assign(village->short_name.data(), village->short_name.size());
  } else if (!out->village.empty()) {
    const absl::string_view v = StripSuffix(out->village, {"村民委员会", "居民委员会", "村委会", "居委会"});
    const absl::string_view name = StripSuffix(v, kVillageSuffixes);
    out->village_name.assign(name.data(), name.size());
  }
  if (out->village_name.empty() && !out->village_code.empty()) {
    if (const Region* r = FindRegion(out->village_code)) {
      out->village_name.assign(r->short_name.data(), r->short_name.size());
    }
  }
  if (!out->village_code.empty()) {
    out->village_key = out->village_code;
  } else if (!out->village.empty()) {
    const absl::string_view parent = !out->township_key.empty()
                                         ? absl::string_view(out->township_key)
                                         : absl::string_view(out->county_key);
    absl::StrAppend(&out->village_key, parent, "/", StripSuffix(out->village, kVillageSuffixes));
  }
}

NormalizedAddress ParseAddress(absl::string_view text, absl::string_view address_code,
                               const AddressContext& context) {
  NormalizedAddress a;
  ParseAddress(text, address_code, context, &a);
  return a;
}

absl::string_view AddressMatchName(AddressMatch match) {
  switch (match) {
    case AddressMatch::kMissing:
      return "missing";
    case AddressMatch::kSameVillage:
      return "same_village";
    case AddressMatch::kSameTownship:
      return "same_township";
    case AddressMatch::kSameCounty:
      return "same_county";
    case AddressMatch::kDifferent:
      return "different";
  }
  return "different";
}

AddressMatch CompareAddresses(const NormalizedAddress& a, const NormalizedAddress& b) {
  const auto both = [](const std::string& x, const std::string& y) {
    return !x.empty() && !y.empty();
  };
  if (both(a.village_key, b.village_key) && a.village_key == b.village_key)
    return AddressMatch::kSameVillage;
  if (both(a.township_key, b.township_key) && a.township_key == b.township_key)
    return AddressMatch::kSameTownship;
  if (both(a.county_key, b.county_key) && a.county_key == b.county_key)
    return AddressMatch::kSameCounty;
  if (both(a.village_key, b.village_key) || both(a.township_key, b.township_key) ||
      both(a.county_key, b.county_key)) {
    return AddressMatch::kDifferent;
  }
  return AddressMatch::kMissing;
}

}  // namespace hisbridge::core
