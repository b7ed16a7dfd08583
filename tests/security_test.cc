// Security end to end (issue 9): one Node with every role on the embedded
// broker, mutual TLS, a policy and at-rest encryption, driven over gRPC
// with the development certificates of `hisbridge certs --test-certs`.
//
//   - no client certificate, one from an unknown CA, an expired one: refused
//   - a clinic submitting for another facility: that record REJECTED with
//     PERMISSION_DENIED naming the rule (the others accepted), and logged
//   - a reader without a purpose of use: refused; roles keep to their rights
//   - every read lands in the access log, which only admins can list
//   - a generated county loaded end to end: no resident id or phone of it
//     appears in plaintext in any file under the data directory or in the log
//   - the FHIR facade with the same policy: a clinic writes for its own
//     facility only, only readers and stewards read, and the access log
//     names the facade's caller beside the facade
//   - a steward's command is submitted under the steward's certificate
//     identity (inbox metadata and the command's actor)
//   - key rotation: rekey re-encrypts, old data stays readable under the new
//     key alone, and without the old key unrotated data is refused by name
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "connectors/fhir/fhir_facade.h"
#include "connectors/fhir/http_server.h"
#include "connectors/fhir/patient_query.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/admin.grpc.pb.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "hisbridge/v1/review.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/forward/forwarder.h"
#include "libs/forward/ingest_client.h"
#include "libs/index/kv_store.h"
#include "libs/kafka/consumer.h"
#include "libs/security/authorizer.h"
#include "libs/security/dev_certs.h"
#include "libs/security/key_ring.h"
#include "libs/security/policy.h"
#include "libs/security/tls.h"
#include "libs/synth/generator.h"
#include "libs/view/view_materializer.h"
#include "services/ingest/ingestor.h"
#include "services/node/node.h"

