// HL7 v2 acknowledgements (original mode ACK) for a received message.
//
// BuildAck answers a message with MSA-1 AA (accepted), AE (application
// error: the message was understood but cannot be applied, e.g. a missing
// patient id) or AR (rejected: the message cannot be processed at all, e.g.
// an unknown message type or character set). Every issue becomes one ERR
// segment with its location (ERR-2, segment^sequence^field^repetition^
// component), its table 0357 code (ERR-3), severity E (ERR-4) and the
// human-readable reason (ERR-8); v2.3/v2.4 receivers also get ERR-1. MSA-3
// repeats the first reason for receivers that only show MSA.
//
// The ACK swaps sending and receiving application/facility, echoes MSH-10 in
// MSA-2, keeps the original MSH-11, MSH-12 and MSH-18, uses the standard
// delimiters, CR between segments, and is encoded in the original
// message's character set when it was known (UTF-8 otherwise).
//
// Thread safety: pure functions.
#ifndef HISBRIDGE_LIBS_HL7_ACK_H_
#define HISBRIDGE_LIBS_HL7_ACK_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/hl7/message.h"

namespace hisbridge::hl7 {

enum class AckCode { kAccept, kError, kReject };
// "AA", "AE", "AR".
absl::string_view AckCodeName(AckCode code);

struct AckOptions {
  // Our MSH-3 / MSH-4 when the original MSH-5 / MSH-6 were empty.
  std::string application = "HISBRIDGE";
  std::string facility;
  // Zone of MSH-7.
  absl::TimeZone zone = absl::FixedTimeZone(8 * 3600);
};

// The ACK bytes, without MLLP framing. `control_id` is the ACK's own MSH-10.
std::string BuildAck(const Header& original, AckCode code, const std::vector<Issue>& issues,
                     absl::string_view control_id, absl::Time now, const AckOptions& options = {});

// The parts of an ACK a client checks (tests, the benchmark, the MLLP client).
struct ParsedAck {
  std::string code;            // MSA-1
  std::string acked_control_id;  // MSA-2
  std::string text;            // MSA-3
  std::vector<Issue> errors;   // from ERR-2/ERR-3/ERR-8
};
// Reads an ACK; an unparseable one is INVALID_ARGUMENT.
absl::StatusOr<ParsedAck> ReadAck(absl::string_view bytes);

}  // namespace hisbridge::hl7

#endif  // HISBRIDGE_LIBS_HL7_ACK_H_
