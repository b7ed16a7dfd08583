#include "connectors/fhir/fhir_facade.h"

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/base/logging.h"
#include "libs/base/time_format.h"
#include "libs/fhir/json.h"
#include "libs/security/policy.h"

namespace hisbridge::connectors::fhir {
namespace {

using hisbridge::fhir::Issue;
using hisbridge::fhir::IssueType;
using hisbridge::fhir::Json;
using hisbridge::fhir::MakeError;
using hisbridge::fhir::MakeInformation;
using hisbridge::fhir::MappedEntry;
using hisbridge::fhir::MappedRequest;
using hisbridge::fhir::RequestKind;

constexpr char kFacilityHeader[] = "x-hisbridge-facility";

bool IsWritableType(absl::string_view t) {
  return t == "Patient" || t == "Encounter" || t == "Observation" || t == "MedicationRequest";
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    int v = 0;
    if (s[i] == '%' && i + 2 < s.size() && absl::SimpleHexAtoi(s.substr(i + 1, 2), &v)) {
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Header(const HttpRequest& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : std::string(absl::StripAsciiWhitespace(it->second));
}

std::string Param(const HttpRequest& r, const std::string& name) {
  auto it = r.params.find(name);
  return it == r.params.end() ? "" : it->second;
}

// A stable digest of the body for request ids (FNV-1a, 64 bits).
std::string Digest(absl::string_view body) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

std::string EntryStatus(const std::string& method) {
  if (method == "POST") return "201 Created";
  if (method == "DELETE") return "204 No Content";
  return "200 OK";
}

Issue DeliveryNote(const forward::Delivery& d, size_t records) {
  if (d.path == forward::Delivery::Path::kSpool) {
    return MakeInformation("", absl::StrCat("stored in the local spool (", records,
                                            " records): ingest or Kafka is unreachable; they are forwarded, in "
                                            "order, when it returns"));
  }
  return MakeInformation("", absl::StrCat("accepted: ", records,
                                          " records appended to the county inbox (confirmed by ingest and Kafka)"));
}

// The issues of ingest refusing records the local validation accepted.
std::vector<Issue> IngestRefusals(const forward::Delivery& d, const std::vector<hisbridge::v1::Record>& records,
                                  const std::vector<std::string>& paths) {
  std::vector<Issue> out;
  if (d.path != forward::Delivery::Path::kIngest) return out;
  for (size_t i = 0; i < d.results.size() && i < records.size(); ++i) {
    const auto& r = d.results[i];
    if (r.outcome() != hisbridge::v1::RECORD_OUTCOME_REJECTED) continue;
    for (const auto& e : r.errors()) {
      out.push_back(MakeError(IssueType::kProcessing, i < paths.size() ? paths[i] : "",
                              absl::StrCat("ingest refused the ", records[i].kind(), " record: ", e.message(), " [",
                                           e.rule(), "]")));
    }
    if (r.errors().empty()) {
      out.push_back(MakeError(IssueType::kProcessing, i < paths.size() ? paths[i] : "",
                              absl::StrCat("ingest refused the ", records[i].kind(), " record")));
    }
  }
  return out;
}

std::vector<Issue> NonErrors(const std::vector<Issue>& issues) {
  std::vector<Issue> out;
  for (const Issue& i : issues) {
    if (!i.is_error()) out.push_back(i);
  }
  return out;
}

HttpResponse JsonResponse(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = hisbridge::fhir::WriteJson(body);
  return r;
}

// A query error as the FHIR status and issue.
HttpResponse QueryError(const absl::Status& s, const std::string& what) {
  std::vector<std::pair<std::string, std::string>> headers;
  int status = 500;
  IssueType type = IssueType::kException;
  std::string text = std::string(s.message());
  switch (s.code()) {
    case absl::StatusCode::kNotFound:
      status = 404;
      type = IssueType::kNotFound;
      text = absl::StrCat(what, " is not known: ", s.message());
      break;
    case absl::StatusCode::kUnavailable:
      status = 503;
      type = IssueType::kTransient;
      text = absl::StrCat("the query service is unreachable; try again: ", s.message());
      headers.emplace_back("Retry-After", "5");
      break;
    case absl::StatusCode::kDeadlineExceeded:
      status = 504;
      type = IssueType::kTimeout;
      text = absl::StrCat("the query service did not answer in time: ", s.message());
      break;
    case absl::StatusCode::kUnimplemented:
      status = 501;
      type = IssueType::kNotSupported;
      text = absl::StrCat("the query service does not implement this yet: ", s.message());
      break;
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
      status = 403;
      type = IssueType::kForbidden;
      break;
    case absl::StatusCode::kInvalidArgument:
      status = 400;
      type = IssueType::kInvalid;
      break;
    default: break;
  }
  HttpResponse r = OutcomeResponse(status, {MakeError(type, "", text)});
  r.headers = std::move(headers);
  return r;
}

// The status and issue of a request the policy refuses: 401 without a
// verified certificate, 400 for a purpose of use that is not one, 403
// otherwise; the message names the identity and the rule.
std::pair<int, Issue> AccessRefusal(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnauthenticated:
      return {401, MakeError(IssueType::kForbidden, "", std::string(s.message()))};
    case absl::StatusCode::kInvalidArgument:
      return {400, MakeError(IssueType::kValue, "", std::string(s.message()))};
    default: return {403, MakeError(IssueType::kForbidden, "", std::string(s.message()))};
  }
}

}  // namespace

HttpResponse OutcomeResponse(int status, const std::vector<Issue>& issues) {
  return JsonResponse(status, hisbridge::fhir::OperationOutcomeJson(issues));
}

std::string UrlEncode(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  // absl::Hex writes lower case; RFC 3986 recommends upper.
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '%' && i + 2 < out.size()) {
      out[i + 1] = absl::ascii_toupper(out[i + 1]);
      out[i + 2] = absl::ascii_toupper(out[i + 2]);
    }
  }
  return out;
}

