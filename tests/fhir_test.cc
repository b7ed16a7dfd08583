// The FHIR facade end to end against an in-process Node (all roles,
// embedded development broker): a transaction Bundle posted over HTTP
// reaches the unified patient's view, invalid resources get an
// OperationOutcome naming the element, Patient/$match returns graded
// candidates, and with ingest unreachable the facade answers from its
// spool and the records arrive once ingest returns.
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "connectors/fhir/fhir_facade.h"
#include "connectors/fhir/http_server.h"
#include "connectors/fhir/patient_query.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/fhir/json.h"
#include "libs/forward/forwarder.h"
#include "services/node/node.h"

namespace hisbridge {
namespace {

using hisbridge::fhir::Json;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string UniqueName(absl::string_view base) {
  static int counter = 0;
  return absl::StrCat(base, "-", getpid(), "-", counter++);
}

std::string Testdata(const std::string& name) {
  return ReadFileToString(std::string(HISBRIDGE_SOURCE_DIR) + "/connectors/fhir/testdata/" + name).value();
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int CountEvents(const hisbridge::v1::Patient& p, absl::string_view kind) {
  int n = 0;
  for (const auto& e : p.events()) n += e.kind() == kind;
  return n;
}

// Reads the patient of a source record straight from QueryService.
class Query {
 public:
  explicit Query(const std::string& address)
      : stub_(hisbridge::v1::QueryService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}
  grpc::Status Lookup(const std::string& facility, const std::string& record, hisbridge::v1::Patient* patient) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    context.AddMetadata("x-purpose-of-use", "treatment");
    hisbridge::v1::LookupBySourceRequest request;
    request.set_facility_id(facility);
    request.set_record_id(record);
    return stub_->LookupBySource(&context, request, patient);
  }
  grpc::Status View(const std::string& patient_id, hisbridge::v1::IntegratedView* view) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    context.AddMetadata("x-purpose-of-use", "treatment");
    hisbridge::v1::GetIntegratedViewRequest request;
    request.set_patient_id(patient_id);
    return stub_->GetIntegratedView(&context, request, view);
  }
  hisbridge::v1::Patient WaitFor(const std::string& facility, const std::string& record,
                                 const std::function<bool(const hisbridge::v1::Patient&)>& ready) {
    hisbridge::v1::Patient p;
    for (int i = 0; i < 300; ++i) {
      p.Clear();
      if (Lookup(facility, record, &p).ok() && ready(p)) return p;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "timed out waiting for " << facility << "/" << record << ": patient " << p.patient_id() << ", "
                  << p.events_size() << " events";
    return p;
  }

 private:
  std::unique_ptr<hisbridge::v1::QueryService::Stub> stub_;
};

class FhirEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kError);
    dir_ = MakeTempDirectory("fhir_test").value();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (forwarder_) forwarder_->Stop();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  NodeOptions Options(const std::string& listen = "127.0.0.1:0") {
    NodeOptions o;
    o.data_dir = dir_ + "/node";
    o.embedded_broker = true;
    o.linker_group = UniqueName("linker");
    o.listen = listen;
    return o;
  }
  // The facade with its Forwarder to `ingest` and its reads from the same address.
  void StartFacade(const std::string& ingest) {
    forward::ForwarderOptions fo;
    fo.spool.dir = dir_ + "/spool";
    fo.initial_backoff = absl::Milliseconds(100);
    fo.max_backoff = absl::Milliseconds(500);
    forward::GrpcIngestOptions g;
    g.target = ingest;
    g.channel = "fhir";
    g.max_reconnect_backoff = absl::Milliseconds(300);
    forwarder_ = forward::Forwarder::Start(fo, forward::NewGrpcIngestClient(g)).value();
    connectors::fhir::GrpcQueryOptions q;
    q.target = ingest;
    q.deadline = absl::Seconds(10);
    query_ = connectors::fhir::NewGrpcPatientQuery(q);
    connectors::fhir::FhirFacadeOptions o;
    o.reject_log = dir_ + "/rejected.jsonl";
    facade_ = std::make_unique<connectors::fhir::FhirFacade>(forwarder_.get(), query_.get(), o);
    connectors::fhir::FhirServerOptions so;
    so.listen = "127.0.0.1:0";
    so.threads = 4;
    server_ = connectors::fhir::FhirHttpServer::Start(so, facade_.get()).value();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(60, 0);
  }
  std::pair<int, Json> Post(const std::string& path, const std::string& body) {
    auto r = client_->Post(path.c_str(), body, "application/fhir+json");
    EXPECT_TRUE(r) << path;
    if (!r) return {0, Json()};
    auto parsed = fhir::ParseJson(r->body);
    EXPECT_TRUE(parsed.ok()) << r->body;
    return {r->status, parsed.ok() ? *parsed : Json()};
  }
  std::pair<int, Json> Get(const std::string& path) {
    auto r = client_->Get(path.c_str());
    EXPECT_TRUE(r) << path;
    if (!r) return {0, Json()};
    auto parsed = fhir::ParseJson(r->body);
    EXPECT_TRUE(parsed.ok()) << r->body;
    return {r->status, parsed.ok() ? *parsed : Json()};
  }
  static std::vector<std::string> Expressions(const Json& outcome) {
    std::vector<std::string> out;
    for (const Json& i : outcome.GetArray("issue")) {
      if (i.GetString("severity") == "error" && !i.GetArray("expression").empty()) {
        out.push_back(i.GetArray("expression")[0].string());
      }
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<forward::Forwarder> forwarder_;
  std::unique_ptr<connectors::fhir::PatientQuery> query_;
  std::unique_ptr<connectors::fhir::FhirFacade> facade_;
  std::unique_ptr<connectors::fhir::FhirHttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(FhirEndToEndTest, TransactionBundleReachesTheIntegratedView) {
  Node node(Options());
  ASSERT_TRUE(node.Start().ok());
  StartFacade(node.grpc_address());
  auto [status, response] = Post("/fhir", Testdata("bundle-transaction-zh-hypertension.json"));
  ASSERT_EQ(status, 200) << fhir::WriteJson(response);
  EXPECT_EQ(response.GetString("type"), "transaction-response");

  Query query(node.grpc_address());
  hisbridge::v1::Patient wang = query.WaitFor("450321-WS-003", "MZ00017", [](const hisbridge::v1::Patient& p) {
    return CountEvents(p, "encounter") == 1 && CountEvents(p, "observation") == 1 &&
           CountEvents(p, "medication") == 1;
  });
  EXPECT_EQ(wang.demographics().name(), "王小明");
  EXPECT_EQ(wang.demographics().id_number(), "450321198503021232");
  for (const auto& e : wang.events()) {
    if (e.kind() == "encounter") {
      EXPECT_EQ(e.record().diagnoses(0).code(), "I10");
      EXPECT_EQ(e.record().department(), "全科");
    }
    if (e.kind() == "observation") {
      EXPECT_EQ(e.record().code(), "8480-6");
      EXPECT_EQ(e.record().encounter_id(), "V20260301002");
    }
  }

  // The integrated view: the visit, the reading and the prescription of the
  // Bundle on the patient's one timeline.
  hisbridge::v1::IntegratedView view;
  ASSERT_TRUE(query.View(wang.patient_id(), &view).ok());
  std::vector<std::string> kinds;
  for (const auto& entry : view.timeline()) kinds.push_back(entry.event().kind());
  std::sort(kinds.begin(), kinds.end());
  EXPECT_THAT(kinds, ElementsAre("encounter", "medication", "observation"));

  // Read back over FHIR: by the source identity the POST answered, and by
  // the unified id.
  auto [by_source_status, by_source] = Get("/fhir/Patient/450321-WS-003%7CMZ00017");
  ASSERT_EQ(by_source_status, 200) << fhir::WriteJson(by_source);
  EXPECT_EQ(by_source.GetString("resourceType"), "Patient");
  EXPECT_EQ(by_source.GetString("id"), wang.patient_id());
  EXPECT_EQ(by_source.GetString("gender"), "male");
  EXPECT_EQ(by_source.GetString("birthDate"), "1985-03-02");
  std::vector<std::string> identifiers;
  for (const Json& i : by_source.GetArray("identifier")) {
    identifiers.push_back(absl::StrCat(i.GetString("system"), "|", i.GetString("value")));
  }
  EXPECT_THAT(identifiers, Contains("urn:oid:2.16.156.10011.1.1|450321198503021232"));
  EXPECT_THAT(identifiers, Contains("urn:hisbridge:facility:450321-WS-003|MZ00017"));
  auto [by_id_status, by_id] = Get(absl::StrCat("/fhir/Patient/", wang.patient_id()));
  EXPECT_EQ(by_id_status, 200);
  EXPECT_EQ(by_id.GetArray("name")[0].GetString("text"), "王小明");
  auto [missing_status, missing] = Get("/fhir/Patient/450321-P9999999");
  EXPECT_EQ(missing_status, 404);
  EXPECT_EQ(missing.GetString("resourceType"), "OperationOutcome");
  EXPECT_TRUE(node.Health().ok());
}

TEST_F(FhirEndToEndTest, InvalidResourcesGetAnOperationOutcomeAndNothingTravels) {
  Node node(Options());
  ASSERT_TRUE(node.Start().ok());
  StartFacade(node.grpc_address());
  auto [status, outcome] = Post("/fhir/Patient", Testdata("invalid-patient-zh-errors.json"));
  EXPECT_EQ(status, 400);
  EXPECT_EQ(outcome.GetString("resourceType"), "OperationOutcome");
  EXPECT_THAT(Expressions(outcome), Contains("Patient.birthDate"));
  EXPECT_THAT(Expressions(outcome), Contains("Patient.gender"));
  auto [unknown_status, unknown] = Post("/fhir/Patient", Testdata("invalid-patient-unknown-elements.json"));
  EXPECT_EQ(unknown_status, 400);
  EXPECT_THAT(Expressions(unknown), Contains("Patient.name1"));
  auto [bundle_status, bundle] = Post("/fhir", Testdata("invalid-bundle-transaction-duplicate-fullurl.json"));
  EXPECT_EQ(bundle_status, 400);
  EXPECT_THAT(Expressions(bundle), Contains("Bundle.entry[1].fullUrl"));
  EXPECT_EQ(forwarder_->stats().submitted_units, 0);
  EXPECT_EQ(facade_->stats().rejected, 3);
}

TEST_F(FhirEndToEndTest, MatchReturnsGradedCandidates) {
  Node node(Options());
  ASSERT_TRUE(node.Start().ok());
  StartFacade(node.grpc_address());
  ASSERT_EQ(Post("/fhir/Patient", Testdata("patient-zh-wangxiaoming.json")).first, 201);
  Query query(node.grpc_address());
  hisbridge::v1::Patient wang = query.WaitFor("450321-WS-003", "MZ00017", [](const auto&) { return true; });

  auto [status, bundle] = Post("/fhir/Patient/$match", Testdata("parameters-match-zh-wangxiaoming.json"));
  ASSERT_EQ(status, 200) << fhir::WriteJson(bundle);
  EXPECT_EQ(bundle.GetString("type"), "searchset");
  const std::vector<Json>& entries = bundle.GetArray("entry");
  ASSERT_FALSE(entries.empty()) << fhir::WriteJson(bundle);
  EXPECT_EQ(entries[0].Find("resource")->GetString("id"), wang.patient_id());
  const Json* search = entries[0].Find("search");
  EXPECT_EQ(search->GetString("mode"), "match");
  ASSERT_FALSE(search->GetArray("extension").empty());
  EXPECT_EQ(search->GetArray("extension")[0].GetString("url"),
            "http://hl7.org/fhir/StructureDefinition/match-grade");
  EXPECT_EQ(search->GetArray("extension")[0].GetString("valueCode"), "certain");  // same resident id
  EXPECT_GE(search->Find("score")->number(), 0.9);
  EXPECT_LE(search->Find("score")->number(), 1.0);

  // A weaker query: a variant of the name, the birth date and the phone, no
  // identity card: the same person is found as a candidate (how sure the
  // matcher is belongs to its model), and every score lies in its grade's
  // band.
  auto [weak_status, weak] = Post("/fhir/Patient/$match", R"({"resourceType":"Parameters","parameter":[
      {"name":"resource","resource":{"resourceType":"Patient","name":[{"text":"王晓明"}],"birthDate":"1985-03-02",
       "telecom":[{"system":"phone","value":"13812345678"}]}}]})");
  ASSERT_EQ(weak_status, 200) << fhir::WriteJson(weak);
  bool found = false;
  for (const Json& e : weak.GetArray("entry")) {
    const std::string grade = e.Find("search")->GetArray("extension")[0].GetString("valueCode");
    const double score = e.Find("search")->Find("score")->number();
    if (grade == "certain") {
      EXPECT_GE(score, 0.9);
      EXPECT_LE(score, 1.0);
    } else if (grade == "probable") {
      EXPECT_GE(score, 0.5);
      EXPECT_LT(score, 0.9);
    } else if (grade == "possible") {
      EXPECT_GT(score, 0);
      EXPECT_LT(score, 0.5);
    } else {
      EXPECT_EQ(grade, "certainly-not");
      EXPECT_EQ(score, 0);
    }
    if (e.Find("resource")->GetString("id") == wang.patient_id()) {
      found = true;
      EXPECT_NE(grade, "certainly-not");
    }
  }
  EXPECT_TRUE(found) << fhir::WriteJson(weak);
}

// Ingest (with its broker) is away: the facade answers from the spool; when
// ingest returns every record arrives exactly once, in order.
TEST_F(FhirEndToEndTest, SpooledWhileIngestIsAwayAndForwardedWhenItReturns) {
  const std::string address = absl::StrCat("127.0.0.1:", FreePort());
  StartFacade(address);
  auto [patient_status, patient_outcome] = Post("/fhir/Patient", Testdata("patient-zh-wangxiaoming.json"));
  ASSERT_EQ(patient_status, 201) << fhir::WriteJson(patient_outcome);
  EXPECT_THAT(fhir::WriteJson(patient_outcome), HasSubstr("stored in the local spool"));
  auto [bundle_status, bundle] = Post("/fhir", Testdata("bundle-transaction-zh-hypertension.json"));
  ASSERT_EQ(bundle_status, 200) << fhir::WriteJson(bundle);
  auto [batch_status, batch] = Post("/fhir", Testdata("bundle-batch-zh-mixed.json"));
  ASSERT_EQ(batch_status, 200);
  EXPECT_EQ(facade_->stats().spooled, 4);  // patient, transaction, two good batch entries
  EXPECT_EQ(forwarder_->stats().spool_pending, 4);
  // Reads need the query role: a clear 503, not a hang.
  auto [read_status, read] = Get("/fhir/Patient/450321-WS-003%7CMZ00017");
  EXPECT_EQ(read_status, 503) << fhir::WriteJson(read);

  Node node(Options(address));
  ASSERT_TRUE(node.Start().ok());
  ASSERT_TRUE(forwarder_->WaitUntilDrained(absl::Seconds(60)));
  Query query(node.grpc_address());
  hisbridge::v1::Patient wang = query.WaitFor("450321-WS-003", "MZ00017", [](const hisbridge::v1::Patient& p) {
    return CountEvents(p, "encounter") == 1 && CountEvents(p, "observation") == 1 &&
           CountEvents(p, "medication") == 1;
  });
  EXPECT_EQ(wang.demographics().name(), "王小明");
  hisbridge::v1::Patient li = query.WaitFor("450321-CS-011", "CS7", [](const hisbridge::v1::Patient& p) {
    return CountEvents(p, "encounter") == 1;
  });
  EXPECT_EQ(li.demographics().name(), "李桂英");
  EXPECT_EQ(CountEvents(li, "observation"), 0);  // the batch entry that was refused
  auto [after_status, after] = Get("/fhir/Patient/450321-WS-003%7CMZ00017");
  EXPECT_EQ(after_status, 200) << fhir::WriteJson(after);
}

}  // namespace
}  // namespace hisbridge