namespace hisbridge {
namespace {

using ::testing::HasSubstr;

constexpr char kClinicFacility[] = "450324-WS-001";

// Every log line of the process, for the plaintext scan and "the attempt is
// logged".
class LogCapture {
 public:
  LogCapture() {
    log::SetSink([this](absl::string_view line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.emplace_back(line);
    });
  }
  ~LogCapture() { log::SetSink(nullptr); }
  std::string All() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& l : lines_) out += l;
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDirectory("security_test").value());
    certs_ = new std::string(*dir_ + "/certs");
    security::DevCertOptions options;
    options.out_dir = *certs_;
    options.facilities = {kClinicFacility};
    options.test_certificates = true;
    ASSERT_TRUE(security::WriteDevCertificates(options).ok());
    ASSERT_TRUE(security::KeyRing::Generate().Save(*certs_ + "/keys.conf").ok());
    logs_ = new LogCapture();
    NodeOptions node;
    node.data_dir = *dir_ + "/node";
    node.embedded_broker = true;
    node.linker_group = absl::StrCat("security-linker-", getpid());
    node.tls = {*certs_ + "/server.crt", *certs_ + "/server.key", *certs_ + "/ca.crt"};
    node.policy_file = *certs_ + "/policy.txt";
    node.keys_file = *certs_ + "/keys.conf";
    node.metrics_listen = "127.0.0.1:0";
    node_ = new Node(node);
    absl::Status s = node_->Start();
    ASSERT_TRUE(s.ok()) << s;
  }

  static void TearDownTestSuite() {
    if (node_ != nullptr) node_->Stop();
    delete node_;
    node_ = nullptr;
    delete logs_;
    (void)RemoveRecursively(*dir_);
  }

  // A channel presenting `name`.crt (empty: no client certificate).
  static std::shared_ptr<grpc::Channel> ChannelAs(const std::string& name) {
    security::TlsFiles files;
    files.ca = *certs_ + "/ca.crt";
    if (!name.empty()) {
      files.cert = absl::StrCat(*certs_, "/", name, ".crt");
      files.key = absl::StrCat(*certs_, "/", name, ".key");
    }
    if (name == "expired") {
      // GrpcClientCredentials refuses an expired certificate itself; the
      // server must refuse it too, so bypass the client-side check.
      grpc::SslCredentialsOptions raw;
      raw.pem_root_certs = ReadFileToString(files.ca).value();
      raw.pem_cert_chain = ReadFileToString(files.cert).value();
      raw.pem_private_key = ReadFileToString(files.key).value();
      EXPECT_EQ(security::GrpcClientCredentials(files).status().code(), absl::StatusCode::kFailedPrecondition);
      return grpc::CreateChannel(node_->grpc_address(), grpc::SslCredentials(raw));
    }
    auto credentials = security::GrpcClientCredentials(files);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return grpc::CreateChannel(node_->grpc_address(), *credentials);
  }

  static void Deadline(grpc::ClientContext* context, int seconds = 10) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  }

  static hisbridge::v1::Record Patient(const std::string& facility, const std::string& record_id,
                                       const std::string& id_number) {
    hisbridge::v1::Record r;
    r.set_kind("patient");
    r.set_facility_id(facility);
    r.set_record_id(record_id);
    r.set_event_time("2026-03-01T08:30:00+08:00");
    r.set_name("王小明");
    r.set_sex("1");
    r.set_birth_date("1985-03-02");
    r.set_id_number(id_number);
    return r;
  }

  // Submits as `who` and waits until the query side reflects it.
  static hisbridge::v1::SubmitResponse SubmitAndWait(const std::string& who,
                                                     const std::vector<hisbridge::v1::Record>& records) {
    auto stub = hisbridge::v1::IngestService::NewStub(ChannelAs(who));
    hisbridge::v1::SubmitRequest request;
    for (const auto& r : records) *request.add_records() = r;
    hisbridge::v1::SubmitResponse response;
    grpc::ClientContext context;
    Deadline(&context, 30);
    grpc::Status status = stub->Submit(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    WaitFor(response);
    return response;
  }

  static void WaitFor(const hisbridge::v1::SubmitResponse& response) {
    std::vector<hisbridge::v1::LogPosition> positions(response.positions().begin(), response.positions().end());
    absl::Notification done;
    bool reached = false;
    node_->views()->WaitFor(positions, absl::Now() + absl::Seconds(60), [&](bool ok) {
      reached = ok;
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_TRUE(reached);
  }

  static grpc::Status GetPatient(const std::string& who, const std::string& purpose, const std::string& patient_id,
                                 hisbridge::v1::Patient* out) {
    auto stub = hisbridge::v1::QueryService::NewStub(ChannelAs(who));
    grpc::ClientContext context;
    Deadline(&context);
    if (!purpose.empty()) context.AddMetadata(security::kPurposeHeader, purpose);
    hisbridge::v1::GetPatientRequest request;
    request.set_patient_id(patient_id);
    return stub->GetPatient(&context, request, out);
  }

  static grpc::Status ListAccessLog(const std::string& who, const hisbridge::v1::ListAccessLogRequest& request,
                                    hisbridge::v1::ListAccessLogResponse* out) {
    auto stub = hisbridge::v1::AdminService::NewStub(ChannelAs(who));
    grpc::ClientContext context;
    Deadline(&context);
    return stub->ListAccessLog(&context, request, out);
  }

  static std::string* dir_;
  static std::string* certs_;
  static LogCapture* logs_;
  static Node* node_;
};

std::string* SecurityTest::dir_ = nullptr;
std::string* SecurityTest::certs_ = nullptr;
LogCapture* SecurityTest::logs_ = nullptr;
Node* SecurityTest::node_ = nullptr;

TEST_F(SecurityTest, ClientsWithoutAValidCertificateAreRefused) {
  for (const std::string who : {"", "untrusted", "expired"}) {
    auto stub = hisbridge::v1::QueryService::NewStub(ChannelAs(who));
    grpc::ClientContext context;
    Deadline(&context, 5);
    context.AddMetadata(security::kPurposeHeader, "treatment");
    hisbridge::v1::GetPatientRequest request;
    request.set_patient_id("450324-P0000001");
    hisbridge::v1::Patient patient;
    grpc::Status status = stub->GetPatient(&context, request, &patient);
    // The TLS handshake fails: the call never reaches the service.
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << who << ": " << status.error_message();
  }
  // A plaintext client cannot talk to the TLS port either.
  auto plain = hisbridge::v1::QueryService::NewStub(
      grpc::CreateChannel(node_->grpc_address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  Deadline(&context, 5);
  hisbridge::v1::Patient patient;
  EXPECT_EQ(plain->GetPatient(&context, hisbridge::v1::GetPatientRequest(), &patient).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // And the certificates themselves are fine: the same CA's reader gets in.
  EXPECT_EQ(GetPatient("reader", "treatment", "450324-P9999999", &patient).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(SecurityTest, AClinicCannotSubmitForAnotherFacility) {
  hisbridge::v1::SubmitResponse response =
      SubmitAndWait(absl::StrCat("clinic-", kClinicFacility),
                    {Patient(kClinicFacility, "OWN-1", "450324198503021232"),
                     Patient("450324-WS-002", "FOREIGN-1", "450324197001011234")});
  ASSERT_EQ(response.results_size(), 2);
  EXPECT_EQ(response.results(0).outcome(), hisbridge::v1::RECORD_OUTCOME_ACCEPTED);
  const auto& refused = response.results(1);
  EXPECT_EQ(refused.outcome(), hisbridge::v1::RECORD_OUTCOME_REJECTED);
  EXPECT_EQ(refused.reason(), hisbridge::v1::REJECT_REASON_PERMISSION_DENIED);
  ASSERT_GT(refused.errors_size(), 0);
  EXPECT_EQ(refused.errors(0).field(), "facility_id");
  EXPECT_THAT(refused.errors(0).message(), HasSubstr("policy rule "));
  EXPECT_THAT(refused.errors(0).message(), HasSubstr("policy.txt line "));
  EXPECT_THAT(refused.errors(0).message(), HasSubstr("may submit only for 450324-WS-001"));
  EXPECT_EQ(node_->ingestor()->rejected(hisbridge::v1::REJECT_REASON_PERMISSION_DENIED), 1);
  const std::string logs = logs_->All();
  EXPECT_THAT(logs, HasSubstr("record refused by the policy"));
  EXPECT_THAT(logs, HasSubstr("450324-WS-002"));

  // Identities without the submit right are refused as a whole call.
  auto stub = hisbridge::v1::IngestService::NewStub(ChannelAs("reader"));
  hisbridge::v1::SubmitRequest request;
  *request.add_records() = Patient(kClinicFacility, "OWN-2", "");
  hisbridge::v1::SubmitResponse denied;
  grpc::ClientContext context;
  Deadline(&context);
  grpc::Status status = stub->Submit(&context, request, &denied);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("only a clinic may submit records"));
}

TEST_F(SecurityTest, ReadersMustStateAPurposeAndRolesKeepToTheirRights) {
  hisbridge::v1::Patient patient;
  grpc::Status none = GetPatient("reader", "", "450324-P0000001", &patient);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(none.error_message(), HasSubstr("x-purpose-of-use"));
  grpc::Status unknown = GetPatient("reader", "curiosity", "450324-P0000001", &patient);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(unknown.error_message(), HasSubstr("treatment, payment, operations, public_health, research"));
  // Clinics and admins read no patient data.
  EXPECT_EQ(GetPatient(absl::StrCat("clinic-", kClinicFacility), "treatment", "450324-P0000001", &patient).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GetPatient("admin", "treatment", "450324-P0000001", &patient).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Readers cannot list the access log.
  hisbridge::v1::ListAccessLogResponse log;
  EXPECT_EQ(ListAccessLog("reader", {}, &log).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SecurityTest, EveryReadLandsInTheAccessLog) {
  SubmitAndWait("gateway", {Patient("450324-WS-003", "AUDIT-1", "45032419850302124X")});
  auto query = hisbridge::v1::QueryService::NewStub(ChannelAs("reader"));
  std::string patient_id;
  {
    grpc::ClientContext context;
    Deadline(&context);
    context.AddMetadata(security::kPurposeHeader, "treatment");
    hisbridge::v1::LookupBySourceRequest request;
    request.set_facility_id("450324-WS-003");
    request.set_record_id("AUDIT-1");
    hisbridge::v1::Patient patient;
    grpc::Status status = query->LookupBySource(&context, request, &patient);
    ASSERT_TRUE(status.ok()) << status.error_message();
    patient_id = patient.patient_id();
  }
  hisbridge::v1::Patient patient;
  ASSERT_TRUE(GetPatient("reader", "public_health", patient_id, &patient).ok());
  ASSERT_TRUE(GetPatient("steward", "", patient_id, &patient).ok());  // stewards default to "operations"
  EXPECT_FALSE(GetPatient("reader", "", patient_id, &patient).ok());
  {
    grpc::ClientContext context;
    Deadline(&context);
    context.AddMetadata(security::kPurposeHeader, "research");
    hisbridge::v1::SearchPatientsRequest request;
    request.set_id_number("45032419850302124X");
    hisbridge::v1::SearchPatientsResponse found;
    grpc::Status status = query->SearchPatients(&context, request, &found);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(found.patients_size(), 1);
  }

  hisbridge::v1::ListAccessLogRequest request;
  request.set_patient_id(patient_id);
  hisbridge::v1::ListAccessLogResponse log;
  grpc::Status status = ListAccessLog("admin", request, &log);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> seen;
  for (const auto& e : log.entries()) {
    EXPECT_FALSE(e.time().empty());
    EXPECT_TRUE(e.allowed());
    seen.insert(absl::StrCat(e.who(), " ", e.role(), " ", e.method(), " ", e.purpose()));
  }
  EXPECT_THAT(seen, ::testing::UnorderedElementsAre(
                        "reader:lead-hospital reader QueryService.LookupBySource treatment",
                        "reader:lead-hospital reader QueryService.GetPatient public_health",
                        "steward:dev steward QueryService.GetPatient operations",
                        "reader:lead-hospital reader QueryService.SearchPatients research"));
  // The refused read is there too, as refused.
  hisbridge::v1::ListAccessLogRequest by_reader;
  by_reader.set_who("reader:lead-hospital");
  by_reader.set_page_size(1000);
  ASSERT_TRUE(ListAccessLog("admin", by_reader, &log).ok());
  bool refused = false;
  for (const auto& e : log.entries()) refused = refused || (!e.allowed() && e.method() == "QueryService.GetPatient");
  EXPECT_TRUE(refused);
  // Paging: one entry per page, resumable.
  hisbridge::v1::ListAccessLogRequest paged = request;
  paged.set_page_size(1);
  int pages = 0;
  do {
    ASSERT_TRUE(ListAccessLog("admin", paged, &log).ok());
    EXPECT_LE(log.entries_size(), 1);
    paged.set_page_token(log.next_page_token());
    ++pages;
  } while (!log.next_page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 4);
}

TEST_F(SecurityTest, TheFhirFacadeKeepsThePolicyAndTheAccessLogNamesItsCaller) {
  // The facade as production runs it: HTTPS with client certificates, the
  // node's policy file, ingest as the county gateway, reads as the reader.
  auto client_credentials = [](const std::string& name) {
    security::TlsFiles files{*certs_ + "/" + name + ".crt", *certs_ + "/" + name + ".key", *certs_ + "/ca.crt"};
    return security::GrpcClientCredentials(files).value();
  };
  const std::string fhir_dir = *dir_ + "/fhir";
  forward::ForwarderOptions fo;
  fo.spool.dir = fhir_dir + "/spool";
  forward::GrpcIngestOptions ingest;
  ingest.target = node_->grpc_address();
  ingest.channel = "fhir";
  ingest.credentials = client_credentials("gateway");
  auto forwarder = forward::Forwarder::Start(fo, forward::NewGrpcIngestClient(ingest)).value();
  connectors::fhir::GrpcQueryOptions query;
  query.target = node_->grpc_address();
  query.deadline = absl::Seconds(10);
  query.credentials = client_credentials("reader");
  auto patient_query = connectors::fhir::NewGrpcPatientQuery(query);
  security::Authorizer authorizer(security::Policy::Load(*certs_ + "/policy.txt").value());
  connectors::fhir::FhirFacadeOptions options;
  options.reject_log = fhir_dir + "/rejected.jsonl";
  options.authorizer = &authorizer;
  connectors::fhir::FhirFacade facade(forwarder.get(), patient_query.get(), options);
  connectors::fhir::FhirServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  server_options.tls = {*certs_ + "/server.crt", *certs_ + "/server.key", *certs_ + "/ca.crt"};
  auto server = connectors::fhir::FhirHttpServer::Start(server_options, &facade).value();
  auto https_as = [&](const std::string& name) {
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", server->port(), *certs_ + "/" + name + ".crt",
                                                       *certs_ + "/" + name + ".key");
    client->set_ca_cert_path((*certs_ + "/ca.crt").c_str());
    client->enable_server_certificate_verification(true);
    client->set_read_timeout(30, 0);
    return client;
  };
  auto patient_of = [](const std::string& facility, const std::string& record_id) {
    return absl::StrReplaceAll(R"({"resourceType": "Patient",
      "identifier": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                      "system": "urn:hisbridge:facility:FACILITY", "value": "RECORD"},
                     {"system": "urn:oid:2.16.156.10011.1.1", "value": "450324198503021232"}],
      "name": [{"family": "王", "given": ["小明"]}], "gender": "male", "birthDate": "1985-03-02",
      "managingOrganization": {"identifier": {"system": "urn:hisbridge:facility-code", "value": "FACILITY"}}})",
                               {{"FACILITY", facility}, {"RECORD", record_id}});
  };

  auto clinic = https_as(absl::StrCat("clinic-", kClinicFacility));
  auto own = clinic->Post("/fhir/Patient", patient_of(kClinicFacility, "FHIR-1"), "application/fhir+json");
  ASSERT_TRUE(own) << httplib::to_string(own.error());
  EXPECT_EQ(own->status, 201) << own->body;
  auto other = clinic->Post("/fhir/Patient", patient_of("450324-WS-002", "FHIR-2"), "application/fhir+json");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 403) << other->body;
  EXPECT_THAT(other->body, HasSubstr("not for facility \\\"450324-WS-002\\\""));
  auto clinic_reads = clinic->Get(absl::StrCat("/fhir/Patient/", kClinicFacility, "%7CFHIR-1").c_str());
  ASSERT_TRUE(clinic_reads);
  EXPECT_EQ(clinic_reads->status, 403) << clinic_reads->body;

  // The steward reads the record through the facade once the view has it.
  auto steward = https_as("steward");
  int status = 0;
  std::string body;
  for (absl::Time until = absl::Now() + absl::Seconds(60); absl::Now() < until; absl::SleepFor(absl::Milliseconds(100))) {
    auto read = steward->Get(absl::StrCat("/fhir/Patient/", kClinicFacility, "%7CFHIR-1").c_str(),
                             {{"X-Purpose-Of-Use", "operations"}});
    ASSERT_TRUE(read) << httplib::to_string(read.error());
    status = read->status;
    body = read->body;
    if (status != 404) break;
  }
  ASSERT_EQ(status, 200) << body;
  EXPECT_THAT(body, HasSubstr("王"));

  // The access log: the facade (as the reader) read on behalf of the
  // steward, found by either name; nothing for the refused 450324-WS-002.
  hisbridge::v1::ListAccessLogRequest by_steward;
  by_steward.set_who("steward:dev");
  by_steward.set_page_size(1000);
  hisbridge::v1::ListAccessLogResponse log;
  ASSERT_TRUE(ListAccessLog("admin", by_steward, &log).ok());
  bool seen = false;
  for (const auto& e : log.entries()) {
    if (e.method() != "QueryService.LookupBySource" || !e.allowed()) continue;
    seen = true;
    EXPECT_EQ(e.who(), "reader:lead-hospital");
    EXPECT_EQ(e.on_behalf_of(), "steward:dev");
    EXPECT_EQ(e.purpose(), "operations");
    EXPECT_FALSE(e.patient_id().empty());
  }
  EXPECT_TRUE(seen) << log.DebugString();
  EXPECT_THAT(ReadFileToString(fhir_dir + "/rejected.jsonl").value(), HasSubstr("450324-WS-002"));
  server->Stop();
  forwarder->Stop();
}

TEST_F(SecurityTest, StewardCommandsCarryTheCertificateIdentity) {
  hisbridge::v1::Record other = Patient("450324-WS-003", "STEWARD-2", "");
  other.set_name("李秀英");
  other.set_sex("2");
  other.set_birth_date("1962-11-20");
  SubmitAndWait("gateway", {Patient("450324-WS-003", "STEWARD-1", ""), other});
  std::vector<std::string> ids;
  for (const char* record : {"STEWARD-1", "STEWARD-2"}) {
    auto query = hisbridge::v1::QueryService::NewStub(ChannelAs("reader"));
    grpc::ClientContext context;
    Deadline(&context);
    context.AddMetadata(security::kPurposeHeader, "operations");
    hisbridge::v1::LookupBySourceRequest request;
    request.set_facility_id("450324-WS-003");
    request.set_record_id(record);
    hisbridge::v1::Patient patient;
    ASSERT_TRUE(query->LookupBySource(&context, request, &patient).ok());
    ids.push_back(patient.patient_id());
  }
  ASSERT_NE(ids[0], ids[1]);
  auto review = hisbridge::v1::ReviewService::NewStub(ChannelAs("steward"));
  grpc::ClientContext context;
  Deadline(&context, 30);
  hisbridge::v1::MarkNotSamePersonRequest request;
  request.set_patient_id(ids[0]);
  request.set_other_patient_id(ids[1]);
  request.mutable_context()->set_actor("li");  // kept beside the identity, which takes precedence
  request.mutable_context()->set_reason("different people, same household");
  request.mutable_context()->set_wait_until_applied(true);
  hisbridge::v1::CommandAck ack;
  grpc::Status status = review->MarkNotSamePerson(&context, request, &ack);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(ack.applied()) << ack.result();

  kafka::KafkaConfig config;
  config.bootstrap = node_->kafka_bootstrap();
  auto consumer = kafka::Consumer::Create(config, kafka::ConsumerOptions());
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE((*consumer)->Assign({{ack.position().topic(), ack.position().partition(), ack.position().offset()}}).ok());
  hisbridge::v1::InboxEvent event;
  for (absl::Time until = absl::Now() + absl::Seconds(30); event.command().command_id().empty() && absl::Now() < until;) {
    kafka::PollResult result;
    ASSERT_TRUE((*consumer)->Poll(absl::Milliseconds(200), &result).ok());
    for (const auto& m : result.messages) {
      hisbridge::v1::InboxEvent e;
      if (e.ParseFromString(m.value) && e.command().command_id() == ack.command_id()) event = e;
    }
  }
  ASSERT_EQ(event.command().command_id(), ack.command_id());
  EXPECT_EQ(event.meta().submitter(), "steward:dev");
  EXPECT_EQ(event.meta().channel(), "review");
  EXPECT_EQ(event.command().actor(), "steward:dev (as li)");
}

// Every digit string of the county's resident ids and phones (11 or more
// characters: shorter fragments would match anything).
std::set<std::string> Identifiers(const synth::Dataset& county) {
  std::set<std::string> out;
  const std::regex field("\"(id_number|phone)\":\"([^\"]*)\"");
  county.ForEachLine([&](absl::string_view line) {
    const std::string text(line);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), field); it != std::sregex_iterator(); ++it) {
      const std::string value = (*it)[2];
      std::string digits;
      for (char c : value) {
        if ((c >= '0' && c <= '9') || c == 'X' || c == 'x') digits.push_back(c);
      }
      if (absl::StartsWith(digits, "86") && digits.size() == 13) digits = digits.substr(2);
      if (digits.size() >= 11) out.insert(digits);
      if (value.size() >= 11) out.insert(value);
    }
  });
  return out;
}