FhirFacade::FhirFacade(forward::Forwarder* forwarder, PatientQuery* query, FhirFacadeOptions options)
    : forwarder_(forwarder), query_(query), options_(std::move(options)),
      allow_all_(options_.authorizer == nullptr ? security::Authorizer::AllowAllForDevelopment() : nullptr),
      authorizer_(options_.authorizer != nullptr ? options_.authorizer : allow_all_.get()) {}

FhirStats FhirFacade::stats() const {
  FhirStats s;
  s.accepted = accepted_.load();
  s.spooled = spooled_.load();
  s.rejected = rejected_.load();
  s.failed = failed_.load();
  s.reads = reads_.load();
  s.matches = matches_.load();
  return s;
}

void AddFhirCollector(metrics::Registry* registry, const FhirFacade* facade) {
  registry->AddCollector([facade](metrics::MetricWriter& out) {
    const FhirStats s = facade->stats();
    constexpr const char* kWrites =
        "FHIR writes (resources, or entries of a batch/transaction Bundle) by outcome: accepted once durable, "
        "rejected for their content (4xx, in the reject log), failed while valid (5xx, not durable).";
    out.Counter("hisbridge_fhir_writes_total", kWrites, {{"outcome", "accepted"}}, static_cast<double>(s.accepted));
    out.Counter("hisbridge_fhir_writes_total", kWrites, {{"outcome", "rejected"}}, static_cast<double>(s.rejected));
    out.Counter("hisbridge_fhir_writes_total", kWrites, {{"outcome", "failed"}}, static_cast<double>(s.failed));
    out.Counter("hisbridge_fhir_spooled_writes_total",
                "Accepted writes that went through the spool (ingest or Kafka unreachable).", {},
                static_cast<double>(s.spooled));
    constexpr const char* kReads = "FHIR reads answered 200: GET Patient/<id> (read) and Patient/$match (match).";
    out.Counter("hisbridge_fhir_reads_total", kReads, {{"interaction", "read"}}, static_cast<double>(s.reads));
    out.Counter("hisbridge_fhir_reads_total", kReads, {{"interaction", "match"}}, static_cast<double>(s.matches));
  });
}

std::string FhirFacade::BaseUrl(const HttpRequest& request) const {
  if (!options_.base_url.empty()) return options_.base_url;
  std::string host = Header(request, "host");
  if (host.empty()) host = "localhost";
  std::string scheme = absl::AsciiStrToLower(Header(request, "x-forwarded-proto"));
  if (request.tls) scheme = "https";  // whatever a proxy header says
  if (scheme != "https") scheme = "http";
  return absl::StrCat(scheme, "://", host, options_.base_path);
}

