// The facade over real HTTP (cpp-httplib on port 0) against a fake ingest
// (through the real Forwarder and spool) and a fake QueryService.
#include "connectors/fhir/fhir_facade.h"

#include <httplib.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "connectors/fhir/http_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/metrics/registry.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/fhir/json.h"
#include "libs/security/dev_certs.h"
#include "libs/security/policy.h"

namespace hisbridge::connectors::fhir {
namespace {

using hisbridge::fhir::Json;
using hisbridge::fhir::ParseJson;
using hisbridge::v1::Record;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Testdata(const std::string& name) {
  return ReadFileToString(std::string(HISBRIDGE_FHIR_TESTDATA) + "/" + name).value();
}

// An ingest that can be switched off or told to refuse a record id; it
// keeps every call's records.
class FakeIngest : public forward::IngestClient {
 public:
  absl::StatusOr<hisbridge::v1::SubmitResponse> Submit(const hisbridge::v1::SubmitRequest& request,
                                                       absl::Duration) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down_) return absl::UnavailableError("connection refused");
    hisbridge::v1::SubmitResponse response;
    std::vector<Record> call;
    for (int i = 0; i < request.records_size(); ++i) {
      auto* r = response.add_results();
      r->set_index(i);
      if (request.records(i).record_id() == refuse_) {
        r->set_outcome(hisbridge::v1::RECORD_OUTCOME_REJECTED);
        auto* e = r->add_errors();
        e->set_field("facility_id");
        e->set_rule("permission");
        e->set_message("this clinic may not submit for that facility");
        continue;
      }
      r->set_outcome(hisbridge::v1::RECORD_OUTCOME_ACCEPTED);
      call.push_back(request.records(i));
    }
    calls_.push_back(call);
    request_ids_.push_back(request.request_id());
    return response;
  }
  void SetDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    down_ = down;
  }
  void Refuse(const std::string& record_id) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_ = record_id;
  }
  std::vector<std::vector<Record>> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<Record> records() {
    std::vector<Record> all;
    for (const auto& c : calls()) all.insert(all.end(), c.begin(), c.end());
    return all;
  }
  std::vector<std::string> request_ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return request_ids_;
  }

 private:
  std::mutex mu_;
  bool down_ = false;
  std::string refuse_;
  std::vector<std::vector<Record>> calls_;
  std::vector<std::string> request_ids_;
};

class FakeQuery : public PatientQuery {
 public:
  absl::StatusOr<hisbridge::v1::Patient> GetPatient(const std::string& id, const QueryContext& c) override {
    std::lock_guard<std::mutex> lock(mu_);
    on_behalf_of.push_back(c.on_behalf_of);
    calls.push_back(absl::StrCat("GetPatient ", id, " purpose=", c.purpose));
    if (!status.ok()) return status;
    if (id != patient.patient_id()) return absl::NotFoundError(absl::StrCat("no patient ", id));
    return patient;
  }
  absl::StatusOr<hisbridge::v1::Patient> LookupBySource(const std::string& f, const std::string& r,
                                                        const QueryContext& c) override {
    std::lock_guard<std::mutex> lock(mu_);
    on_behalf_of.push_back(c.on_behalf_of);
    calls.push_back(absl::StrCat("LookupBySource ", f, " ", r, " purpose=", c.purpose));
    if (!status.ok()) return status;
    return patient;
  }
  absl::StatusOr<hisbridge::v1::MatchResponse> Match(const hisbridge::v1::MatchRequest& request,
                                                     const QueryContext& c) override {
    std::lock_guard<std::mutex> lock(mu_);
    on_behalf_of.push_back(c.on_behalf_of);
    calls.push_back(absl::StrCat("Match ", request.demographics().name(), " limit=", request.limit()));
    if (!match_status.ok()) return match_status;
    return match;
  }
  std::mutex mu_;
  std::vector<std::string> calls;
  std::vector<std::string> on_behalf_of;  // of each call
  absl::Status status;
  absl::Status match_status;
  hisbridge::v1::Patient patient;
  hisbridge::v1::MatchResponse match;
};

class FhirFacadeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kError);
    dir_ = MakeTempDirectory("fhir_facade_test").value();
    query_.patient.set_patient_id("450321-P0000001");
    query_.patient.set_version(2);
    query_.patient.set_status(hisbridge::v1::PATIENT_STATUS_ACTIVE);
    query_.patient.mutable_demographics()->set_name("王小明");
    auto* s = query_.patient.add_sources();
    s->set_facility_id("450321-WS-003");
    s->set_record_id("MZ00017");
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (forwarder_) forwarder_->Stop();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  void Start(int64_t spool_max_bytes = int64_t{1} << 30, size_t max_body = 16 << 20, FhirTlsFiles tls = {}) {
    forward::ForwarderOptions fo;
    fo.spool.dir = dir_ + "/spool";
    fo.spool.max_bytes = spool_max_bytes;
    fo.initial_backoff = absl::Milliseconds(20);
    fo.max_backoff = absl::Milliseconds(100);
    auto ingest = std::make_unique<FakeIngest>();
    ingest_ = ingest.get();
    forwarder_ = forward::Forwarder::Start(fo, std::move(ingest)).value();
    FhirFacadeOptions o;
    o.reject_log = dir_ + "/rejected.jsonl";
    o.clock = &clock_;
    o.max_body_bytes = max_body;
    o.authorizer = authorizer_.get();
    facade_ = std::make_unique<FhirFacade>(forwarder_.get(), &query_, o);
    FhirServerOptions so;
    so.listen = "127.0.0.1:0";
    so.threads = 4;
    so.max_body_bytes = max_body;
    so.tls = std::move(tls);
    server_ = FhirHttpServer::Start(so, facade_.get()).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30, 0);
  }
  struct Answer {
    int status = 0;
    Json body;
    httplib::Headers headers;
    std::string header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };
  Answer Do(const std::string& method, const std::string& path, const std::string& body = "",
            httplib::Headers headers = {}, const std::string& content_type = "application/fhir+json") {
    httplib::Result r = [&] {
      if (method == "POST") return client_->Post(path.c_str(), headers, body, content_type.c_str());
      if (method == "PUT") return client_->Put(path.c_str(), headers, body, content_type.c_str());
      if (method == "DELETE") return client_->Delete(path.c_str(), headers);
      return client_->Get(path.c_str(), headers);
    }();
    Answer a;
    EXPECT_TRUE(r) << method << " " << path << ": " << httplib::to_string(r.error());
    if (!r) return a;
    a.status = r->status;
    a.headers = r->headers;
    if (!r->body.empty()) {
      auto parsed = ParseJson(r->body);
      EXPECT_TRUE(parsed.ok()) << r->body;
      if (parsed.ok()) a.body = std::move(*parsed);
    }
    return a;
  }
  // The expressions of the answer's OperationOutcome issues of `severity`.
  static std::vector<std::string> Expressions(const Json& outcome, const std::string& severity = "error") {
    std::vector<std::string> out;
    for (const Json& i : outcome.GetArray("issue")) {
      if (i.GetString("severity") != severity) continue;
      out.push_back(i.GetArray("expression").empty() ? "" : i.GetArray("expression")[0].string());
    }
    return out;
  }
  static std::string Diagnostics(const Json& outcome) {
    std::string out;
    for (const Json& i : outcome.GetArray("issue")) absl::StrAppend(&out, i.GetString("diagnostics"), "\n");
    return out;
  }

  // Calls straight into the facade as the client certificate `identity`
  // (what FhirHttpServer fills in over HTTPS).
  HttpResponse As(const std::string& identity, const std::string& method, const std::string& path,
                  const std::string& body = "", std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = method;
    r.path = path;
    r.body = body;
    r.headers = std::move(headers);
    r.identity = identity;
    r.peer = identity + "@127.0.0.1:1";
    r.tls = true;
    return facade_->Handle(r);
  }

  std::string dir_;
  std::unique_ptr<security::Authorizer> authorizer_;  // set before Start() for access control
  FakeClock clock_{absl::FromUnixSeconds(1772325000)};
  FakeIngest* ingest_ = nullptr;
  FakeQuery query_;
  std::unique_ptr<forward::Forwarder> forwarder_;
  std::unique_ptr<FhirFacade> facade_;
  std::unique_ptr<FhirHttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FhirFacadeTest, CreatePatientIs201WithItsSourceIdentity) {
  Start();
  Answer a = Do("POST", "/fhir/Patient", Testdata("patient-zh-wangxiaoming.json"));
  EXPECT_EQ(a.status, 201) << WriteJson(a.body);
  // (httplib's client decodes header values; the raw header is checked below.)
  EXPECT_EQ(a.header("Location"),
            absl::StrCat("http://127.0.0.1:", server_->port(), "/fhir/Patient/450321-WS-003|MZ00017"));
  HttpRequest direct;
  direct.method = "POST";
  direct.path = "/fhir/Patient";
  direct.headers["host"] = "fhir.county.example:8080";
  direct.body = Testdata("patient-zh-wangxiaoming.json");
  HttpResponse raw = facade_->Handle(direct);
  ASSERT_EQ(raw.headers.size(), 1u);
  EXPECT_EQ(raw.headers[0].first, "Location");
  EXPECT_EQ(raw.headers[0].second, "http://fhir.county.example:8080/fhir/Patient/450321-WS-003%7CMZ00017");
  EXPECT_EQ(a.header("Content-Type"), "application/fhir+json; charset=utf-8");
  EXPECT_EQ(a.body.GetString("resourceType"), "OperationOutcome");
  EXPECT_THAT(Diagnostics(a.body), HasSubstr("accepted: 1 records appended to the county inbox"));
  std::vector<Record> records = ingest_->records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name(), "王小明");
  EXPECT_EQ(records[0].record_id(), "MZ00017");
  EXPECT_EQ(ingest_->request_ids()[0].rfind("fhir:450321-WS-003:", 0), 0u);
  EXPECT_EQ(facade_->stats().accepted, 2);
  // Prefer: return=minimal leaves the body out.
  Answer minimal = Do("POST", "/fhir/Patient", Testdata("patient-zh-wangxiaoming.json"), {{"Prefer", "return=minimal"}});
  EXPECT_EQ(minimal.status, 201);
  EXPECT_TRUE(minimal.body.is_null());
}

