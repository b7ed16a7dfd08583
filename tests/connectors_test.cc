// The connectors end to end against an in-process Node (all roles, embedded
// development broker): HL7 v2 over MLLP with real ACKs, a GB18030 CSV
// import, and store-and-forward while ingest is away.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "connectors/file/file_importer.h"
#include "connectors/hl7v2/hl7v2_connector.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/events.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/charset/charset.h"
#include "libs/forward/forwarder.h"
#include "libs/kafka/consumer.h"
#include "libs/kafka/dev_broker.h"
#include "services/node/node.h"

extern char** environ;

namespace hisbridge {
namespace {

using connectors::hl7v2::MllpClient;
using ::testing::HasSubstr;

std::string UniqueName(absl::string_view base) {
  static int counter = 0;
  return absl::StrCat(base, "-", getpid(), "-", counter++);
}

std::string Hl7(const std::string& name) {
  return ReadFileToString(std::string(HISBRIDGE_SOURCE_DIR) + "/connectors/hl7v2/testdata/" + name).value();
}

// Reads the consumer's assignment until `done()` holds or `budget` runs out,
// handing each message to `on_message`. Bounded by time, not by poll count:
// a poll returns as soon as its buffer is drained, so how many messages one
// poll carries depends on fetch timing and says nothing about progress.
void PollUntil(kafka::Consumer& consumer, absl::Duration budget, const std::function<bool()>& done,
               const std::function<void(const kafka::Message&)>& on_message) {
  const absl::Time deadline = absl::Now() + budget;
  while (!done() && absl::Now() < deadline) {
    kafka::PollResult result;
    ASSERT_TRUE(consumer.Poll(absl::Milliseconds(200), &result).ok());
    for (const auto& m : result.messages) on_message(m);
  }
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

class Query {
 public:
  explicit Query(const std::string& address)
      : stub_(hisbridge::v1::QueryService::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}
  grpc::Status Lookup(const std::string& facility, const std::string& record, hisbridge::v1::Patient* patient) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
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
  // Polls until `ready` holds for the patient of (facility, record).
  hisbridge::v1::Patient WaitFor(const std::string& facility, const std::string& record,
                                 const std::function<bool(const hisbridge::v1::Patient&)>& ready) {
    hisbridge::v1::Patient p;
    for (int i = 0; i < 300; ++i) {
      p.Clear();
      if (Lookup(facility, record, &p).ok() && ready(p)) return p;
      absl::SleepFor(absl::Milliseconds(100));
    }
    ADD_FAILURE() << "timed out waiting for " << facility << "/" << record << ": patient " << p.patient_id()
                  << " version " << p.version() << ", " << p.sources_size() << " sources, " << p.events_size()
                  << " events";
    return p;
  }

 private:
  std::unique_ptr<hisbridge::v1::QueryService::Stub> stub_;
};

int CountEvents(const hisbridge::v1::Patient& p, absl::string_view kind) {
  int n = 0;
  for (const auto& e : p.events()) n += e.kind() == kind;
  return n;
}

bool HasSource(const hisbridge::v1::Patient& p, absl::string_view record) {
  for (const auto& s : p.sources()) {
    if (s.record_id() == record) return true;
  }
  return false;
}

// Starts `hisbridge ARGS...` with stdout and stderr to `log` and stdin from
// /dev/null; -1 if it could not be started.
pid_t SpawnHisbridge(std::vector<std::string> args, const std::string& log) {
  args.insert(args.begin(), HISBRIDGE_BINARY);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid = -1;
  const int err = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(err, 0) << HISBRIDGE_BINARY;
  return err == 0 ? pid : -1;
}

// A `hisbridge` child process, SIGKILLed and reaped if the test ends before
// Terminate().
class HisbridgeProcess {
 public:
  HisbridgeProcess(std::vector<std::string> args, std::string log)
      : log_(std::move(log)), pid_(SpawnHisbridge(std::move(args), log_)) {}
  ~HisbridgeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool started() const { return pid_ > 0; }
  std::string Log() const { return ReadFileToString(log_).value_or(""); }
  // The number right after `label` in the process's output, once it
  // appears; 0 if it did not within `timeout`.
  int NumberAfter(const std::string& label, absl::Duration timeout = absl::Seconds(30)) const {
    for (const absl::Time until = absl::Now() + timeout; absl::Now() < until; absl::SleepFor(absl::Milliseconds(20))) {
      const std::string text = Log();
      const size_t at = text.find(label);
      if (at == std::string::npos) continue;
      int n = 0;
      for (size_t i = at + label.size(); i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
        n = n * 10 + (text[i] - '0');
      }
      if (n > 0) return n;
    }
    return 0;
  }
  // SIGTERM, then the exit code (-1 unless it exited normally).
  int Terminate() {
    if (pid_ <= 0 || ::kill(pid_, SIGTERM) != 0) return -1;
    int status = 0;
    const pid_t waited = ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return waited > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string log_;
  pid_t pid_;
};

// The value of `series` (name and labels as printed) in a Prometheus text
// page, or "missing".
std::string MetricValue(absl::string_view page, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    if (absl::StartsWith(line, series + " ")) return std::string(line.substr(series.size() + 1));
  }
  return "missing";
}

class ConnectorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kError);
    dir_ = MakeTempDirectory("connectors_test").value();
  }
  void TearDown() override { ASSERT_TRUE(RemoveRecursively(dir_).ok()); }
  NodeOptions Options(const std::string& listen = "127.0.0.1:0") {
    NodeOptions o;
    o.data_dir = dir_ + "/node";
    o.embedded_broker = true;
    o.linker_group = UniqueName("linker");
    o.listen = listen;
    return o;
  }
  std::unique_ptr<forward::Forwarder> StartForwarder(const std::string& target, const std::string& channel,
                                                     absl::Duration ingest_deadline = absl::Seconds(10)) {
    forward::ForwarderOptions fo;
    fo.spool.dir = dir_ + "/spool-" + channel;
    fo.initial_backoff = absl::Milliseconds(100);
    fo.max_backoff = absl::Milliseconds(500);
    fo.rpc_deadline = ingest_deadline;
    forward::GrpcIngestOptions g;
    g.target = target;
    g.channel = channel;
    g.max_reconnect_backoff = absl::Milliseconds(300);
    return forward::Forwarder::Start(fo, forward::NewGrpcIngestClient(g)).value();
  }
  std::unique_ptr<connectors::hl7v2::Hl7v2Connector> StartHl7(forward::Forwarder* forwarder) {
    connectors::hl7v2::Hl7v2ConnectorOptions o;
    o.mllp.listen = "127.0.0.1:0";
    o.reject_log = dir_ + "/rejected.jsonl";
    auto c = std::make_unique<connectors::hl7v2::Hl7v2Connector>(forwarder, o);
    EXPECT_TRUE(c->Start().ok());
    return c;
  }
  hl7::ParsedAck Send(MllpClient* client, const std::string& message) {
    auto ack = client->Exchange(message);
    EXPECT_TRUE(ack.ok()) << ack.status();
    auto parsed = hl7::ReadAck(ack.ok() ? *ack : "");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : hl7::ParsedAck();
  }
  std::string dir_;
};