absl::StatusOr<security::Caller> FhirFacade::Admit(const HttpRequest& request, security::Permission permission,
                                                   absl::string_view method) const {
  security::CallerClaims claims;
  claims.identity = request.identity;
  claims.purpose = Header(request, security::kPurposeHeader);
  if (claims.purpose.empty()) claims.purpose = options_.default_purpose;
  return authorizer_->AuthorizeIdentity(claims, permission, method);
}

std::vector<Issue> FhirFacade::FacilityRefusals(const security::Caller& caller,
                                                const std::vector<hisbridge::v1::Record>& records,
                                                const std::vector<std::string>& paths) const {
  std::vector<Issue> out;
  for (size_t i = 0; i < records.size(); ++i) {
    std::string why = authorizer_->FacilityRefusal(caller, records[i].facility_id());
    if (!why.empty()) out.push_back(MakeError(IssueType::kForbidden, i < paths.size() ? paths[i] : "", why));
  }
  return out;
}

QueryContext FhirFacade::Context(const HttpRequest& request, const security::Caller& caller) const {
  QueryContext c;
  c.purpose = caller.purpose;
  c.on_behalf_of = request.identity;
  return c;
}

HttpResponse FhirFacade::Handle(const HttpRequest& request) {
  HttpResponse response = [&]() -> HttpResponse {
    absl::string_view path = request.path;
    if (!absl::ConsumePrefix(&path, options_.base_path) || (!path.empty() && path[0] != '/')) {
      return OutcomeResponse(404, {MakeError(IssueType::kNotFound, "",
                                             absl::StrCat("no FHIR endpoint at ", request.path, "; the FHIR base is ",
                                                          options_.base_path))});
    }
    std::vector<std::string> segments;
    for (absl::string_view s : absl::StrSplit(path, '/', absl::SkipEmpty())) segments.push_back(PercentDecode(s));
    const std::string method = absl::AsciiStrToUpper(request.method);

    // JSON only: _format overrides Accept (FHIR http.html#mime-type).
    const std::string format = absl::AsciiStrToLower(Param(request, "_format"));
    const std::string accept = absl::AsciiStrToLower(Header(request, "accept"));
    const bool json_format = format.empty() || format == "json" || absl::StrContains(format, "json");
    const bool json_accept = !format.empty() || accept.empty() || absl::StrContains(accept, "json") ||
                             absl::StrContains(accept, "*/*");
    if (!json_format || !json_accept) {
      return OutcomeResponse(406, {MakeError(IssueType::kNotSupported, "",
                                             absl::StrCat("this server speaks FHIR JSON only (application/fhir+json); "
                                                          "asked for ",
                                                          format.empty() ? accept : format))});
    }
    if (method == "POST" || method == "PUT") {
      const std::string content_type = absl::AsciiStrToLower(Header(request, "content-type"));
      if (!content_type.empty() && !absl::StrContains(content_type, "json")) {
        return Refuse(request, 415,
                      {MakeError(IssueType::kNotSupported, "",
                                 absl::StrCat("Content-Type \"", content_type,
                                              "\": send FHIR JSON (application/fhir+json)"))});
      }
      if (request.body.size() > options_.max_body_bytes) {
        return Refuse(request, 413,
                      {MakeError(IssueType::kTooCostly, "",
                                 absl::StrCat("the body has ", request.body.size(), " bytes; at most ",
                                              options_.max_body_bytes, " are accepted"))});
      }
    }
    const std::string base = BaseUrl(request);
    auto not_allowed = [&](const std::string& allow) {
      HttpResponse r = OutcomeResponse(
          405, {MakeError(IssueType::kNotSupported, "",
                          absl::StrCat(method, " ", request.path, " is not supported; allowed: ", allow))});
      r.headers.emplace_back("Allow", allow);
      return r;
    };

    if (segments.empty()) {
      if (method == "POST") return Store(request, method, "", "", base);
      return not_allowed("POST");
    }
    const std::string& type = segments[0];
    if (segments.size() == 1 && type == "metadata") {
      if (method == "GET") return Capabilities(base);
      return not_allowed("GET");
    }
    if (!IsWritableType(type)) {
      return OutcomeResponse(404, {MakeError(IssueType::kNotSupported, "",
                                             absl::StrCat("hisbridge has no ", type,
                                                          " endpoint: it serves Patient, Encounter, Observation and "
                                                          "MedicationRequest, and transactions at the base"))});
    }
    if (segments.size() == 1) {
      if (method == "POST") return Store(request, method, type, "", base);
      if (method == "GET") {
        return OutcomeResponse(501, {MakeError(IssueType::kNotSupported, "",
                                               absl::StrCat("search is not supported; use GET ", options_.base_path,
                                                            "/Patient/<id> or POST ", options_.base_path,
                                                            "/Patient/$match"))});
      }
      return not_allowed("POST");
    }
    if (segments.size() == 2 && type == "Patient" && segments[1] == "$match") {
      if (method == "POST") return MatchPatients(request, base);
      return not_allowed("POST");
    }
    if (segments.size() == 2) {
      const std::string& id = segments[1];
      if (method == "GET" && type == "Patient") return Read(request, id, base);
      if (method == "PUT") return Store(request, method, type, id, base);
      if (method == "DELETE" && type == "Patient") return Store(request, method, type, id, base);
      return not_allowed(type == "Patient" ? "GET, PUT, DELETE" : "PUT");
    }
    return OutcomeResponse(404, {MakeError(IssueType::kNotFound, "",
                                           absl::StrCat("no FHIR endpoint at ", request.path))});
  }();
  if (Param(request, "_pretty") == "true" && !response.body.empty()) {
    if (auto parsed = hisbridge::fhir::ParseJson(response.body); parsed.ok()) {
      response.body = hisbridge::fhir::WriteJson(*parsed, /*pretty=*/true);
    }
  }
  return response;
}

