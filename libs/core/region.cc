#include "libs/core/region.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/region_data.h"

namespace hisbridge::core {
namespace {

using internal::kRegionCount;
using internal::kRegions;
using internal::kRegionSubtreeEnd;

size_t IndexOf(const Region& region) { return static_cast<size_t>(&region - kRegions); }

// The pseudo-prefectures of the source data carry no name a person would
// write or read ("市辖区", "县", "省直辖县级行政区划").
bool IsPseudoPrefecture(const Region& region) {
  return region.level() == RegionLevel::kPrefecture &&
         (region.name == "市辖区" || region.name == "县" ||
          absl::EndsWith(region.name, "直辖县级行政区划"));
}

}  // namespace

RegionLevel Region::level() const {
  switch (code.size()) {
    case 2:
      return RegionLevel::kProvince;
    case 4:
      return RegionLevel::kPrefecture;
    case 6:
      return RegionLevel::kCounty;
    case 9:
      return RegionLevel::kTownship;
    default:
      return RegionLevel::kVillage;
  }
}

absl::Span<const Region> AllRegions() { return absl::Span<const Region>(kRegions, kRegionCount); }

const Region* FindRegion(absl::string_view code) {
  if (code.size() == 6 && code.substr(2) == "0000") code = code.substr(0, 2);
  if (code.size() == 6 && code.substr(4) == "00") code = code.substr(0, 4);
  if (code.empty() || code.size() > 12) return nullptr;
  uint64_t key = 0;
  for (size_t i = 0; i < 12; ++i) {
    const char c = i < code.size() ? code[i] : '0';
    if (c < '0' || c > '9') return nullptr;
    key = key * 10 + static_cast<uint64_t>(c - '0');
  }
  key = key * 16 + code.size();
  // One hash probe instead of a binary search over 61k keys: the address
  // parser looks codes up several times per record.
  static const absl::flat_hash_map<uint64_t, uint32_t>* const by_key = [] {
    auto* map = new absl::flat_hash_map<uint64_t, uint32_t>();
    map->reserve(kRegionCount);
    for (size_t i = 0; i < kRegionCount; ++i)
      map->emplace(internal::kRegionCodeKeys[i].key, internal::kRegionCodeKeys[i].region);
    return map;
  }();
  const auto it = by_key->find(key);
  if (it == by_key->end()) return nullptr;
  return &kRegions[it->second];
}

std::vector<const Region*> ChildrenOf(const Region& region) {
  std::vector<const Region*> out;
  const size_t end = kRegionSubtreeEnd[IndexOf(region)];
  for (size_t i = IndexOf(region) + 1; i < end; i = kRegionSubtreeEnd[i])
    out.push_back(&kRegions[i]);
  return out;
}

std::vector<const Region*> CountiesUnder(absl::string_view code_prefix) {
  std::vector<const Region*> out;
  size_t begin = 0;
  size_t end = kRegionCount;
  if (!code_prefix.empty()) {
    const Region* root = FindRegion(code_prefix);
    if (root == nullptr) return out;
    begin = IndexOf(*root);
    end = kRegionSubtreeEnd[begin];
  }
  for (size_t i = begin; i < end;) {
    if (kRegions[i].level() == RegionLevel::kCounty) {
      out.push_back(&kRegions[i]);
      i = kRegionSubtreeEnd[i];
    } else {
      ++i;
    }
  }
  return out;
}

const Region* ParentOf(const Region& region) {
  const size_t n = region.code.size();
  if (n <= 2) return nullptr;
  const size_t parent_length = n == 4 ? 2 : n == 6 ? 4 : n == 9 ? 6 : 9;
  return FindRegion(region.code.substr(0, parent_length));
}

std::string FullRegionName(const Region& region) {
  std::string out;
  const Region* chain[5];
  int depth = 0;
  for (const Region* r = &region; r != nullptr && depth < 5; r = ParentOf(*r)) chain[depth++] = r;
  while (depth > 0) {
    const Region* r = chain[--depth];
    if (!IsPseudoPrefecture(*r)) absl::StrAppend(&out, r->name);
  }
  return out;
}

bool IsProvinceCode(absl::string_view two_digits) {
  static constexpr absl::string_view kProvinces[] = {
      "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34",
      "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52",
      "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"};
  return std::binary_search(std::begin(kProvinces), std::end(kProvinces), two_digits);
}

}  // namespace hisbridge::core
