// Free-text addresses of rural patients, parsed into administrative levels
// and turned into comparison keys at county, township and village level.
//
//   "广西壮族自治区桂林市阳朔县白沙镇遇龙村委会5组"
//   "广西阳朔县白沙镇遇龙村五组"      (short names, Chinese numerals)
//   "白沙镇遇龙村5组"                 (no county: resolved with the county hint)
//
// Components are found with the region table (libs/core/region.h) first --
// full names, and short names such as 广西, 桂林, 阳朔 where the text that
// follows confirms them -- and by administrative suffixes (省 自治区 市 州 盟
// 区 县 旗 镇 乡 街道 苏木 村 社区 嘎查 组 队 屯) where the table has nothing.
// A township is resolved to its code only inside a known county, a village
// only inside a known township (village codes are shipped for Guangxi only).
//
// The 12-digit address_code (统计用区划代码 of the village or community), when
// given and well formed, is authoritative for the keys: its first 6 digits
// are the county, 9 the township, 12 the village.
//
// Keys are equal exactly when two addresses name the same division:
// the code when known ("450321101", "450321101202"), otherwise the parent
// key and the name without its suffix ("450321:白沙", "450321101/遇龙").
//
// Pure functions; thread-safe. NormalizedAddress owns its data.
#ifndef HISBRIDGE_LIBS_CORE_ADDRESS_H_
#define HISBRIDGE_LIBS_CORE_ADDRESS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace hisbridge::core {

enum class AddressIssue : uint32_t {
  kInvalidUtf8 = 1u << 0,           // the text is not UTF-8 (nothing parsed)
  kAddressCodeMalformed = 1u << 1,  // address_code is not 12 digits (ignored)
  kAddressCodeUnknown = 1u << 2,    // its county is not in the region table
  kCodeTextMismatch = 1u << 3,      // the text names another county or township than the code
  kPlaceholder = 1u << 4,           // "不详", "无", "未知"
  kTooLong = 1u << 5,               // over kMaxAddressBytes; the rest was ignored
  kAmbiguousCounty = 1u << 6,       // a county name that exists in several places (朝阳区)
};

inline constexpr size_t kMaxAddressBytes = 512;

struct NormalizedAddress {
  // NFKC, without spaces and punctuation.
  std::string text;
  // Components as written (with their suffix: "白沙镇"), empty when absent.
  std::string province, prefecture, county, township, village, group;
  // What follows the last component (house numbers, 屯 names, ...).
  std::string detail;

  // Codes, from address_code or resolved through the region table; empty
  // when unknown. 2, 4, 6, 9 and 12 digits.
  std::string province_code, prefecture_code, county_code, township_code, village_code;
  // address_code as given, when it is 12 digits.
  std::string address_code;

  // The village's name without its administrative suffix ("遇龙" of
  // 遇龙村委会), from the region table when resolved; empty when no village.
  // Lets a resolved village be compared with one the text named only.
  std::string village_name;

  // Comparison keys; empty when the level is unknown.
  std::string county_key;
  std::string township_key;
  std::string village_key;

  uint32_t issues = 0;
  bool has(AddressIssue issue) const { return (issues & static_cast<uint32_t>(issue)) != 0; }
  bool empty() const { return text.empty() && address_code.empty(); }
};

struct AddressContext {
  // The county the record comes from (6 digits, e.g. the facility's region),
  // used to resolve addresses that start at the township. Optional.
  absl::string_view county_hint;
};

// Parses `text` (the address field) and `address_code` into *out, reusing
// its storage.
void ParseAddress(absl::string_view text, absl::string_view address_code,
                  const AddressContext& context, NormalizedAddress* out);
NormalizedAddress ParseAddress(absl::string_view text, absl::string_view address_code = "",
                               const AddressContext& context = {});

// How two addresses relate, strongest first.
enum class AddressMatch : uint8_t {
  kMissing,  // no level known on both sides
  kSameVillage,
  kSameTownship,
  kSameCounty,
  kDifferent,  // the finest level known on both sides differs
};

absl::string_view AddressMatchName(AddressMatch match);

AddressMatch CompareAddresses(const NormalizedAddress& a, const NormalizedAddress& b);

}  // namespace hisbridge::core

#endif  // HISBRIDGE_LIBS_CORE_ADDRESS_H_