HttpResponse FhirFacade::Store(const HttpRequest& request, const std::string& method, const std::string& type,
                               const std::string& id, const std::string& base_url) {
  // Named as FHIR names the interactions, for the refusal's message.
  const std::string interaction =
      type.empty() ? "FHIR Bundle"
                   : absl::StrCat("FHIR ", method == "POST" ? "create" : method == "PUT" ? "update" : "delete", " ",
                                  type);
  absl::StatusOr<security::Caller> caller = Admit(request, security::Permission::kSubmit, interaction);
  if (!caller.ok()) {
    auto [status, issue] = AccessRefusal(caller.status());
    return Refuse(request, status, {issue});
  }
  hisbridge::fhir::MappingOptions mapping = options_.mapping;
  mapping.now = options_.clock->Now();
  if (std::string facility = Header(request, kFacilityHeader); !facility.empty()) {
    mapping.default_facility = facility;
  }
  hisbridge::fhir::Request r;
  r.method = method;
  r.type = type;
  r.id = id;
  r.body = request.body;
  MappedRequest mapped = hisbridge::fhir::MapRequest(r, mapping);
  if (mapped.kind == RequestKind::kBatch && !hisbridge::fhir::HasErrors(mapped.issues)) {
    return StoreBatch(request, *caller, std::move(mapped), base_url);
  }
  if (!mapped.ok()) return Refuse(request, 400, mapped.AllIssues());
  std::vector<size_t> entry_of;
  std::vector<hisbridge::v1::Record> records = mapped.OrderedRecords(&entry_of);
  if (records.empty()) {
    return Refuse(request, 400,
                  {MakeError(IssueType::kProcessing, "",
                             "the transaction holds nothing hisbridge stores (only resources other entries "
                             "would refer to)")});
  }
  std::vector<std::string> paths;
  for (size_t i : entry_of) paths.push_back(mapped.entries[i].path);
  // All or nothing, as for the rest of a transaction: one record for a
  // facility the caller may not write for refuses the whole request.
  if (std::vector<Issue> forbidden = FacilityRefusals(*caller, records, paths); !forbidden.empty()) {
    return Refuse(request, 403, forbidden);
  }
  const std::string request_id =
      absl::StrCat("fhir:", records.front().facility_id(), ":",
                   mapped.identifier.empty() ? Digest(request.body) : mapped.identifier);
  forward::Delivery delivery = forwarder_->SubmitAndWait(records, request_id);
  if (!delivery.status.ok()) {
    ++failed_;
    std::vector<Issue> issues = {MakeError(IssueType::kTransient, "",
                                           absl::StrCat("the resources are valid but could not be stored: ",
                                                        delivery.status.message(), "; send them again later"))};
    LogReject(request, 503, issues);
    HttpResponse out = OutcomeResponse(503, issues);
    out.headers.emplace_back("Retry-After", "30");
    return out;
  }
  std::vector<Issue> refused = IngestRefusals(delivery, records, paths);
  if (!refused.empty()) {
    refused.push_back(MakeInformation(
        "", "ingest answers per record: the other records of this request were accepted; send the refused ones "
            "again once fixed"));
    return Refuse(request, 422, refused);
  }
  ++accepted_;
  if (delivery.path == forward::Delivery::Path::kSpool) ++spooled_;
  std::vector<Issue> notes = NonErrors(mapped.AllIssues());
  notes.insert(notes.begin(), DeliveryNote(delivery, records.size()));

  if (mapped.kind == RequestKind::kResource) {
    const MappedEntry& entry = mapped.entries.front();
    HttpResponse out;
    const bool minimal = absl::StrContains(Header(request, "prefer"), "return=minimal");
    if (minimal) {
      out.status = method == "POST" ? 201 : 200;
      out.content_type.clear();
    } else {
      out = OutcomeResponse(method == "POST" ? 201 : 200, notes);
    }
    if (method != "DELETE") {
      out.headers.emplace_back("Location", absl::StrCat(base_url, "/", type, "/", UrlEncode(entry.id)));
    }
    return out;
  }
  // A transaction: one response entry per request entry, in order.
  Json bundle = Json::Object();
  bundle.Set("resourceType", Json::String("Bundle"));
  bundle.Set("type", Json::String("transaction-response"));
  Json& entries = bundle.Set("entry", Json::Array());
  for (size_t i = 0; i < mapped.entries.size(); ++i) {
    const MappedEntry& e = mapped.entries[i];
    Json response = Json::Object();
    response.Set("status", Json::String(e.context_only ? "200 OK" : EntryStatus(e.method)));
    if (!e.context_only && e.method != "DELETE" && !e.id.empty()) {
      response.Set("location", Json::String(absl::StrCat(base_url, "/", e.resource_type, "/", UrlEncode(e.id))));
    }
    std::vector<Issue> entry_notes = NonErrors(e.issues);
    if (!e.records.empty()) entry_notes.insert(entry_notes.begin(), DeliveryNote(delivery, e.records.size()));
    if (!entry_notes.empty()) response.Set("outcome", hisbridge::fhir::OperationOutcomeJson(entry_notes));
    Json entry = Json::Object();
    entry.Set("response", std::move(response));
    entries.Append(std::move(entry));
  }
  return JsonResponse(200, bundle);
}

