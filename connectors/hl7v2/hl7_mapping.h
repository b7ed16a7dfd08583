// HL7 v2 messages -> county records (hisbridge.v1.Record).
//
// MapMessage turns one parsed message into the records it means:
//   ADT^A01/A04/A05/A08/A28/A31  a patient upsert (PID), plus an encounter
//                                when PV1-19 carries a visit number
//   ADT^A03/A11                  an encounter (PV1/PV2/DG1); PV1-19 required
//   ADT^A40                      a merge per PID/MRG group: PID-3 survives,
//                                MRG-1 is folded into it
//   ORU^R01                      an observation per OBX (PID, OBR, OBX)
// and says, per record field, which HL7 field it came from so that a
// validation error can name "PID-3" rather than "record_id".
// docs/connectors.md lists every field.
//
// A message type outside that list is AR (table 0357 code 200/201); a
// supported message without what its records need (no PID-3 identifier of a
// record-id type, no MRG-1, no timestamp, ...) is AE naming the field.
//
// Thread safety: pure function of its inputs.
#ifndef HISBRIDGE_CONNECTORS_HL7V2_HL7_MAPPING_H_
#define HISBRIDGE_CONNECTORS_HL7V2_HL7_MAPPING_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/hl7/ack.h"
#include "libs/hl7/message.h"

namespace hisbridge::connectors::hl7v2 {

struct MappingOptions {
  // facility_id for every message; empty means "from MSH-4".
  std::string facility;
  // MSH-4 namespace id (or universal id) -> facility_id.
  std::map<std::string, std::string> facility_map;
  // PID-3 / MRG-1 identifier type codes (CX.5) that are the facility's own
  // patient number (record_id), in order of preference.
  std::vector<std::string> record_id_types = {"MR", "PI", "PT"};
  // CX.5 codes that mark a resident identity card number (id_number).
  std::vector<std::string> id_number_types = {"NNCHN", "NI", "CZ", "RI", "身份证"};
  // CX.4 assigning authorities that mark one.
  std::vector<std::string> id_number_authorities = {"CHN", "NNCHN", "公安部"};
  // CX.5 codes for the insurance number and the resident health card.
  std::vector<std::string> insurance_types = {"MI", "MC", "YB", "SI"};
  std::vector<std::string> health_card_types = {"HC", "JK"};
  // Zone of HL7 timestamps that carry no offset.
  absl::TimeZone default_zone = absl::FixedTimeZone(8 * 3600);
};

struct MappedRecord {
  hisbridge::v1::Record record;
  // Record field name ("record_id", "event_time", ...) -> where it came from.
  std::map<std::string, hl7::Location> origins;
  // The segment the record stands for (for whole-record errors).
  hl7::Location segment;
};

struct MappedMessage {
  std::vector<MappedRecord> records;
  // Empty when the message maps cleanly.
  std::vector<hl7::Issue> errors;
  // kReject for messages we cannot process at all, kError for application
  // errors, kAccept otherwise.
  hl7::AckCode code = hl7::AckCode::kAccept;
};

MappedMessage MapMessage(const hl7::Message& message, const MappingOptions& options);

// HL7 TS (YYYY[MM[DD[HH[MM[SS[.S...]]]]]][+/-ZZZZ]) -> RFC 3339, at least to
// the day; `default_zone` applies when no offset is given.
absl::StatusOr<std::string> Hl7TimeToRfc3339(absl::string_view ts, absl::TimeZone default_zone);

// "1 message types: ADT^A01, ..." for --help and docs.
std::string SupportedMessageTypes();

}  // namespace hisbridge::connectors::hl7v2

#endif  // HISBRIDGE_CONNECTORS_HL7V2_HL7_MAPPING_H_
