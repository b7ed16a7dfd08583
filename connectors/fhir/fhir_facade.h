// The FHIR R4 facade: what each HTTP request to [base] means and what it is
// answered, independent of the HTTP library (http_server.h carries the
// bytes).
//
//   GET    [base]/metadata                   CapabilityStatement
//   POST   [base]/Patient|Encounter|Observation|MedicationRequest
//                                            create: 201 Created + Location
//   PUT    [base]/<type>/<id>                update: 200 OK (an upsert)
//   DELETE [base]/Patient/<id>               a patient delete: 200 OK
//   POST   [base]                            transaction (all or nothing) or
//                                            batch (per entry) Bundle
//   GET    [base]/Patient/<id>               the unified patient (QueryService)
//   POST   [base]/Patient/$match             graded candidates (QueryService.Match)
//
// Writes: the body is mapped and validated (libs/fhir), then handed to the
// shared Forwarder as one unit (a transaction: all its records; a batch:
// one unit per entry). The request is answered 200/201 only once the unit
// is durable: ingest accepted it (Kafka acks=all) or it is fsync'ed in the
// local spool while ingest or Kafka is away. Not durable (spool full,
// ingest refusing the call) is 503 with Retry-After; nothing is answered
// "created" that could be lost. Every error is an OperationOutcome with
// the FHIRPath of each problem; every refused write is also appended to
// the reject log with its issues and the body (base64).
//
// Ids: a Patient's Location is [base]/Patient/<facility_id>|<record_id>
// (URL-encoded): its source identity, known at once and stable even while
// the record waits in the spool. GET accepts that form (LookupBySource)
// and unified patient ids (GetPatient); the Patient returned has the
// unified id.
//
// Access control (FhirFacadeOptions::authorizer, from `--policy`): the
// caller is the HTTPS client certificate's identity, judged by the same
// policy file and rules as the gRPC services (libs/security): writes need
// role clinic and a facility the policy gives that identity, for every
// record of the request; reads and $match need role reader or steward and
// a purpose of use (X-Purpose-Of-Use, or the configured default).
// Refusals are 401/403 OperationOutcomes with code "forbidden" naming the
// rule; refused writes go to the reject log. Reads pass the caller's
// identity on to QueryService (x-hisbridge-on-behalf-of), whose access log
// records it beside the facade's own identity. Without an authorizer
// (plaintext development) every caller may do everything.
//
// Thread safety: Handle() is called concurrently by the HTTP server's
// threads; it blocks until the records are durable or refused (bounded by
// the Forwarder's ingest deadline) or until a query deadline.
#ifndef HISBRIDGE_CONNECTORS_FHIR_FHIR_FACADE_H_
#define HISBRIDGE_CONNECTORS_FHIR_FHIR_FACADE_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "connectors/fhir/patient_query.h"
#include "libs/base/clock.h"
#include "libs/fhir/mapping.h"
#include "libs/fhir/outcome.h"
#include "libs/fhir/patient_resource.h"
#include "libs/forward/forwarder.h"
#include "libs/metrics/registry.h"
#include "libs/security/authorizer.h"

namespace hisbridge::connectors::fhir {

struct HttpRequest {
  std::string method;
  // The request target's path as received (percent-encoded), without the
  // query string: "/fhir/Patient/450321-WS-003%7CMZ00017".
  std::string path;
  std::multimap<std::string, std::string> params;
  // Header names in lower case.
  std::map<std::string, std::string> headers;
  std::string body;
  // "ip:port", or "<client certificate CN>@ip:port" over HTTPS.
  std::string peer;
  // Arrived over HTTPS (then Location and fullUrl say https).
  bool tls = false;
  // The verified client certificate's common name; "" on plaintext.
  std::string identity;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/fhir+json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct FhirFacadeOptions {
  // Where the FHIR endpoints live on the server.
  std::string base_path = "/fhir";
  // Absolute base URL for Location and fullUrl ("https://fhir.county.cn/fhir");
  // empty: from the request's Host (and X-Forwarded-Proto) header.
  std::string base_url;
  // The mapping (identifier systems, facility default, zone); its `now`
  // and, with the X-Hisbridge-Facility header, `default_facility` are set
  // per request.
  hisbridge::fhir::MappingOptions mapping;
  hisbridge::fhir::ResourceOptions resources;
  hisbridge::fhir::MatchThresholds thresholds;
  // Purpose of use for reads when the client sends no X-Purpose-Of-Use.
  std::string default_purpose = "treatment";
  size_t max_body_bytes = 16 << 20;
  // JSON Lines file for every refused write; empty for none.
  std::string reject_log;
  // Who may read and write what (see above); null: everyone everything
  // (plaintext development). Not owned; must outlive the facade.
  const security::Authorizer* authorizer = nullptr;
  Clock* clock = RealClock();
};

struct FhirStats {
  int64_t accepted = 0;   // writes answered 200/201 (also per batch entry)
  int64_t spooled = 0;    // of which went to the spool
  int64_t rejected = 0;   // writes refused for their content or by the policy (4xx)
  int64_t failed = 0;     // writes valid but not durable (5xx)
  int64_t reads = 0;      // GET Patient answered 200
  int64_t matches = 0;    // $match answered 200
};

class FhirFacade {
 public:
  // `forwarder` and `query` must outlive the facade.
  FhirFacade(forward::Forwarder* forwarder, PatientQuery* query, FhirFacadeOptions options);

