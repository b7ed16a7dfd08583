// FHIR R4 JSON -> county records (hisbridge.v1.Record) and demographics.
//
// MapRequest turns what a clinic sends to the FHIR facade into the records
// it means, or into the OperationOutcome issues that say why it cannot:
//
//   POST [base]/Patient|Encounter|Observation|MedicationRequest   one resource
//   PUT  [base]/<type>/<id>                                      the same, with its id
//   DELETE [base]/Patient/<id>                                   a patient delete
//   POST [base]  a Bundle of type transaction (all or nothing) or batch
//                (each entry on its own), entries POST, PUT or DELETE
//
// Steps: parse the JSON (libs/fhir/json.h), check the FHIR structure
// strictly (schema.h), resolve references inside the Bundle (urn:uuid:
// fullUrls, "Patient/123", contained "#id"), map each resource (the tables
// are in docs/connectors.md), and validate every record with the rules
// ingest applies (libs/records/validate.h), naming the FHIR element a
// record field came from ("Patient.identifier[1].value (record_id): ...").
// Every problem is reported, not only the first.
//
//   Patient            a patient upsert (op "merge" per link.type "replaces"; DELETE: op "delete")
//   Encounter          an encounter (diagnoses from reasonCode and from the
//                      Conditions diagnosis[].condition points to)
//   Observation        an observation; one per component (blood pressure
//                      panels) when it has components
//   MedicationRequest  a medication
//   Organization, Medication, Condition  read where a mapped resource refers
//                      to them (facility codes, drugs, diagnoses); not records
//
// MapMatchParameters reads the input of Patient/$match (a Parameters
// resource with a Patient, count and onlyCertainMatches, or the Patient
// alone) into the demographics QueryService.Match takes.
//
// No I/O, no gRPC: the request time and the facility default come in
// through MappingOptions, so the same input always maps the same way (and
// the mapping can be fuzzed).
//
// Thread safety: pure functions.
#ifndef HISBRIDGE_LIBS_FHIR_MAPPING_H_
#define HISBRIDGE_LIBS_FHIR_MAPPING_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "hisbridge/v1/patient.pb.h"
#include "hisbridge/v1/records.pb.h"
#include "libs/fhir/outcome.h"

namespace hisbridge::fhir {

// Where a Patient.identifier goes in the county record.
enum class IdentifierTarget { kRecordId, kIdNumber, kInsuranceId, kHealthCardId };

// One row of the identifier system table: Identifier.system (exactly) ->
// record field; with kIdNumber also the CV02.01.101 document type.
struct IdentifierSystem {
  std::string system;
  IdentifierTarget target = IdentifierTarget::kIdNumber;
  std::string id_type;
};

// The mainland resident identity card.
inline constexpr char kResidentIdSystem[] = "urn:oid:2.16.156.10011.1.1";
// hisbridge's extensions (documented in docs/connectors.md).
inline constexpr char kEthnicityExtension[] = "urn:hisbridge:fhir:ethnicity";
inline constexpr char kAddressCodeExtension[] = "urn:hisbridge:fhir:address-code";

// The built-in table: the resident identity card, and the two Taiwan
// documents of the TW Core examples (national id, resident certificate) as
// "other" (99). Identifiers of other systems are recognised by their
// Identifier.type code instead (v2-0203 MR/PI/PT record number, NNCHN
// resident id, PPN passport, DL driving licence, PRC permanent residence,
// MC insurance, HC health card).
std::vector<IdentifierSystem> DefaultIdentifierSystems();

// Reads a table, one row per line: "system,field[,id_type]" with field one
// of record_id, id_number, insurance_id, health_card_id; '#' comments.
// Errors name the line.
absl::StatusOr<std::vector<IdentifierSystem>> ParseIdentifierSystems(absl::string_view text);

struct MappingOptions {
  std::vector<IdentifierSystem> identifier_systems = DefaultIdentifierSystems();
  // Organization identifier systems whose value is a facility_id (机构代码);
  // empty: an Organization's first identifier with a value.
  std::vector<std::string> facility_systems;
  // facility_id of resources that name no facility of their own (the
  // request's X-Hisbridge-Facility header, else --facility).
  std::string default_facility;
  std::vector<std::string> ethnicity_extensions = {kEthnicityExtension};
  // Zone of dates without a time (an encounter on "2026-03-01").
  absl::TimeZone default_zone = absl::FixedTimeZone(8 * 3600);
  // The request time: event_time of a Patient without meta.lastUpdated and
  // of events without a time of their own.
  absl::Time now = absl::UnixEpoch();
};

struct MappedEntry {
  // Bundle.entry index; -1 for a resource sent on its own.
  int index = -1;
  std::string resource_type;
  // POST, PUT or DELETE.
  std::string method;
  // FHIRPath of the resource: "Patient", "Bundle.entry[2].resource".
  std::string path;
  std::vector<hisbridge::v1::Record> records;
  // Errors, warnings and information about this entry.
  std::vector<Issue> issues;
  // The id the facade answers with: the source identity
  // "<facility_id>|<record_id>" of a Patient, the event id of an event.
  std::string id;
  // An Organization, Medication or Condition read to resolve references:
  // accepted, but no record of its own.
  bool context_only = false;

  bool ok() const { return !HasErrors(issues); }
};

enum class RequestKind { kResource, kTransaction, kBatch };

struct MappedRequest {
  RequestKind kind = RequestKind::kResource;
  std::vector<MappedEntry> entries;
  // Problems with the request as a whole: not JSON, a wrong resourceType
  // for the endpoint, an unsupported Bundle type, duplicate fullUrls.
  std::vector<Issue> issues;
  // Bundle.identifier.value (or the resource's own id), for request ids.
  std::string identifier;

  // No error anywhere (request or entries).
  bool ok() const;
  // The request's issues followed by every entry's.
  std::vector<Issue> AllIssues() const;
  // Every entry's records in the order they are applied: deletes, patients,
  // encounters, observations, medications (each in entry order). With
  // `entry_of`, the index into `entries` of each record.
  std::vector<hisbridge::v1::Record> OrderedRecords(std::vector<size_t>* entry_of = nullptr) const;
};

struct Request {
  // POST, PUT or DELETE.
  std::string method = "POST";
  // The endpoint's resource type ("Patient"); empty for [base] (a Bundle).
  std::string type;
  // The id of PUT/DELETE [base]/<type>/<id> (URL-decoded).
  std::string id;
  absl::string_view body;
};

MappedRequest MapRequest(const Request& request, const MappingOptions& options);

// The input of Patient/$match.
struct MatchQuery {
  hisbridge::v1::Demographics demographics;
  // At most this many candidates (FHIR `count`; default 10).
  int count = 10;
  bool only_certain = false;
  std::vector<Issue> issues;
  bool ok() const { return !HasErrors(issues); }
};

MatchQuery MapMatchParameters(absl::string_view body, const MappingOptions& options);

// "450321-WS-003|MZ00017" <-> (facility_id, record_id). Split returns false
// when `id` has no '|'.
std::string SourceIdentity(absl::string_view facility_id, absl::string_view record_id);
bool SplitSourceIdentity(absl::string_view id, std::string* facility_id, std::string* record_id);

}  // namespace hisbridge::fhir

#endif  // HISBRIDGE_LIBS_FHIR_MAPPING_H_
