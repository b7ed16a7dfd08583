// China's administrative divisions (GB/T 2260 province, prefecture and county
// codes; the National Bureau of Statistics' township codes; and, for Guangxi
// only, village codes), compiled into the library from
// libs/core/data/regions.tsv. Provenance, licence and coverage are recorded
// in libs/core/data/README.md and docs/normalisation.md.
//
// Codes are strings of digits: 2 (province, "45"), 4 (prefecture, "4503"),
// 6 (county, "450321"), 9 (township, "450321101") and 12 (village,
// "450321101202"). GB/T 2260 writes provinces and prefectures as 6 digits
// padded with zeros ("450000", "450300"); FindRegion accepts both forms.
//
// The table describes divisions as they are now. Resident ids keep the code
// of the county that issued them forever, so a county code missing here may
// be a former county, not an error.
//
// Ownership: every Region and string_view returned points into static,
// immutable tables that live for the whole program. Thread-safe.
#ifndef HISBRIDGE_LIBS_CORE_REGION_H_
#define HISBRIDGE_LIBS_CORE_REGION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace hisbridge::core {

enum class RegionLevel : uint8_t { kProvince, kPrefecture, kCounty, kTownship, kVillage };

struct Region {
  absl::string_view code;
  // Official name: "广西壮族自治区", "桂林市", "阳朔县", "白沙镇", "遇龙村委会".
  absl::string_view name;
  // The name without its administrative suffix and, for autonomous areas,
  // the ethnic groups: "广西", "桂林", "阳朔", "白沙", "遇龙". Equal to
  // `name` when stripping would leave a single character ("赵县", "城区").
  absl::string_view short_name;

  RegionLevel level() const;
};

// Every region, sorted by code. A region's descendants follow it
// contiguously (preorder), e.g. 45, 4501, 450102, 450102001, ..., 4503, ...
absl::Span<const Region> AllRegions();

// Exact lookup by code; 6-digit codes ending in "0000"/"00" also find the
// province/prefecture ("450000" -> 广西壮族自治区). nullptr when unknown.
const Region* FindRegion(absl::string_view code);

// The direct children of `region` (prefectures of a province, counties of a
// prefecture, ...), in code order. Provinces whose counties hang directly
// under them in GB/T 2260 have a pseudo-prefecture such as 4690
// "省直辖县级行政区划" or 5001 "市辖区", as in the source data.
std::vector<const Region*> ChildrenOf(const Region& region);

// Every county-level region of a province or prefecture (or all of China for
// an empty prefix), for generators that need real county codes.
std::vector<const Region*> CountiesUnder(absl::string_view code_prefix);

// The enclosing region, or nullptr for a province.
const Region* ParentOf(const Region& region);

// "广西壮族自治区桂林市阳朔县" (pseudo-prefectures such as 市辖区 omitted).
std::string FullRegionName(const Region& region);

// True for the 34 province-level codes of GB/T 2260 (11 北京 ... 82 澳门).
bool IsProvinceCode(absl::string_view two_digits);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_REGION_H_