TEST_F(ConnectorsTest, Hl7MessagesOverMllpReachTheIntegratedView) {
  Node node(Options());
  ASSERT_TRUE(node.Start().ok());
  auto forwarder = StartForwarder(node.grpc_address(), "hl7v2");
  auto connector = StartHl7(forwarder.get());
  auto client = MllpClient::Connect(absl::StrCat("127.0.0.1:", connector->port()));
  ASSERT_TRUE(client.ok());

  hl7::ParsedAck a04 = Send(client->get(), Hl7("adt_a04_zh_wangxiaoming.hl7"));
  EXPECT_EQ(a04.code, "AA");
  EXPECT_EQ(a04.acked_control_id, "WS003-20260301-0001");
  EXPECT_EQ(Send(client->get(), Hl7("adt_a04_zh_duplicate_record.hl7")).code, "AA");
  EXPECT_EQ(Send(client->get(), Hl7("oru_r01_zh_blood_pressure.hl7")).code, "AA");
  // Broken messages: a definite AR / AE with the reason, and nothing else disturbed.
  hl7::ParsedAck ar = Send(client->get(), Hl7("adt_a04_v2.3.1_literal_SOM_prefix.hl7"));
  EXPECT_EQ(ar.code, "AR");
  EXPECT_THAT(ar.text, HasSubstr("must begin with an MSH segment"));
  hl7::ParsedAck ae = Send(client->get(), Hl7("adt_a04_zh_missing_record_id.hl7"));
  EXPECT_EQ(ae.code, "AE");
  ASSERT_FALSE(ae.errors.empty());
  EXPECT_EQ(ae.errors[0].location.segment, "PID");
  EXPECT_EQ(ae.errors[0].location.field, 3);
  EXPECT_EQ(ae.errors[0].code, hl7::ErrorCode::kRequiredFieldMissing);
  EXPECT_EQ(Send(client->get(), Hl7("adt_a04_zh_gb18030_liguiying.hl7")).code, "AA");

  Query query(node.grpc_address());
  hisbridge::v1::Patient wang = query.WaitFor("450321-WS-003", "MZ00017", [](const hisbridge::v1::Patient& p) {
    return CountEvents(p, "observation") == 3 && CountEvents(p, "encounter") == 1;
  });
  EXPECT_EQ(wang.demographics().name(), "王小明");
  EXPECT_EQ(wang.demographics().id_number(), "450321198503021232");
  // The integrated view: the visit (ADT PV1/DG1) and the three readings
  // (ORU OBX) on the patient's one timeline.
  hisbridge::v1::IntegratedView view;
  ASSERT_TRUE(query.View(wang.patient_id(), &view).ok());
  std::map<std::string, std::string> timeline;  // event id -> kind
  for (const auto& entry : view.timeline()) timeline[entry.event().event_id()] = entry.event().kind();
  EXPECT_EQ(timeline, (std::map<std::string, std::string>{{"V20260301001", "encounter"},
                                                          {"BP20260301-17-1", "observation"},
                                                          {"BP20260301-17-2", "observation"},
                                                          {"BP20260301-17-3", "observation"}}));
  for (const auto& entry : view.timeline()) {
    if (entry.event().event_id() == "BP20260301-17-1") {
      EXPECT_EQ(entry.event().record().code(), "8480-6");
      EXPECT_EQ(entry.event().record().value().number_value(), 152);
      EXPECT_EQ(entry.event().record().abnormal_flag(), "H");
    }
    if (entry.event().kind() == "encounter") {
      ASSERT_EQ(entry.event().record().diagnoses_size(), 1);
      EXPECT_EQ(entry.event().record().diagnoses(0).code(), "I10");
    }
  }
  // MZ00099 is a live record until the merge (the matcher may or may not
  // have linked it to MZ00017 already: same birth date, phone, village).
  query.WaitFor("450321-WS-003", "MZ00099", [](const auto&) { return true; });
  hisbridge::v1::Patient li = query.WaitFor("450321-CS-011", "CS7", [](const auto&) { return true; });
  EXPECT_EQ(li.demographics().name(), "李桂英");  // GB18030 decoded

  // The A40 folds MZ00099 into MZ00017.
  EXPECT_EQ(Send(client->get(), Hl7("adt_a40_zh_merge.hl7")).code, "AA");
  hisbridge::v1::Patient merged = query.WaitFor("450321-WS-003", "MZ00017", [](const hisbridge::v1::Patient& p) {
    return p.version() > 0 && !HasSource(p, "MZ00099");
  });
  EXPECT_EQ(merged.patient_id(), wang.patient_id());
  for (int i = 0; i < 100; ++i) {
    hisbridge::v1::Patient p;
    grpc::Status s = query.Lookup("450321-WS-003", "MZ00099", &p);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND || p.patient_id() == wang.patient_id() ||
        p.status() == hisbridge::v1::PATIENT_STATUS_MERGED) {
      break;
    }
    ASSERT_LT(i, 99) << "MZ00099 still a live patient of its own: " << p.patient_id();
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(connector->stats().rejected, 1);
  EXPECT_EQ(connector->stats().errors, 1);
  EXPECT_EQ(connector->stats().spooled, 0);
  connector->Stop();
  forwarder->Stop();
  EXPECT_TRUE(node.Health().ok());
}