TEST_F(FhirFacadeTest, InvalidResourcesGetAnOperationOutcomeWithThePathAndAreKept) {
  Start();
  Answer a = Do("POST", "/fhir/Patient", Testdata("invalid-patient-unknown-elements.json"), {{"X-Hisbridge-Facility", "F1"}});
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body.GetString("resourceType"), "OperationOutcome");
  EXPECT_THAT(Expressions(a.body), ElementsAre("Patient.name1", "Patient.identifier"));
  EXPECT_THAT(Diagnostics(a.body), HasSubstr("did you mean \"name\"?"));
  EXPECT_TRUE(ingest_->records().empty());
  EXPECT_EQ(facade_->stats().rejected, 1);
  // The reject log keeps the body and the outcome.
  auto log = ReadFileToString(dir_ + "/rejected.jsonl");
  ASSERT_TRUE(log.ok());
  auto line = ParseJson(std::vector<std::string>(absl::StrSplit(*log, '\n')).at(0));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->Find("status")->integer(), 400);
  std::string body;
  ASSERT_TRUE(absl::Base64Unescape(line->GetString("body_base64"), &body));
  EXPECT_EQ(body, Testdata("invalid-patient-unknown-elements.json"));
  EXPECT_EQ(line->Find("outcome")->GetString("resourceType"), "OperationOutcome");
  // Not JSON at all.
  Answer junk = Do("POST", "/fhir/Patient", "{\"resourceType\":");
  EXPECT_EQ(junk.status, 400);
  EXPECT_EQ(junk.body.GetArray("issue")[0].GetString("severity"), "fatal");
}

