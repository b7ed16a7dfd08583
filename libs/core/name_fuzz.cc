// libFuzzer target for NormalizeName and CompareNames.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libs/core/name.h"
#include "libs/core/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hisbridge::core;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const NormalizedName n = NormalizeName(raw);
  if (!IsValidUtf8(n.han) || !IsValidUtf8(n.surname) || !IsValidUtf8(n.given)) std::abort();
  if (n.chars.size() > kMaxNameCharacters) std::abort();
  if (n.script == NameScript::kHan && CountCodePoints(n.han) != n.chars.size()) std::abort();
  if (n.surname_length > n.chars.size() && n.script == NameScript::kHan) std::abort();
  const NameMatch self = CompareNames(n, n);
  if (self != (n.empty() ? NameMatch::kMissing : NameMatch::kExact)) std::abort();
  // Normalising the normalised Han form is stable.
  if (n.script == NameScript::kHan && !n.segmented) {
    const NormalizedName again = NormalizeName(n.han);
    if (again.han != n.han) std::abort();
  }
  const NormalizedName a = NormalizeName(raw.substr(0, size / 2));
  const NormalizedName b = NormalizeName(raw.substr(size / 2));
  const NameMatch ab = CompareNames(a, b);
  const NameMatch ba = CompareNames(b, a);
  if ((ab == NameMatch::kMissing) != (ba == NameMatch::kMissing)) std::abort();
  (void)PinyinDistance(a, b);
  return 0;
}