  HttpResponse Handle(const HttpRequest& request);

  FhirStats stats() const;
  const FhirFacadeOptions& options() const { return options_; }

 private:
  HttpResponse Store(const HttpRequest& request, const std::string& method, const std::string& type,
                     const std::string& id, const std::string& base_url);
  HttpResponse StoreBatch(const HttpRequest& request, const security::Caller& caller,
                          hisbridge::fhir::MappedRequest mapped, const std::string& base_url);
  HttpResponse Read(const HttpRequest& request, const std::string& id, const std::string& base_url);
  HttpResponse MatchPatients(const HttpRequest& request, const std::string& base_url);
  HttpResponse Capabilities(const std::string& base_url) const;
  // A refused write: counted, logged, appended to the reject log.
  HttpResponse Refuse(const HttpRequest& request, int status, const std::vector<hisbridge::fhir::Issue>& issues);
  void LogReject(const HttpRequest& request, int status, const std::vector<hisbridge::fhir::Issue>& issues);
  std::string BaseUrl(const HttpRequest& request) const;
  // The caller, if the policy lets it do `permission`; `method` names the
  // interaction in messages ("FHIR read Patient"). AccessRefusal() turns
  // the error into the answer.
  absl::StatusOr<security::Caller> Admit(const HttpRequest& request, security::Permission permission,
                                         absl::string_view method) const;
  // The policy's refusals of these records' facilities (one issue per
  // record at its entry's path); empty when all are allowed.
  std::vector<hisbridge::fhir::Issue> FacilityRefusals(const security::Caller& caller,
                                                       const std::vector<hisbridge::v1::Record>& records,
                                                       const std::vector<std::string>& paths) const;
  QueryContext Context(const HttpRequest& request, const security::Caller& caller) const;

  forward::Forwarder* forwarder_;
  PatientQuery* query_;
  FhirFacadeOptions options_;
  // Without options_.authorizer: the development authorizer (everyone may
  // do everything), so that one code path decides either way.
  const std::unique_ptr<security::Authorizer> allow_all_;
  const security::Authorizer* authorizer_;
  std::atomic<int64_t> accepted_{0}, spooled_{0}, rejected_{0}, failed_{0}, reads_{0}, matches_{0};
  std::mutex reject_mu_;
};

// An OperationOutcome response.
HttpResponse OutcomeResponse(int status, const std::vector<hisbridge::fhir::Issue>& issues);

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string UrlEncode(absl::string_view s);

// The facade's figures for Prometheus, read from stats() at scrape time:
//   hisbridge_fhir_writes_total{outcome}  counter, outcome = accepted (200/201,
//       per batch entry), rejected (4xx for their content), failed (valid
//       but not durable, 5xx)
//   hisbridge_fhir_spooled_writes_total   counter (accepted through the spool)
//   hisbridge_fhir_reads_total{interaction}  counter, read (GET Patient) or
//       match (Patient/$match), answered 200
// `facade` must outlive every scrape of the registry.
void AddFhirCollector(metrics::Registry* registry, const FhirFacade* facade);

}  // namespace hisbridge::connectors::fhir

#endif  // HISBRIDGE_CONNECTORS_FHIR_FHIR_FACADE_H_