HttpResponse FhirFacade::StoreBatch(const HttpRequest& request, const security::Caller& caller, MappedRequest mapped,
                                    const std::string& base_url) {
  struct Slot {
    bool submitted = false;
    std::vector<Issue> forbidden;  // the policy's refusals of the entry's facilities
    forward::Delivery delivery;
  };
  std::vector<Slot> slots(mapped.entries.size());
  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;
  const std::string base_id = mapped.identifier.empty() ? Digest(request.body) : mapped.identifier;
  std::vector<Issue> refused;
  for (size_t i = 0; i < mapped.entries.size(); ++i) {
    MappedEntry& e = mapped.entries[i];
    if (!e.ok()) {
      ++rejected_;
      for (const Issue& issue : e.issues) {
        if (issue.is_error()) refused.push_back(issue);
      }
      continue;
    }
    if (e.records.empty()) continue;
    slots[i].forbidden = FacilityRefusals(caller, e.records, std::vector<std::string>(e.records.size(), e.path));
    if (!slots[i].forbidden.empty()) {
      ++rejected_;
      refused.insert(refused.end(), slots[i].forbidden.begin(), slots[i].forbidden.end());
      continue;
    }
    slots[i].submitted = true;
    {
      std::lock_guard<std::mutex> lock(mu);
      ++pending;
    }
    // Entries go to the Forwarder in Bundle order, each as its own unit.
    forwarder_->Submit(e.records, absl::StrCat("fhir:", e.records.front().facility_id(), ":", base_id, ":", i),
                       [&, i](forward::Delivery d) {
                         std::lock_guard<std::mutex> lock(mu);
                         slots[i].delivery = std::move(d);
                         if (--pending == 0) cv.notify_all();
                       });
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  }
  if (!refused.empty()) LogReject(request, 400, refused);

  Json bundle = Json::Object();
  bundle.Set("resourceType", Json::String("Bundle"));
  bundle.Set("type", Json::String("batch-response"));
  Json& entries = bundle.Set("entry", Json::Array());
  for (size_t i = 0; i < mapped.entries.size(); ++i) {
    const MappedEntry& e = mapped.entries[i];
    Json response = Json::Object();
    std::vector<Issue> outcome;
    if (!e.ok()) {
      response.Set("status", Json::String("400 Bad Request"));
      outcome = e.issues;
    } else if (!slots[i].forbidden.empty()) {
      response.Set("status", Json::String("403 Forbidden"));
      outcome = slots[i].forbidden;
    } else if (!slots[i].submitted) {
      response.Set("status", Json::String("200 OK"));
      outcome = e.issues;
    } else {
      const forward::Delivery& d = slots[i].delivery;
      std::vector<std::string> paths(e.records.size(), e.path);
      std::vector<Issue> ingest_refused = IngestRefusals(d, e.records, paths);
      if (!d.status.ok()) {
        ++failed_;
        response.Set("status", Json::String("503 Service Unavailable"));
        outcome = {MakeError(IssueType::kTransient, "",
                             absl::StrCat("valid but could not be stored: ", d.status.message(),
                                          "; send it again later"))};
      } else if (!ingest_refused.empty()) {
        ++rejected_;
        response.Set("status", Json::String("422 Unprocessable Entity"));
        outcome = ingest_refused;
      } else {
        ++accepted_;
        if (d.path == forward::Delivery::Path::kSpool) ++spooled_;
        response.Set("status", Json::String(EntryStatus(e.method)));
        if (e.method != "DELETE" && !e.id.empty()) {
          response.Set("location", Json::String(absl::StrCat(base_url, "/", e.resource_type, "/", UrlEncode(e.id))));
        }
        outcome = NonErrors(e.issues);
        outcome.insert(outcome.begin(), DeliveryNote(d, e.records.size()));
      }
    }
    if (!outcome.empty()) response.Set("outcome", hisbridge::fhir::OperationOutcomeJson(outcome));
    Json entry = Json::Object();
    entry.Set("response", std::move(response));
    entries.Append(std::move(entry));
  }
  return JsonResponse(200, bundle);
}