TEST_F(ConnectorsTest, Gb18030CsvImportsWithCorrectNames) {
  Node node(Options());
  ASSERT_TRUE(node.Start().ok());
  auto forwarder = StartForwarder(node.grpc_address(), "file");
  connectors::file::ImporterOptions o;
  o.state_dir = dir_ + "/file-state";
  const std::string testdata = std::string(HISBRIDGE_SOURCE_DIR) + "/connectors/file/testdata/";
  o.mapping = connectors::file::CsvMapping::Parse(ReadFileToString(testdata + "patients_zh.mapping").value()).value();
  auto importer = connectors::file::FileImporter::Create(forwarder.get(), std::move(o));
  ASSERT_TRUE(importer.ok());
  auto report = (*importer)->ImportFile(testdata + "patients_zh_gb18030.csv");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->encoding, "gb18030");
  EXPECT_EQ(report->sent, 4);
  EXPECT_EQ(report->rejected, 2);
  Query query(node.grpc_address());
  EXPECT_EQ(query.WaitFor("450321-WS-001", "DA0001", [](const auto&) { return true; }).demographics().name(), "王小明");
  EXPECT_EQ(query.WaitFor("450321-WS-001", "DA0003", [](const auto&) { return true; }).demographics().name(),
            "欧阳娜娜");
  forwarder->Stop();
}