TEST_F(FhirFacadeTest, MetricsCountWritesByOutcome) {
  Start();
  metrics::Registry registry;
  AddFhirCollector(&registry, facade_.get());
  EXPECT_EQ(Do("POST", "/fhir/Patient", Testdata("patient-zh-wangxiaoming.json")).status, 201);
  EXPECT_EQ(Do("POST", "/fhir/Patient", Testdata("invalid-patient-unknown-elements.json"),
               {{"X-Hisbridge-Facility", "F1"}})
                .status,
            400);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("hisbridge_fhir_writes_total{outcome=\"accepted\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hisbridge_fhir_writes_total{outcome=\"rejected\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hisbridge_fhir_writes_total{outcome=\"failed\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("hisbridge_fhir_spooled_writes_total 0\n"));
  EXPECT_THAT(text, HasSubstr("hisbridge_fhir_reads_total{interaction=\"read\"} 0\n"));
}

TEST_F(FhirFacadeTest, TransactionIsOneUnitInApplyOrder) {
  Start();
  Answer a = Do("POST", "/fhir", Testdata("bundle-transaction-zh-hypertension.json"));
  ASSERT_EQ(a.status, 200) << WriteJson(a.body);
  EXPECT_EQ(a.body.GetString("type"), "transaction-response");
  std::vector<std::string> statuses;
  for (const Json& e : a.body.GetArray("entry")) statuses.push_back(e.Find("response")->GetString("status"));
  EXPECT_THAT(statuses, ElementsAre("200 OK", "201 Created", "201 Created", "200 OK", "201 Created", "201 Created"));
  EXPECT_THAT(a.body.GetArray("entry")[1].Find("response")->GetString("location"),
              HasSubstr("/fhir/Patient/450321-WS-003%7CMZ00017"));
  const std::vector<std::vector<Record>> calls = ingest_->calls();
  ASSERT_EQ(calls.size(), 1u);  // one Submit: all or nothing
  std::vector<std::string> kinds;
  for (const Record& r : calls[0]) kinds.push_back(r.kind());
  EXPECT_THAT(kinds, ElementsAre("patient", "encounter", "observation", "medication"));
  EXPECT_EQ(ingest_->request_ids()[0], "fhir:450321-WS-003:WS003-20260301-0002");
}

TEST_F(FhirFacadeTest, ATransactionWithOneBadEntryStoresNothing) {
  Start();
  std::string body = Testdata("bundle-transaction-zh-hypertension.json");
  body.replace(body.find("\"effectiveDateTime\": \"2026-03-01T08:45:00+08:00\""),
               std::string("\"effectiveDateTime\": \"2026-03-01T08:45:00+08:00\"").size(),
               "\"effectiveDateTime\": \"2026-03-01 08:45\"");
  Answer a = Do("POST", "/fhir", body);
  EXPECT_EQ(a.status, 400);
  EXPECT_THAT(Expressions(a.body), ElementsAre("Bundle.entry[4].resource.effective.ofType(dateTime)"));
  EXPECT_TRUE(ingest_->calls().empty());
}

TEST_F(FhirFacadeTest, BatchAnswersEachEntry) {
  Start();
  Answer a = Do("POST", "/fhir", Testdata("bundle-batch-zh-mixed.json"));
  ASSERT_EQ(a.status, 200) << WriteJson(a.body);
  EXPECT_EQ(a.body.GetString("type"), "batch-response");
  const std::vector<Json>& entries = a.body.GetArray("entry");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].Find("response")->GetString("status"), "200 OK");  // a (conditional) PUT
  EXPECT_EQ(entries[1].Find("response")->GetString("status"), "400 Bad Request");
  EXPECT_THAT(Expressions(*entries[1].Find("response")->Find("outcome")),
              ElementsAre("Bundle.entry[1].resource.effective.ofType(dateTime)"));
  EXPECT_EQ(entries[2].Find("response")->GetString("status"), "201 Created");
  // One unit per good entry, in Bundle order (the Forwarder may carry both
  // in one Submit; their request ids are then joined).
  std::vector<std::string> kinds;
  for (const Record& r : ingest_->records()) kinds.push_back(r.kind());
  EXPECT_THAT(kinds, ElementsAre("patient", "encounter"));
  std::string ids;
  for (const std::string& id : ingest_->request_ids()) absl::StrAppend(&ids, id, ",");
  EXPECT_THAT(ids, HasSubstr(":0,"));
  EXPECT_THAT(ids, HasSubstr(":2,"));
  EXPECT_THAT(ids, ::testing::Not(HasSubstr(":1,")));
}

TEST_F(FhirFacadeTest, SpoolWhileIngestIsAwayThenForwarded) {
  Start();
  ingest_->SetDown(true);
  Answer a = Do("POST", "/fhir/Patient", Testdata("patient-zh-wangxiaoming.json"));
  EXPECT_EQ(a.status, 201);
  EXPECT_THAT(Diagnostics(a.body), HasSubstr("stored in the local spool"));
  Answer t = Do("POST", "/fhir", Testdata("bundle-transaction-zh-hypertension.json"));
  EXPECT_EQ(t.status, 200);
  EXPECT_EQ(facade_->stats().spooled, 2);
  EXPECT_TRUE(ingest_->records().empty());
  ingest_->SetDown(false);
  ASSERT_TRUE(forwarder_->WaitUntilDrained(absl::Seconds(10)));
  std::vector<std::string> kinds;
  for (const Record& r : ingest_->records()) kinds.push_back(r.kind());
  EXPECT_THAT(kinds, ElementsAre("patient", "patient", "encounter", "observation", "medication"));
}

TEST_F(FhirFacadeTest, NotDurableIs503WithRetryAfter) {
  Start(/*spool_max_bytes=*/64);
  ingest_->SetDown(true);
  Answer a = Do("POST", "/fhir/Patient", Testdata("patient-zh-wangxiaoming.json"));
  EXPECT_EQ(a.status, 503) << WriteJson(a.body);
  EXPECT_EQ(a.header("Retry-After"), "30");
  EXPECT_EQ(a.body.GetArray("issue")[0].GetString("code"), "transient");
  EXPECT_THAT(Diagnostics(a.body), HasSubstr("spool full"));
  EXPECT_EQ(facade_->stats().failed, 1);
}

