// libFuzzer target for ParsePhones and ComparePhones.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libs/core/phone.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hisbridge::core;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const PhoneResult r = ParsePhones(raw);
  if (r.numbers.size() > kMaxPhones) std::abort();
  for (const PhoneNumber& n : r.numbers) {
    if (n.kind == PhoneKind::kMobile && n.digits.size() != 11) std::abort();
    if (n.kind == PhoneKind::kLandline && (n.area_code_length < 3 || n.digits.size() < 10u))
      std::abort();
    if (n.area_code_length > n.digits.size()) std::abort();
    if (n.usable() && ComparePhones(n, n) != PhoneMatch::kExact) std::abort();
    // The canonical digits parse to themselves.
    if (n.kind == PhoneKind::kMobile || n.kind == PhoneKind::kLandline) {
      const PhoneResult again = ParsePhones(n.digits);
      if (again.numbers.empty() || again.numbers[0].digits != n.digits) std::abort();
    }
  }
  const PhoneResult a = ParsePhones(raw.substr(0, size / 2));
  const PhoneResult b = ParsePhones(raw.substr(size / 2));
  if (CompareAnyPhones(a.numbers, b.numbers) != CompareAnyPhones(b.numbers, a.numbers))
    std::abort();
  return 0;
}