// Ingest (and its broker) is away: the connector keeps accepting into the
// spool; when ingest returns every message arrives exactly once, in order.
TEST_F(ConnectorsTest, SpoolForwardsExactlyOnceInOrderWhenIngestReturns) {
  const int port = FreePort();
  const std::string address = absl::StrCat("127.0.0.1:", port);
  auto forwarder = StartForwarder(address, "hl7v2");
  auto connector = StartHl7(forwarder.get());
  auto client = MllpClient::Connect(absl::StrCat("127.0.0.1:", connector->port()));
  ASSERT_TRUE(client.ok());
  const std::string base = Hl7("adt_a04_zh_wangxiaoming.hl7");
  constexpr int kMessages = 25;
  for (int i = 0; i < kMessages; ++i) {
    std::string msg = absl::StrReplaceAll(base, {{"MZ00017", absl::StrCat("SP", 100 + i)},
                                                 {"WS003-20260301-0001", absl::StrCat("SPOOL-", i)},
                                                 {"V20260301001", absl::StrCat("V", i)}});
    ASSERT_EQ(Send(client->get(), msg).code, "AA") << i;
  }
  EXPECT_EQ(connector->stats().spooled, kMessages);
  EXPECT_EQ(forwarder->stats().spool_pending, kMessages);

  Node node(Options(address));
  ASSERT_TRUE(node.Start().ok());
  ASSERT_TRUE(forwarder->WaitUntilDrained(absl::Seconds(60)));
  // A message after the link returned goes behind the spooled ones.
  std::string last = absl::StrReplaceAll(base, {{"MZ00017", "SP999"}, {"V20260301001", "V999"}});
  ASSERT_EQ(Send(client->get(), last).code, "AA");

  // Read the whole inbox: every message once, in the order sent.
  kafka::KafkaConfig config;
  config.bootstrap = node.kafka_bootstrap();
  auto consumer = kafka::Consumer::Create(config, kafka::ConsumerOptions());
  ASSERT_TRUE(consumer.ok());
  std::vector<kafka::TopicPartition> parts;
  for (int p = 0; p < node.options().inbox_partitions; ++p) parts.push_back({"hisbridge.inbox", p, 0});
  ASSERT_TRUE((*consumer)->Assign(parts).ok());
  std::vector<std::string> patients;
  std::set<int32_t> ended;
  PollUntil(
      **consumer, absl::Seconds(60), [&] { return patients.size() >= kMessages + 1; },
      [&](const kafka::Message& m) {
        hisbridge::v1::InboxEvent event;
        ASSERT_TRUE(event.ParseFromString(m.value));
        if (event.record().kind() == "patient") patients.push_back(event.record().record_id());
        EXPECT_EQ(event.meta().channel(), "hl7v2");
      });
  std::vector<std::string> expected;
  for (int i = 0; i < kMessages; ++i) expected.push_back(absl::StrCat("SP", 100 + i));
  expected.push_back("SP999");
  EXPECT_EQ(patients, expected);
  Query query(node.grpc_address());
  // One person (same resident id) with every visit, each once.
  hisbridge::v1::Patient p = query.WaitFor("450321-WS-003", "SP124", [](const hisbridge::v1::Patient& p) {
    return CountEvents(p, "encounter") == kMessages + 1;
  });
  EXPECT_EQ(p.demographics().name(), "王小明");
  connector->Stop();
  forwarder->Stop();
}

