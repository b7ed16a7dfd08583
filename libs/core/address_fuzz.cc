// libFuzzer target for ParseAddress and CompareAddresses. The first 12
// bytes are the address_code, the rest the address text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libs/core/address.h"
#include "libs/core/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hisbridge::core;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const std::string code = raw.substr(0, 12);
  const std::string text = raw.size() > 12 ? raw.substr(12) : "";
  for (const char* hint : {"", "450321"}) {
    const NormalizedAddress a = ParseAddress(text, code, AddressContext{hint});
    if (a.text.size() > kMaxAddressBytes) std::abort();
    for (const std::string* s :
         {&a.text, &a.province, &a.prefecture, &a.county, &a.township, &a.village, &a.group,
          &a.detail, &a.township_key, &a.village_key}) {
      if (!IsValidUtf8(*s)) std::abort();
    }
    if (!a.township_code.empty() && a.township_code.size() != 9) std::abort();
    if (!a.village_code.empty() && a.village_code.size() != 12) std::abort();
    const AddressMatch self = CompareAddresses(a, a);
    if (self != AddressMatch::kMissing && self != AddressMatch::kSameVillage &&
        self != AddressMatch::kSameTownship && self != AddressMatch::kSameCounty) {
      std::abort();
    }
    const NormalizedAddress b = ParseAddress(raw, "", AddressContext{hint});
    if (CompareAddresses(a, b) != CompareAddresses(b, a)) std::abort();
  }
  return 0;
}