TEST_F(FhirFacadeTest, IngestRefusingARecordIs422) {
  Start();
  ingest_->Refuse("MZ00017");
  Answer a = Do("POST", "/fhir/Patient", Testdata("patient-zh-wangxiaoming.json"));
  EXPECT_EQ(a.status, 422);
  EXPECT_THAT(Diagnostics(a.body), HasSubstr("ingest refused the patient record"));
  EXPECT_THAT(Expressions(a.body), ElementsAre("Patient"));
}

TEST_F(FhirFacadeTest, ReadPatientBySourceIdentityOrUnifiedId) {
  Start();
  Answer a = Do("GET", "/fhir/Patient/450321-WS-003%7CMZ00017", "", {{"X-Purpose-Of-Use", "public_health"}});
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.body.GetString("resourceType"), "Patient");
  EXPECT_EQ(a.body.GetString("id"), "450321-P0000001");
  EXPECT_EQ(a.header("ETag"), "W/\"2\"");
  Answer b = Do("GET", "/fhir/Patient/450321-P0000001");
  EXPECT_EQ(b.status, 200);
  EXPECT_THAT(query_.calls, ElementsAre("LookupBySource 450321-WS-003 MZ00017 purpose=public_health",
                                        "GetPatient 450321-P0000001 purpose=treatment"));
  Answer missing = Do("GET", "/fhir/Patient/450321-P9999999");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body.GetArray("issue")[0].GetString("code"), "not-found");
  query_.status = absl::UnavailableError("connection refused");
  Answer away = Do("GET", "/fhir/Patient/450321-P0000001");
  EXPECT_EQ(away.status, 503);
  EXPECT_EQ(away.header("Retry-After"), "5");
  query_.status = absl::PermissionDeniedError("a reader must state the purpose of use");
  EXPECT_EQ(Do("GET", "/fhir/Patient/450321-P0000001").status, 403);
}

TEST_F(FhirFacadeTest, MatchReturnsAGradedSearchset) {
  Start();
  auto* c = query_.match.add_candidates();
  *c->mutable_patient() = query_.patient;
  c->set_score(30);
  c->set_grade(hisbridge::v1::MATCH_GRADE_CERTAIN);
  auto* d = query_.match.add_candidates();
  d->mutable_patient()->set_patient_id("450321-P0000002");
  d->set_score(10);
  d->set_grade(hisbridge::v1::MATCH_GRADE_POSSIBLE);
  Answer a = Do("POST", "/fhir/Patient/$match", Testdata("parameters-match-zh-wangxiaoming.json"));
  ASSERT_EQ(a.status, 200) << WriteJson(a.body);
  EXPECT_EQ(a.body.GetString("type"), "searchset");
  ASSERT_EQ(a.body.GetArray("entry").size(), 2u);
  const Json* search = a.body.GetArray("entry")[0].Find("search");
  EXPECT_EQ(search->GetString("mode"), "match");
  EXPECT_EQ(search->GetArray("extension")[0].GetString("valueCode"), "certain");
  EXPECT_GE(search->Find("score")->number(), 0.9);
  EXPECT_LT(a.body.GetArray("entry")[1].Find("search")->Find("score")->number(), 0.5);
  EXPECT_THAT(query_.calls, ElementsAre("Match 王小明 limit=5"));
  Answer bad = Do("POST", "/fhir/Patient/$match", R"({"resourceType":"Parameters"})");
  EXPECT_EQ(bad.status, 400);
  query_.match_status = absl::UnimplementedError("Match");
  Answer unimplemented = Do("POST", "/fhir/Patient/$match", Testdata("parameters-match-zh-wangxiaoming.json"));
  EXPECT_EQ(unimplemented.status, 501);
  EXPECT_EQ(unimplemented.body.GetArray("issue")[0].GetString("code"), "not-supported");
}