// Kafka goes away while ingest stays up: ingest cannot get the records
// confirmed (acks=all), the connector's Submit runs into its deadline, and
// the connector keeps answering AA from its spool. When the broker returns
// the spool is forwarded behind the in-flight attempts. Records an attempt
// had handed to ingest's producer before its deadline are delivered late as
// well, so the inbox may hold a message more than once (at-least-once); the
// first copies are in the order sent, and the unified index holds every
// message exactly once.
TEST_F(ConnectorsTest, BrokerOutageIsRiddenOutExactlyOnceInOrder) {
  const kafka::TopicNames topics;
  auto broker = kafka::DevBroker::Start({{topics.inbox, 4}, {topics.views, 4}, {topics.changes, 1}, {topics.rejects, 1}});
  ASSERT_TRUE(broker.ok()) << broker.status();
  NodeOptions options = Options();
  options.embedded_broker = false;
  options.kafka.bootstrap = (*broker)->bootstrap();
  Node node(options);
  ASSERT_TRUE(node.Start().ok());
  auto forwarder = StartForwarder(node.grpc_address(), "hl7v2", /*ingest_deadline=*/absl::Seconds(2));
  auto connector = StartHl7(forwarder.get());
  auto client = MllpClient::Connect(absl::StrCat("127.0.0.1:", connector->port()));
  ASSERT_TRUE(client.ok());
  const std::string base = Hl7("adt_a04_zh_wangxiaoming.hl7");
  auto message = [&](int i) {
    return absl::StrReplaceAll(base, {{"MZ00017", absl::StrCat("BO", 100 + i)},
                                      {"WS003-20260301-0001", absl::StrCat("OUTAGE-", i)},
                                      {"V20260301001", absl::StrCat("V", i)}});
  };
  constexpr int kBefore = 5, kDuring = 10, kAfter = 3;
  int sent = 0;
  for (; sent < kBefore; ++sent) ASSERT_EQ(Send(client->get(), message(sent)).code, "AA") << sent;
  EXPECT_EQ(connector->stats().spooled, 0);

  ASSERT_TRUE((*broker)->SetBrokersDown().ok());
  const absl::Time outage = absl::Now();
  for (; sent < kBefore + kDuring; ++sent) ASSERT_EQ(Send(client->get(), message(sent)).code, "AA") << sent;
  // The first waited for the deadline, the rest went straight behind it.
  EXPECT_EQ(connector->stats().spooled, kDuring);
  EXPECT_LT(absl::Now() - outage, absl::Seconds(10));
  EXPECT_EQ(forwarder->stats().spool_pending, kDuring);
  ASSERT_TRUE((*broker)->SetBrokersUp().ok());

  ASSERT_TRUE(forwarder->WaitUntilDrained(absl::Seconds(90)));
  for (; sent < kBefore + kDuring + kAfter; ++sent) ASSERT_EQ(Send(client->get(), message(sent)).code, "AA") << sent;
  EXPECT_EQ(connector->stats().spooled, kDuring);  // direct again

  std::vector<std::string> expected;
  for (int i = 0; i < sent; ++i) expected.push_back(absl::StrCat("BO", 100 + i));
  // The inbox: first copies in the order sent; repeats only of messages
  // sent during the outage.
  kafka::KafkaConfig config;
  config.bootstrap = (*broker)->bootstrap();
  auto consumer = kafka::Consumer::Create(config, kafka::ConsumerOptions());
  ASSERT_TRUE(consumer.ok());
  std::vector<kafka::TopicPartition> parts;
  for (int p = 0; p < 4; ++p) parts.push_back({topics.inbox, p, 0});
  ASSERT_TRUE((*consumer)->Assign(parts).ok());
  std::vector<std::string> first_copies;
  std::map<std::string, int> copies;
  PollUntil(
      **consumer, absl::Seconds(60), [&] { return first_copies.size() >= expected.size(); },
      [&](const kafka::Message& m) {
        hisbridge::v1::InboxEvent event;
        ASSERT_TRUE(event.ParseFromString(m.value));
        if (event.record().kind() != "patient") return;
        if (copies[event.record().record_id()]++ == 0) first_copies.push_back(event.record().record_id());
      });
  EXPECT_EQ(first_copies, expected);
  for (int i = 0; i < sent; ++i) {
    if (i < kBefore || i >= kBefore + kDuring) {
      EXPECT_EQ(copies[expected[i]], 1) << expected[i] << " was not in the outage and must not repeat";
    }
  }
  // The unified index: one person (same resident id) with every visit once.
  Query query(node.grpc_address());
  hisbridge::v1::Patient p = query.WaitFor("450321-WS-003", expected.back(), [&](const hisbridge::v1::Patient& p) {
    return CountEvents(p, "encounter") == sent;
  });
  std::set<std::string> visits;
  for (const auto& e : p.events()) {
    if (e.kind() == "encounter") {
      EXPECT_TRUE(visits.insert(e.event_id()).second) << e.event_id() << " twice";
    }
  }
  EXPECT_EQ(static_cast<int>(visits.size()), sent);
  int sources = 0;
  for (const auto& s : p.sources()) sources += absl::StartsWith(s.record_id(), "BO");
  EXPECT_EQ(sources, sent);
  connector->Stop();
  forwarder->Stop();
  node.Stop();
}