HttpResponse FhirFacade::Read(const HttpRequest& request, const std::string& id, const std::string& base_url) {
  absl::StatusOr<security::Caller> caller = Admit(request, security::Permission::kReadPatients, "FHIR read Patient");
  if (!caller.ok()) {
    auto [status, issue] = AccessRefusal(caller.status());
    return OutcomeResponse(status, {issue});
  }
  std::string facility, record;
  absl::StatusOr<hisbridge::v1::Patient> patient =
      hisbridge::fhir::SplitSourceIdentity(id, &facility, &record)
          ? query_->LookupBySource(facility, record, Context(request, *caller))
          : query_->GetPatient(id, Context(request, *caller));
  if (!patient.ok()) return QueryError(patient.status(), absl::StrCat("Patient/", id));
  ++reads_;
  hisbridge::fhir::ResourceOptions resources = options_.resources;
  resources.base_url = base_url;
  HttpResponse out = JsonResponse(200, hisbridge::fhir::PatientResource(*patient, resources));
  out.headers.emplace_back("ETag", absl::StrCat("W/\"", patient->version(), "\""));
  return out;
}

HttpResponse FhirFacade::MatchPatients(const HttpRequest& request, const std::string& base_url) {
  absl::StatusOr<security::Caller> caller =
      Admit(request, security::Permission::kReadPatients, "FHIR Patient/$match");
  if (!caller.ok()) {
    auto [status, issue] = AccessRefusal(caller.status());
    return OutcomeResponse(status, {issue});
  }
  hisbridge::fhir::MappingOptions mapping = options_.mapping;
  mapping.now = options_.clock->Now();
  hisbridge::fhir::MatchQuery q = hisbridge::fhir::MapMatchParameters(request.body, mapping);
  if (!q.ok()) return OutcomeResponse(400, q.issues);
  hisbridge::v1::MatchRequest match;
  *match.mutable_demographics() = q.demographics;
  match.set_limit(q.count);
  absl::StatusOr<hisbridge::v1::MatchResponse> response = query_->Match(match, Context(request, *caller));
  if (!response.ok()) return QueryError(response.status(), "the patient to match");
  ++matches_;
  hisbridge::fhir::ResourceOptions resources = options_.resources;
  resources.base_url = base_url;
  return JsonResponse(
      200, hisbridge::fhir::MatchBundle(*response, q.count, q.only_certain, resources, options_.thresholds));
}

