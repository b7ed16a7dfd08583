// Internal: the layout of the region tables that gen/region_tables_gen
// generates from libs/core/data/regions.tsv (region_data.cc in the build
// tree). Only region.cc and address.cc read these arrays; everyone else uses
// libs/core/region.h.
//
// All arrays are constant-initialised, immutable and safe to read from any
// thread.
#ifndef HISBRIDGE_LIBS_CORE_REGION_DATA_H_
#define HISBRIDGE_LIBS_CORE_REGION_DATA_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "libs/core/region.h"

namespace hisbridge::core::internal {

// Every region, sorted by code, so that a region's descendants follow it
// contiguously: kRegions[i + 1, kRegionSubtreeEnd[i]).
extern const Region kRegions[];
extern const uint32_t kRegionSubtreeEnd[];
extern const size_t kRegionCount;

// kRegions indexed by code for exact lookups: key = the code's digits padded
// with zeros to 12, times 16, plus the code's length. Sorted by key.
struct RegionCodeKey {
  uint64_t key;
  uint32_t region;  // index into kRegions
};
extern const RegionCodeKey kRegionCodeKeys[];

// Province, prefecture and county names, full and short, sorted by name
// (bytewise), for finding the administrative names an address starts with.
// Every name has at least two characters.
struct RegionNameEntry {
  absl::string_view name;
  uint32_t region;  // index into kRegions
  bool is_short;
};
extern const RegionNameEntry kRegionNames[];
extern const size_t kRegionNameCount;
// kRegionNames[i].name's first six bytes as a big-endian integer (see
// RegionNameHead in address.cc); sorted like kRegionNames.
extern const uint64_t kRegionNameHeads[];

}  // namespace hisbridge::core::internal

#endif  // HISBRIDGE_LIBS_CORE_REGION_DATA_H_