// The connector as deployed: `hisbridge connector hl7v2 --metrics-listen`
// answers /healthz for the Kubernetes probes and counts every ACK and what
// its forwarder did in /metrics; SIGTERM stops it cleanly.
TEST_F(ConnectorsTest, Hl7ConnectorProcessServesMetricsAndHealth) {
  Node node(Options());
  ASSERT_TRUE(node.Start().ok());
  HisbridgeProcess connector({"connector", "hl7v2", "--listen", "127.0.0.1:0", "--mllp-insecure-plaintext",
                              "--ingest", node.grpc_address(), "--spool-dir", dir_ + "/hl7-spool",
                              "--metrics-listen", "127.0.0.1:0"},
                             dir_ + "/hl7v2.log");
  ASSERT_TRUE(connector.started());
  // "hisbridge connector hl7v2: listening on port N, metrics on port M"
  const int mllp_port = connector.NumberAfter("listening on port ");
  const int metrics_port = connector.NumberAfter("metrics on port ");
  ASSERT_GT(mllp_port, 0) << connector.Log();
  ASSERT_GT(metrics_port, 0) << connector.Log();

  auto client = MllpClient::Connect(absl::StrCat("127.0.0.1:", mllp_port));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(Send(client->get(), Hl7("adt_a04_zh_wangxiaoming.hl7")).code, "AA");
  EXPECT_EQ(Send(client->get(), Hl7("adt_a04_v2.3.1_literal_SOM_prefix.hl7")).code, "AR");

  httplib::Client http("127.0.0.1", metrics_port);
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health) << "no answer from /healthz";
  EXPECT_EQ(health->status, 200);
  auto page = http.Get("/metrics");
  ASSERT_TRUE(page) << "no answer from /metrics";
  ASSERT_EQ(page->status, 200);
  auto value = [&page](const std::string& series) { return MetricValue(page->body, series); };
  EXPECT_EQ(value("hisbridge_hl7v2_messages_total{ack=\"AA\"}"), "1") << page->body;
  EXPECT_EQ(value("hisbridge_hl7v2_messages_total{ack=\"AE\"}"), "0");
  EXPECT_EQ(value("hisbridge_hl7v2_messages_total{ack=\"AR\"}"), "1");
  EXPECT_EQ(value("hisbridge_hl7v2_connections_total"), "1");
  EXPECT_EQ(value("hisbridge_connector_units_total{connector=\"hl7v2\",outcome=\"direct\"}"), "1");
  EXPECT_EQ(value("hisbridge_connector_units_total{connector=\"hl7v2\",outcome=\"failed\"}"), "0");
  EXPECT_EQ(value("hisbridge_connector_spool_pending_units{connector=\"hl7v2\"}"), "0");
  EXPECT_EQ(value("hisbridge_connector_spool_max_bytes{connector=\"hl7v2\"}"), "1073741824");
  EXPECT_THAT(page->body, HasSubstr("process_resident_memory_bytes"));
  EXPECT_EQ(connector.Terminate(), 0) << connector.Log();
}