TEST_F(FhirFacadeTest, HttpLevelErrorsAreOperationOutcomes) {
  Start(int64_t{1} << 30, /*max_body=*/4096);
  Answer xml = Do("POST", "/fhir/Patient", "<Patient/>", {}, "application/fhir+xml");
  EXPECT_EQ(xml.status, 415);
  EXPECT_EQ(Do("GET", "/fhir/metadata", "", {{"Accept", "application/fhir+xml"}}).status, 406);
  EXPECT_EQ(Do("GET", "/fhir/metadata?_format=xml").status, 406);
  Answer meta = Do("GET", "/fhir/metadata");
  EXPECT_EQ(meta.status, 200);
  EXPECT_EQ(meta.body.GetString("resourceType"), "CapabilityStatement");
  EXPECT_EQ(meta.body.GetString("fhirVersion"), "4.0.1");
  Answer unknown = Do("GET", "/fhir/Practitioner/1");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body.GetString("resourceType"), "OperationOutcome");
  EXPECT_EQ(Do("GET", "/other").status, 404);
  Answer method = Do("DELETE", "/fhir/Observation/1");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.header("Allow"), "PUT");
  EXPECT_EQ(Do("GET", "/fhir/Patient").status, 501);  // no search
  Answer big = Do("POST", "/fhir/Patient", std::string(10000, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.body.GetArray("issue")[0].GetString("code"), "too-costly");
  Answer pretty = Do("GET", "/fhir/metadata?_pretty=true");
  EXPECT_EQ(pretty.status, 200);
  // Methods the facade does not serve: 405 with an OperationOutcome too.
  auto options = client_->Options("/fhir/Patient");
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, 405);
  EXPECT_EQ(options->get_header_value("Allow"), "POST");
  EXPECT_THAT(options->body, HasSubstr("OperationOutcome"));
  httplib::Request trace;
  trace.method = "TRACE";
  trace.path = "/fhir/Patient";
  auto traced = client_->send(trace);
  ASSERT_TRUE(traced);
  EXPECT_EQ(traced->status, 405);
  EXPECT_THAT(traced->body, HasSubstr("HTTP method TRACE is not supported"));
}

TEST_F(FhirFacadeTest, FacilityHeaderPutAndDelete) {
  Start();
  const std::string obs = R"({"resourceType":"Observation","id":"t1","status":"final","code":{"text":"体温"},
      "subject":{"reference":"Patient/MZ5"},"effectiveDateTime":"2026-03-01T08:00:00+08:00",
      "valueQuantity":{"value":37.9,"unit":"℃"}})";
  EXPECT_EQ(Do("POST", "/fhir/Observation", obs).status, 400);  // facility unknown
  Answer ok = Do("POST", "/fhir/Observation", obs, {{"X-Hisbridge-Facility", "450321-CS-011"}});
  EXPECT_EQ(ok.status, 201);
  EXPECT_THAT(ok.header("Location"), HasSubstr("/fhir/Observation/t1"));
  Answer put = Do("PUT", "/fhir/Observation/t1", obs, {{"X-Hisbridge-Facility", "450321-CS-011"}});
  EXPECT_EQ(put.status, 200);
  Answer del = Do("DELETE", "/fhir/Patient/450321-CS-011%7CMZ5");
  EXPECT_EQ(del.status, 200);
  std::vector<Record> r = ingest_->records();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].facility_id(), "450321-CS-011");
  EXPECT_EQ(r[2].op(), "delete");
  EXPECT_EQ(r[2].record_id(), "MZ5");
}

// Every public sample posted where it belongs gets a definite answer: a
// success, or an OperationOutcome naming the problem.
TEST_F(FhirFacadeTest, PublicSamplesOverHttp) {
  Start();
  const std::pair<const char*, int> cases[] = {
      {"patient-example.json", 400},
      {"patient-example-f001-pieter.json", 201},
      {"invalid-patient-unknown-elements.json", 400},
      {"invalid-patient-missing-resourcetype.json", 400},
      {"encounter-f002-for-patient-f001.json", 201},
      {"observation-f001-glucose-for-patient-f001.json", 400},
      {"twcore-patient-pat-example.json", 201},
      {"twcore-patient-pat-child-example.json", 201},
      {"twcore-patient-pat-residentNumber-example.json", 201},
      {"bundle-transaction-spec.json", 400},
      {"bundle-transaction-patient-encounter-observation.json", 400},
      {"invalid-bundle-transaction-duplicate-fullurl.json", 400},
      {"twcore-bundle-transaction-patient.json", 400},
      {"twcore-bundle-document-patient-encounter-observation.json", 400},
      {"twcore-bundle-message-patient-observation.json", 400},
  };
  for (const auto& [file, status] : cases) {
    SCOPED_TRACE(file);
    const std::string body = Testdata(file);
    auto parsed = ParseJson(body);
    ASSERT_TRUE(parsed.ok());
    std::string type = parsed->GetString("resourceType");
    const std::string path = type == "Bundle" ? "/fhir" : absl::StrCat("/fhir/", type.empty() ? "Patient" : type);
    Answer a = Do("POST", path, body, {{"X-Hisbridge-Facility", "DEFAULT-F"}});
    EXPECT_EQ(a.status, status) << WriteJson(a.body);
    if (status >= 400) {
      EXPECT_EQ(a.body.GetString("resourceType"), "OperationOutcome");
      EXPECT_FALSE(Expressions(a.body).empty());
    }
  }
}

