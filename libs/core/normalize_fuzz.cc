// libFuzzer target for Normalize: the input is split at '\x1f' bytes into
// the record's eleven fields, in PatientFields order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libs/core/normalize.h"
#include "libs/core/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace hisbridge::core;
  const std::string raw(reinterpret_cast<const char*>(data), size);
  PatientFields r;
  std::string* fields[] = {&r.name,      &r.sex,          &r.birth_date,     &r.id_type,
                           &r.id_number, &r.insurance_id, &r.health_card_id, &r.phone,
                           &r.address,   &r.address_code, &r.ethnicity};
  size_t field = 0;
  for (char c : raw) {
    if (c == '\x1f') {
      if (++field == 11) break;
      continue;
    }
    fields[field]->push_back(c);
  }
  NormalizeOptions options;
  options.today = absl::CivilDay(2026, 3, 1);
  options.county_hint = "450321";
  NormalizedPatient p;
  Normalize(r, options, &p);
  for (const Finding& f : p.findings) {
    if (f.field.empty() || f.code.empty() || f.message.empty()) std::abort();
    if (!IsValidUtf8(f.message)) std::abort();  // messages never echo invalid bytes
    if (f.code.substr(0, f.field.size()) != f.field) std::abort();
  }
  // Reusing the output gives the same findings.
  NormalizedPatient again;
  Normalize(r, options, &again);
  Normalize(r, options, &p);
  if (p.findings.size() != again.findings.size()) std::abort();
  return 0;
}