HttpResponse FhirFacade::Capabilities(const std::string& base_url) const {
  auto str = [](absl::string_view s) { return Json::String(std::string(s)); };
  auto codes = [&](std::initializer_list<const char*> list, const char* key) {
    Json out = Json::Array();
    for (const char* c : list) {
      Json o = Json::Object();
      o.Set(key, str(c));
      out.Append(std::move(o));
    }
    return out;
  };
  Json c = Json::Object();
  c.Set("resourceType", str("CapabilityStatement"));
  c.Set("status", str("active"));
  c.Set("date", str(FormatRfc3339(options_.clock->Now())));
  c.Set("kind", str("instance"));
  c.Set("software", Json::Object()).Set("name", str("hisbridge FHIR facade"));
  Json& impl = c.Set("implementation", Json::Object());
  impl.Set("description", str("County record intake (Patient, Encounter, Observation, MedicationRequest) and the "
                              "unified patient index (read, $match)"));
  impl.Set("url", str(base_url));
  c.Set("fhirVersion", str("4.0.1"));
  c.Set("format", Json::Array()).Append(str("application/fhir+json"));
  Json rest = Json::Object();
  rest.Set("mode", str("server"));
  Json resources = Json::Array();
  for (const char* type : {"Patient", "Encounter", "Observation", "MedicationRequest"}) {
    Json r = Json::Object();
    r.Set("type", str(type));
    const bool patient = std::string(type) == "Patient";
    r.Set("interaction", patient ? codes({"create", "update", "delete", "read"}, "code")
                                 : codes({"create", "update"}, "code"));
    if (patient) {
      Json op = Json::Object();
      op.Set("name", str("match"));
      op.Set("definition", str("http://hl7.org/fhir/OperationDefinition/Patient-match"));
      r.Set("operation", Json::Array()).Append(std::move(op));
    }
    resources.Append(std::move(r));
  }
  // What a client must present, so that an integrator reads it off the
  // server rather than learning it from a 403.
  Json& access = rest.Set("security", Json::Object());
  access.Set("cors", Json::Bool(false));
  access.Set("description",
               str(!authorizer_->plaintext()
                       ? absl::StrCat("Mutual TLS: a client certificate of the county CA is required. Its common "
                                      "name is judged by the county's access policy: role clinic creates, updates "
                                      "and deletes records of its own facilities only; roles reader and steward read "
                                      "Patient and use $match, stating why in X-Purpose-Of-Use (",
                                      absl::StrJoin(security::PurposesOfUse(), ", "),
                                      "). Refusals are 401/403 OperationOutcomes naming the rule.")
                       : "No access control: development mode, every caller may read and write."));
  rest.Set("resource", std::move(resources));
  rest.Set("interaction", codes({"transaction", "batch"}, "code"));
  c.Set("rest", Json::Array()).Append(std::move(rest));
  return JsonResponse(200, c);
}

HttpResponse FhirFacade::Refuse(const HttpRequest& request, int status, const std::vector<Issue>& issues) {
  ++rejected_;
  LogReject(request, status, issues);
  return OutcomeResponse(status, issues);
}

void FhirFacade::LogReject(const HttpRequest& request, int status, const std::vector<Issue>& issues) {
  std::string first;
  for (const Issue& i : issues) {
    if (i.is_error()) {
      first = i.diagnostics;  // it names the element itself
      break;
    }
  }
  log::Warning("fhir: request not accepted", {{"status", status},
                                              {"method", request.method},
                                              {"path", request.path},
                                              {"peer", request.peer},
                                              {"reason", first}});
  if (options_.reject_log.empty()) return;
  Json line = Json::Object();
  line.Set("time", Json::String(FormatRfc3339(options_.clock->Now())));
  line.Set("peer", Json::String(request.peer));
  line.Set("method", Json::String(request.method));
  line.Set("path", Json::String(request.path));
  line.Set("status", Json::Integer(status));
  line.Set("outcome", hisbridge::fhir::OperationOutcomeJson(issues));
  line.Set("body_base64", Json::String(absl::Base64Escape(request.body)));
  const std::string text = hisbridge::fhir::WriteJson(line) + "\n";
  std::lock_guard<std::mutex> lock(reject_mu_);
  const int fd = ::open(options_.reject_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    log::Error("fhir: cannot write the reject log", {{"path", options_.reject_log}});
  }
  if (fd >= 0) ::close(fd);
}

}  // namespace hisbridge::connectors::fhir