// HTTPS is mutual TLS: a clinic's certificate gets the same answers as
// plain HTTP (and names the clinic in the reject log); without a
// certificate of the clinics' CA there is no answer at all.
TEST_F(FhirFacadeTest, ThePolicyDecidesWhoWritesForWhichFacilityAndWhoReads) {
  auto policy = security::Policy::Parse(
      "clinic:450321-WS-003  clinic  450321-WS-003\n"
      "clinic:450321-WS-009  clinic  450321-WS-009\n"
      "lead-hospital-his     reader\n"
      "steward:li            steward\n"
      "it-admin              admin\n",
      "policy.txt");
  ASSERT_TRUE(policy.ok()) << policy.status();
  authorizer_ = std::make_unique<security::Authorizer>(std::move(*policy));
  Start();
  const std::string patient = Testdata("patient-zh-wangxiaoming.json");  // of facility 450321-WS-003

  // Writes: a clinic for its own facility only.
  EXPECT_EQ(As("clinic:450321-WS-003", "POST", "/fhir/Patient", patient).status, 201);
  ASSERT_EQ(ingest_->records().size(), 1u);
  HttpResponse other = As("clinic:450321-WS-009", "POST", "/fhir/Patient", patient);
  EXPECT_EQ(other.status, 403);
  Json outcome = ParseJson(other.body).value();
  EXPECT_EQ(outcome.GetArray("issue")[0].GetString("code"), "forbidden");
  EXPECT_THAT(Diagnostics(outcome), HasSubstr("policy rule policy.txt line 2: clinic:450321-WS-009 may submit only "
                                              "for 450321-WS-009, not for facility \"450321-WS-003\""));
  EXPECT_THAT(Expressions(outcome), ::testing::Contains("Patient"));
  HttpResponse reader_writes = As("lead-hospital-his", "PUT", "/fhir/Patient/MZ00017", patient);
  EXPECT_EQ(reader_writes.status, 403);
  EXPECT_THAT(reader_writes.body, HasSubstr("FHIR update Patient: lead-hospital-his has role reader (policy.txt line 3); only a clinic may "
                                            "submit records"));
  HttpResponse stranger = As("someone-else", "POST", "/fhir/Patient", patient);
  EXPECT_EQ(stranger.status, 403);
  EXPECT_THAT(stranger.body, HasSubstr("identity \\\"someone-else\\\" is not in the policy (policy.txt)"));
  EXPECT_EQ(As("", "POST", "/fhir/Patient", patient).status, 401);
  EXPECT_EQ(ingest_->records().size(), 1u);  // nothing refused reached ingest
  EXPECT_EQ(facade_->stats().rejected, 4);
  const std::string rejects = ReadFileToString(dir_ + "/rejected.jsonl").value();
  EXPECT_THAT(rejects, HasSubstr("\"status\":403"));
  EXPECT_THAT(rejects, HasSubstr("clinic:450321-WS-009@"));

  // A batch is judged per entry: the Patient of the other facility is 403,
  // the entry without records still 200, the bad one still 400.
  HttpResponse batch = As("clinic:450321-WS-009", "POST", "/fhir", Testdata("bundle-batch-zh-mixed.json"));
  ASSERT_EQ(batch.status, 200) << batch.body;
  std::vector<std::string> statuses;
  const Json batch_response = ParseJson(batch.body).value();
  for (const Json& e : batch_response.GetArray("entry")) {
    statuses.push_back(e.Find("response")->GetString("status"));
  }
  EXPECT_THAT(statuses, ElementsAre("403 Forbidden", "400 Bad Request", "403 Forbidden"));
  EXPECT_EQ(ingest_->records().size(), 1u);

  // Reads: readers and stewards, with a purpose (the default "treatment"
  // when the header is missing); the caller is passed on to QueryService.
  EXPECT_EQ(As("lead-hospital-his", "GET", "/fhir/Patient/450321-P0000001").status, 200);
  EXPECT_EQ(As("steward:li", "GET", "/fhir/Patient/450321-P0000001", "", {{"x-purpose-of-use", "operations"}}).status,
            200);
  EXPECT_EQ(As("lead-hospital-his", "POST", "/fhir/Patient/$match", Testdata("parameters-match-zh-wangxiaoming.json")).status, 200);
  EXPECT_THAT(query_.on_behalf_of, ElementsAre("lead-hospital-his", "steward:li", "lead-hospital-his"));
  EXPECT_THAT(query_.calls[1], HasSubstr("purpose=operations"));
  HttpResponse clinic_reads = As("clinic:450321-WS-003", "GET", "/fhir/Patient/450321-P0000001");
  EXPECT_EQ(clinic_reads.status, 403);
  EXPECT_THAT(clinic_reads.body, HasSubstr("only a reader or steward may read patient data"));
  EXPECT_EQ(As("it-admin", "POST", "/fhir/Patient/$match", Testdata("parameters-match-zh-wangxiaoming.json")).status, 403);
  HttpResponse curious =
      As("lead-hospital-his", "GET", "/fhir/Patient/450321-P0000001", "", {{"x-purpose-of-use", "curiosity"}});
  EXPECT_EQ(curious.status, 400);
  EXPECT_THAT(curious.body, HasSubstr("\\\"curiosity\\\" is not a purpose of use"));
  EXPECT_EQ(query_.calls.size(), 3u);  // refused reads never reached QueryService
  // The CapabilityStatement is for every authenticated caller, and says
  // what the policy asks for.
  HttpResponse metadata = As("it-admin", "GET", "/fhir/metadata");
  EXPECT_EQ(metadata.status, 200);
  const Json capabilities = ParseJson(metadata.body).value();
  ASSERT_FALSE(capabilities.GetArray("rest").empty());
  const Json* security = capabilities.GetArray("rest")[0].Find("security");
  ASSERT_NE(security, nullptr) << metadata.body;
  EXPECT_THAT(security->GetString("description"), HasSubstr("role clinic creates, updates and deletes records of "
                                                            "its own facilities only"));
}