// The identifiers found in any file under `dir`.
std::set<std::string> FoundInFiles(const std::string& dir, const std::set<std::string>& needles) {
  std::set<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const std::string& n : needles) {
      if (bytes.find(n) != std::string::npos) found.insert(absl::StrCat(n, " in ", entry.path().string()));
    }
  }
  return found;
}

TEST_F(SecurityTest, NoIdentifierOfALoadedCountyIsStoredOrLoggedInPlaintext) {
  synth::GenOptions gen;
  gen.people = 500;
  gen.seed = 9;
  auto county = synth::Generate(gen);
  ASSERT_TRUE(county.ok()) << county.status();
  const std::set<std::string> needles = Identifiers(*county);
  ASSERT_GT(needles.size(), 300u);

  auto stub = hisbridge::v1::IngestService::NewStub(ChannelAs("gateway"));
  hisbridge::v1::SubmitResponse all;
  hisbridge::v1::SubmitRequest chunk;
  auto flush = [&] {
    if (chunk.json_lines_size() == 0) return;
    grpc::ClientContext context;
    Deadline(&context, 60);
    hisbridge::v1::SubmitResponse response;
    grpc::Status status = stub->Submit(&context, chunk, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.unavailable(), 0);
    for (const auto& p : response.positions()) *all.add_positions() = p;
    chunk.Clear();
  };
  county->ForEachLine([&](absl::string_view line) {
    chunk.add_json_lines(std::string(line));
    if (chunk.json_lines_size() == 500) flush();
  });
  flush();
  WaitFor(all);
  ASSERT_GT(node_->views()->applied_views(), 300);
  // Reads go through the audited path too (and must not log what they return).
  hisbridge::v1::Patient patient;
  ASSERT_TRUE(GetPatient("reader", "treatment", "450324-P0000001", &patient).ok());

  // Every file of the linker's index, the query store and the access log,
  // as they are on disk with the process running (WAL, memtable flushes,
  // SST files, manifests, RocksDB's own LOG).
  EXPECT_THAT(FoundInFiles(node_->options().data_dir, needles), ::testing::IsEmpty());
  std::set<std::string> in_logs;
  const std::string logs = logs_->All();
  for (const std::string& n : needles) {
    if (logs.find(n) != std::string::npos) in_logs.insert(n);
  }
  EXPECT_THAT(in_logs, ::testing::IsEmpty());

  // The scan can fail: the same identifiers written without encryption are
  // found.
  const std::string control = *dir_ + "/control";
  {
    index::KvStoreOptions options;
    options.families = {"patients"};
    auto store = index::KvStore::Open(control, options);
    ASSERT_TRUE(store.ok());
    auto batch = (*store)->NewBatch();
    batch.Put(1, "P1", *needles.begin());
    ASSERT_TRUE((*store)->Write(&batch).ok());
  }
  EXPECT_FALSE(FoundInFiles(control, needles).empty());
}