// `hisbridge connector file --watch` runs for as long as the drop folder
// is used: its /metrics count the files and records (and what its
// forwarder did), /healthz answers the probes, SIGTERM stops it cleanly.
TEST_F(ConnectorsTest, FileConnectorWatchServesMetricsAndHealth) {
  Node node(Options());
  ASSERT_TRUE(node.Start().ok());
  const std::string drop = dir_ + "/dropbox";
  ASSERT_TRUE(MakeDirectories(drop).ok());
  HisbridgeProcess connector({"connector", "file", "--ingest", node.grpc_address(), "--watch", drop, "--state-dir",
                              dir_ + "/file-state", "--spool-dir", dir_ + "/file-spool", "--poll-interval", "100ms",
                              "--metrics-listen", "127.0.0.1:0"},
                             dir_ + "/file.log");
  ASSERT_TRUE(connector.started());
  // "hisbridge connector file: metrics on port M"
  const int metrics_port = connector.NumberAfter("metrics on port ");
  ASSERT_GT(metrics_port, 0) << connector.Log();

  // Two good rows and one the validator refuses, written elsewhere and
  // renamed in, as a clinic's export job would.
  const std::string rows = ReadFileToString(std::string(HISBRIDGE_SOURCE_DIR) + "/samples/county-small.jsonl").value();
  std::vector<absl::string_view> lines = absl::StrSplit(rows, '\n');
  ASSERT_GE(lines.size(), 2u);
  const std::string body = absl::StrCat(lines[0], "\n", lines[1], "\n",
                                        "{\"kind\":\"patient\",\"facility_id\":\"450321-WS-001\"}\n");
  ASSERT_TRUE(WriteFileAtomically(drop + "/export.jsonl.part", body).ok());
  ASSERT_EQ(::rename((drop + "/export.jsonl.part").c_str(), (drop + "/export.jsonl").c_str()), 0);

  httplib::Client http("127.0.0.1", metrics_port);
  std::string page;
  auto value = [&page](const std::string& series) { return MetricValue(page, series); };
  for (absl::Time until = absl::Now() + absl::Seconds(30); absl::Now() < until; absl::SleepFor(absl::Milliseconds(50))) {
    auto r = http.Get("/metrics");
    ASSERT_TRUE(r) << "no answer from /metrics";
    ASSERT_EQ(r->status, 200);
    page = r->body;
    if (value("hisbridge_file_files_total{outcome=\"imported\"}") == "1") break;
  }
  EXPECT_EQ(value("hisbridge_file_files_total{outcome=\"imported\"}"), "1") << page;
  EXPECT_EQ(value("hisbridge_file_files_total{outcome=\"failed\"}"), "0");
  EXPECT_EQ(value("hisbridge_file_records_sent_total"), "2");
  EXPECT_EQ(value("hisbridge_file_records_spooled_total"), "0");
  EXPECT_EQ(value("hisbridge_file_rows_rejected_total"), "1");
  EXPECT_EQ(value("hisbridge_connector_units_total{connector=\"file\",outcome=\"direct\"}"), "1");
  auto health = http.Get("/healthz");
  ASSERT_TRUE(health) << "no answer from /healthz";
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(std::ifstream(drop + "/done/export.jsonl").good());
  EXPECT_EQ(connector.Terminate(), 0) << connector.Log();
}

// The FHIR facade over HTTPS judges each caller by the policy, so it does
// not start without one; over plain HTTP there is no identity to judge.
TEST_F(ConnectorsTest, FhirConnectorOverHttpsNeedsAPolicy) {
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"connector", "fhir",  "--listen",     "127.0.0.1:0", "--ingest",
                                     "127.0.0.1:1", "--spool-dir", dir_ + "/fhir-spool"};
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string log = dir_ + "/fhir.log";
    const pid_t pid = SpawnHisbridge(args, log);
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFileToString(log).value_or(""));
  };
  const std::vector<std::string> https = {"--http-tls-cert", dir_ + "/server.crt", "--http-tls-key",
                                          dir_ + "/server.key", "--http-tls-ca", dir_ + "/ca.crt"};
  auto [code, out] = run(https);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--policy is required with --http-tls-cert"));

  ASSERT_TRUE(WriteFileAtomically(dir_ + "/policy.txt", "lead-hospital-his reader\nclinic:x clinic\n").ok());
  std::vector<std::string> with_policy = https;
  with_policy.insert(with_policy.end(), {"--policy", dir_ + "/policy.txt"});
  std::tie(code, out) = run(with_policy);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--policy: "));
  EXPECT_THAT(out, HasSubstr("line 2"));

  std::tie(code, out) = run({"--http-insecure-plaintext", "--policy", dir_ + "/policy.txt"});
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--policy needs HTTPS"));
}