TEST_F(FhirFacadeTest, HttpsRequiresAClientCertificateOfTheClinicsCa) {
  security::DevCertOptions certs;
  certs.out_dir = dir_ + "/certs";
  certs.facilities = {"450321-WS-003"};
  certs.test_certificates = true;
  ASSERT_TRUE(security::WriteDevCertificates(certs).ok());
  const std::string c = certs.out_dir + "/";
  Start(int64_t{1} << 30, 16 << 20, {c + "server.crt", c + "server.key", c + "ca.crt"});
  ASSERT_TRUE(server_->tls());
  auto client = [&](const std::string& name) {
    auto cli = name.empty() ? std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port())
                            : std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port(), c + name + ".crt",
                                                                   c + name + ".key");
    cli->set_ca_cert_path((c + "ca.crt").c_str());
    cli->enable_server_certificate_verification(true);
    cli->set_read_timeout(30, 0);
    return cli;
  };
  auto clinic = client("clinic-450321-WS-003");
  auto created = clinic->Post("/fhir/Patient", Testdata("patient-zh-wangxiaoming.json"), "application/fhir+json");
  ASSERT_TRUE(created) << httplib::to_string(created.error());
  EXPECT_EQ(created->status, 201) << created->body;
  EXPECT_EQ(created->get_header_value("Location").rfind("https://", 0), 0u) << created->get_header_value("Location");
  auto refused = clinic->Post("/fhir/Patient", Testdata("invalid-patient-zh-errors.json"), "application/fhir+json");
  ASSERT_TRUE(refused) << httplib::to_string(refused.error());
  EXPECT_EQ(refused->status, 400);
  EXPECT_THAT(ReadFileToString(dir_ + "/rejected.jsonl").value(),
              HasSubstr("\"peer\":\"clinic:450321-WS-003@127.0.0.1:"));

  for (const std::string name : {"", "expired", "untrusted"}) {
    auto r = client(name)->Get("/fhir/metadata");
    EXPECT_FALSE(r) << (name.empty() ? "no certificate" : name) << " got HTTP " << (r ? r->status : 0);
  }
  httplib::Client plain("127.0.0.1", server_->port());
  plain.set_read_timeout(5, 0);
  auto r = plain.Get("/fhir/metadata");
  EXPECT_TRUE(!r || r->status != 200) << "plain HTTP was answered on the HTTPS port";
  EXPECT_EQ(ingest_->records().size(), 1u);

  // Incomplete or unusable files are refused at start, naming the flag.
  FhirServerOptions bad;
  bad.listen = "127.0.0.1:0";
  bad.tls = {c + "server.crt", c + "server.key", ""};
  auto no_ca = FhirHttpServer::Start(bad, facade_.get());
  ASSERT_FALSE(no_ca.ok());
  EXPECT_THAT(no_ca.status().message(), HasSubstr("--http-tls-ca"));
  bad.tls = {c + "server.crt", c + "ca.key", c + "ca.crt"};
  auto wrong_key = FhirHttpServer::Start(bad, facade_.get());
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_THAT(wrong_key.status().message(), HasSubstr("--http-tls-key"));
}

}  // namespace
}  // namespace hisbridge::connectors::fhir