TEST_F(SecurityTest, KeyRotationReencryptsAndOldDataStaysReadable) {
  // A store of its own (the node's are in use), written as the node writes.
  const std::string dir = *dir_ + "/rotation";
  auto ring = security::KeyRing::Load(*certs_ + "/keys.conf");
  ASSERT_TRUE(ring.ok());
  const std::string old_id = ring->active_id();
  index::KvStoreOptions options;
  options.families = {"patients", "offsets"};
  options.plaintext_families = {"offsets"};
  options.cipher = std::make_shared<security::AesGcmCipher>(*ring);
  {
    auto store = index::KvStore::Open(dir, options);
    ASSERT_TRUE(store.ok());
    auto batch = (*store)->NewBatch();
    for (int i = 0; i < 100; ++i) batch.Put(1, absl::StrCat("P", i), absl::StrCat("45032419850302", 1000 + i));
    ASSERT_TRUE((*store)->Write(&batch).ok());
  }
  // Rotate: a new active key; the old one still listed, so all stays readable.
  const std::string new_id = ring->AddKey();
  ASSERT_NE(new_id, old_id);
  options.cipher = std::make_shared<security::AesGcmCipher>(*ring);
  {
    auto store = index::KvStore::Open(dir, options);
    ASSERT_TRUE(store.ok());
    EXPECT_EQ((*store)->Get(1, "P7")->value_or(""), "450324198503021007");
    auto stats = (*store)->Reencrypt();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->rewritten, 100);
  }
  // With the old key gone, everything still reads: it was re-encrypted.
  security::KeyRing rotated = *ring;
  ASSERT_TRUE(rotated.RemoveKey(old_id).ok());
  options.cipher = std::make_shared<security::AesGcmCipher>(rotated);
  {
    auto store = index::KvStore::Open(dir, options);
    ASSERT_TRUE(store.ok());
    int read = 0;
    ASSERT_TRUE((*store)->Scan(1, "", [&](absl::string_view, absl::string_view v) {
                    EXPECT_TRUE(absl::StartsWith(v, "45032419850302"));
                    ++read;
                    return true;
                  }).ok());
    EXPECT_EQ(read, 100);
  }
  // Whereas data never re-encrypted names the missing key.
  const std::string stale = *dir_ + "/stale";
  {
    index::KvStoreOptions original = options;
    original.cipher = std::make_shared<security::AesGcmCipher>(*security::KeyRing::Load(*certs_ + "/keys.conf"));
    auto store = index::KvStore::Open(stale, original);
    ASSERT_TRUE(store.ok());
    auto batch = (*store)->NewBatch();
    batch.Put(1, "P1", "450324198503021232");
    ASSERT_TRUE((*store)->Write(&batch).ok());
  }
  auto store = index::KvStore::Open(stale, options);
  ASSERT_TRUE(store.ok());
  auto missing = (*store)->Get(1, "P1");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(old_id));
  // The node's own stores are encrypted with the same file: a store opened
  // without keys refuses to hand out ciphertext.
  index::KvStoreOptions no_keys;
  no_keys.families = index::KvStore::ListFamilies(dir).value();
  auto plain = index::KvStore::Open(dir, no_keys);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)->Get(1, "P7").status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace hisbridge