// `hisbridge connector file` (the real binary) is killed with SIGKILL in the
// middle of a GB18030 export and run again on the same state directory: it
// resumes where its last durable batch ended. Every row reaches the inbox;
// the only repeats are rows of the one batch that was durable but not yet
// recorded in the state file when the process died (at most --batch-rows,
// harmless to the linker); the first copies are in file order.
TEST_F(ConnectorsTest, FileImportKilledMidFileResumesWithoutLosingRows) {
  Node node(Options());
  ASSERT_TRUE(node.Start().ok());
  constexpr int kRows = 8000;
  constexpr int kBatchRows = 20;
  std::string csv = "档案号,姓名,性别,出生日期,身份证号,联系电话,现住址,更新时间\n";
  for (int i = 0; i < kRows; ++i) {
    absl::StrAppend(&csv, "FK", 10000 + i, ",患者", i, ",", i % 2 ? "男" : "女", ",1960/01/01,,1380000", 1000 + i % 9000,
                    ",\"广西壮族自治区桂林市阳朔县遇龙村", i % 9 + 1, "组\",2026-03-01 08:30:00\n");
  }
  auto gb18030 = charset::FromUtf8(csv, charset::Encoding::kGb18030);
  ASSERT_TRUE(gb18030.ok());
  const std::string export_path = dir_ + "/export-gb18030.csv";
  ASSERT_TRUE(WriteFileAtomically(export_path, *gb18030).ok());
  const std::string state_dir = dir_ + "/file-state";
  auto run = [&](const std::string& log) {
    return SpawnHisbridge({"connector", "file", "--ingest", node.grpc_address(), "--spool-dir", dir_ + "/file-spool",
                           "--state-dir", state_dir, "--mapping",
                           std::string(HISBRIDGE_SOURCE_DIR) + "/connectors/file/testdata/patients_zh.mapping",
                           absl::StrCat("--batch-rows=", kBatchRows), export_path},
                          log);
  };
  // The byte offset the state file records for the export (0 if none yet).
  auto recorded_offset = [&]() -> int64_t {
    auto text = ReadFileToString(state_dir + "/import-state.tsv");
    if (!text.ok()) return 0;
    for (absl::string_view line : absl::StrSplit(*text, '\n')) {
      std::vector<std::string> f = absl::StrSplit(line, '\t');
      int64_t offset = 0;
      if (f.size() >= 3 && f[0] == export_path && absl::SimpleAtoi(f[2], &offset)) return offset;
    }
    return 0;
  };

  const pid_t first = run(dir_ + "/first.log");
  ASSERT_GT(first, 0);
  // Kill it as soon as its first batches are durable.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (recorded_offset() == 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(first, &status, 0), first);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the first run ended on its own: " << ReadFileToString(dir_ + "/first.log").value();
  const int64_t killed_at = recorded_offset();
  ASSERT_GT(killed_at, 0);
  ASSERT_LT(killed_at, static_cast<int64_t>(gb18030->size())) << "the first run had already finished the file";

  const pid_t second = run(dir_ + "/second.log");
  ASSERT_GT(second, 0);
  ASSERT_EQ(::waitpid(second, &status, 0), second);
  const std::string second_log = ReadFileToString(dir_ + "/second.log").value();
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << second_log;
  EXPECT_THAT(second_log, HasSubstr(absl::StrCat("resumed at byte ", killed_at)));
  EXPECT_THAT(second_log, HasSubstr("encoding gb18030"));
  EXPECT_EQ(recorded_offset(), static_cast<int64_t>(gb18030->size()));

  // The inbox: every row, first copies in file order, few repeats.
  kafka::KafkaConfig config;
  config.bootstrap = node.kafka_bootstrap();
  auto consumer = kafka::Consumer::Create(config, kafka::ConsumerOptions());
  ASSERT_TRUE(consumer.ok());
  std::vector<kafka::TopicPartition> parts;
  for (int p = 0; p < node.options().inbox_partitions; ++p) parts.push_back({"hisbridge.inbox", p, 0});
  ASSERT_TRUE((*consumer)->Assign(parts).ok());
  std::vector<std::string> first_copies;
  std::map<std::string, int> copies;
  int repeats = 0;
  PollUntil(
      **consumer, absl::Seconds(60), [&] { return static_cast<int>(first_copies.size()) >= kRows; },
      [&](const kafka::Message& m) {
        hisbridge::v1::InboxEvent event;
        ASSERT_TRUE(event.ParseFromString(m.value));
        EXPECT_EQ(event.meta().channel(), "file");
        if (copies[event.record().record_id()]++ == 0) {
          first_copies.push_back(event.record().record_id());
        } else {
          ++repeats;
        }
        if (event.record().record_id() == "FK10007") {
          EXPECT_EQ(event.record().name(), "患者7");  // decoded from GB18030
        }
      });
  ASSERT_EQ(static_cast<int>(first_copies.size()), kRows);
  for (int i = 0; i < kRows; ++i) ASSERT_EQ(first_copies[static_cast<size_t>(i)], absl::StrCat("FK", 10000 + i));
  EXPECT_LE(repeats, kBatchRows);
  std::cout << "killed at byte " << killed_at << " of " << gb18030->size() << "; " << repeats
            << " rows sent twice (the batch in flight)\n";
}

}  // namespace
}  // namespace hisbridge
