#include "connectors/hl7v2/hl7v2_connector.h"

#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/security/dev_certs.h"
#include "libs/security/tls.h"

namespace hisbridge::connectors::hl7v2 {
namespace {

using ::testing::HasSubstr;

class FakeIngest : public forward::IngestClient {
 public:
  absl::StatusOr<hisbridge::v1::SubmitResponse> Submit(const hisbridge::v1::SubmitRequest& request,
                                                       absl::Duration) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down_) return absl::UnavailableError("connection refused");
    hisbridge::v1::SubmitResponse response;
    for (const auto& r : request.records()) {
      response.add_results()->set_outcome(hisbridge::v1::RECORD_OUTCOME_ACCEPTED);
      records_.push_back(r);
    }
    return response;
  }
  void SetDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    down_ = down;
  }
  std::vector<hisbridge::v1::Record> records() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }

 private:
  std::mutex mu_;
  bool down_ = false;
  std::vector<hisbridge::v1::Record> records_;
};

std::string Testdata(const std::string& name) {
  return ReadFileToString(std::string(HISBRIDGE_HL7_TESTDATA) + "/" + name).value();
}

class Hl7v2ConnectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kError);
    dir_ = MakeTempDirectory("hl7v2_connector_test").value();
    auto ingest = std::make_unique<FakeIngest>();
    ingest_ = ingest.get();
    forward::ForwarderOptions fo;
    fo.spool.dir = dir_ + "/spool";
    fo.initial_backoff = absl::Milliseconds(10);
    fo.max_backoff = absl::Milliseconds(50);
    forwarder_ = forward::Forwarder::Start(fo, std::move(ingest)).value();
    Hl7v2ConnectorOptions o;
    o.mllp.listen = "127.0.0.1:0";
    o.mllp.max_message_bytes = 64 << 10;
    o.reject_log = dir_ + "/rejected.jsonl";
    connector_ = std::make_unique<Hl7v2Connector>(forwarder_.get(), o);
    ASSERT_TRUE(connector_->Start().ok());
    address_ = absl::StrCat("127.0.0.1:", connector_->port());
  }
  void TearDown() override {
    connector_->Stop();
    forwarder_->Stop();
    ASSERT_TRUE(RemoveRecursively(dir_).ok());
  }
  hl7::ParsedAck Send(MllpClient* client, const std::string& message) {
    auto ack = client->Exchange(message);
    EXPECT_TRUE(ack.ok()) << ack.status();
    auto parsed = hl7::ReadAck(ack.ok() ? *ack : "");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : hl7::ParsedAck();
  }
  std::string dir_;
  FakeIngest* ingest_;
  std::unique_ptr<forward::Forwarder> forwarder_;
  std::unique_ptr<Hl7v2Connector> connector_;
  std::string address_;
};

TEST_F(Hl7v2ConnectorTest, AcksOverMllp) {
  auto client = MllpClient::Connect(address_);
  ASSERT_TRUE(client.ok()) << client.status();
  hl7::ParsedAck aa = Send(client->get(), Testdata("adt_a04_zh_wangxiaoming.hl7"));
  EXPECT_EQ(aa.code, "AA");
  EXPECT_EQ(aa.acked_control_id, "WS003-20260301-0001");
  hl7::ParsedAck ae = Send(client->get(), Testdata("adt_a04_zh_missing_record_id.hl7"));
  EXPECT_EQ(ae.code, "AE");
  ASSERT_EQ(ae.errors.size(), 1u);
  EXPECT_EQ(ae.errors[0].location.segment, "PID");
  EXPECT_EQ(ae.errors[0].location.field, 3);
  hl7::ParsedAck ar = Send(client->get(), Testdata("adt_a04_v2.3.1_literal_SOM_prefix.hl7"));
  EXPECT_EQ(ar.code, "AR");
  EXPECT_THAT(ar.text, HasSubstr("MSH"));
  // GB18030 in, GB18030 ACK out, still readable.
  hl7::ParsedAck gb = Send(client->get(), Testdata("adt_a04_zh_gb18030_liguiying.hl7"));
  EXPECT_EQ(gb.code, "AA");
  // The connection is still good after the errors.
  EXPECT_EQ(Send(client->get(), Testdata("oru_r01_zh_blood_pressure.hl7")).code, "AA");
  auto got = ingest_->records();
  ASSERT_EQ(got.size(), 2u + 1u + 3u);
  EXPECT_EQ(got[2].name(), "李桂英");
  const std::string rejects = ReadFileToString(dir_ + "/rejected.jsonl").value();
  EXPECT_THAT(rejects, HasSubstr("\"ack\":\"AE\""));
  EXPECT_THAT(rejects, HasSubstr("\"ack\":\"AR\""));
}

TEST_F(Hl7v2ConnectorTest, ValidationErrorsNameTheHl7Field) {
  std::string msg = Testdata("adt_a04_zh_wangxiaoming.hl7");
  msg = absl::StrReplaceAll(msg, {{"MZ00017^^^", std::string(70, 'X') + "^^^"}});
  auto client = MllpClient::Connect(address_);
  ASSERT_TRUE(client.ok());
  hl7::ParsedAck ack = Send(client->get(), msg);
  EXPECT_EQ(ack.code, "AE");
  ASSERT_FALSE(ack.errors.empty());
  EXPECT_THAT(ack.errors[0].message, HasSubstr("PID-3"));
  EXPECT_THAT(ack.errors[0].message, HasSubstr("record_id"));
  EXPECT_TRUE(ingest_->records().empty());
}

TEST_F(Hl7v2ConnectorTest, OversizeMessagesAndNoiseBetweenFrames) {
  auto client = MllpClient::Connect(address_);
  ASSERT_TRUE(client.ok());
  std::string big = Testdata("adt_a04_zh_wangxiaoming.hl7");
  big += "NTE|1||" + std::string(100 << 10, 'x') + "\r";
  hl7::ParsedAck nak = Send(client->get(), big);
  EXPECT_EQ(nak.code, "AR");
  EXPECT_EQ(nak.acked_control_id, "WS003-20260301-0001");
  EXPECT_THAT(nak.text, HasSubstr("at most 65536"));
  ASSERT_TRUE((*client)->SendRaw("\r\n garbage \r\n").ok());
  EXPECT_EQ(Send(client->get(), Testdata("adt_a04_zh_wangxiaoming.hl7")).code, "AA");
}

TEST_F(Hl7v2ConnectorTest, IngestDownMeansSpoolThenForward) {
  ingest_->SetDown(true);
  auto client = MllpClient::Connect(address_);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(Send(client->get(), Testdata("adt_a04_zh_wangxiaoming.hl7")).code, "AA");
  EXPECT_EQ(Send(client->get(), Testdata("oru_r01_zh_blood_pressure.hl7")).code, "AA");
  EXPECT_EQ(connector_->stats().spooled, 2);
  EXPECT_TRUE(ingest_->records().empty());
  ingest_->SetDown(false);
  ASSERT_TRUE(forwarder_->WaitUntilDrained(absl::Seconds(10)));
  auto got = ingest_->records();
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].kind(), "patient");
  EXPECT_EQ(got[4].observation_id(), "BP20260301-17-3");
}

TEST_F(Hl7v2ConnectorTest, ConcurrentConnections) {
  std::vector<std::thread> threads;
  std::atomic<int> aa{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto client = MllpClient::Connect(address_);
      ASSERT_TRUE(client.ok());
      for (int i = 0; i < 10; ++i) {
        std::string msg = absl::StrReplaceAll(Testdata("adt_a04_zh_wangxiaoming.hl7"),
                                              {{"MZ00017", absl::StrCat("C", t, "-", i)}});
        auto ack = (*client)->Exchange(msg);
        if (ack.ok() && hl7::ReadAck(*ack)->code == "AA") ++aa;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(aa.load(), 80);
  EXPECT_EQ(ingest_->records().size(), 160u);
}

// MLLP over mutual TLS: a clinic's certificate gets the same ACKs as plain
// TCP (and its name goes into the reject log); a client without a
// certificate of the clinics' CA, or speaking plain MLLP, gets no ACK and
// nothing it sent is ingested.
TEST_F(Hl7v2ConnectorTest, MllpOverMutualTls) {
  security::DevCertOptions certs;
  certs.out_dir = dir_ + "/certs";
  certs.facilities = {"450321-WS-003"};
  certs.test_certificates = true;
  ASSERT_TRUE(security::WriteDevCertificates(certs).ok());
  const std::string c = certs.out_dir + "/";
  security::TlsFiles server_files;
  server_files.cert = c + "server.crt";
  server_files.key = c + "server.key";
  server_files.ca = c + "ca.crt";
  auto server_tls = security::TlsContext::Server(server_files, /*require_client_cert=*/true);
  ASSERT_TRUE(server_tls.ok()) << server_tls.status();
  Hl7v2ConnectorOptions o;
  o.mllp.listen = "127.0.0.1:0";
  o.mllp.tls = *server_tls;
  o.reject_log = dir_ + "/tls-rejected.jsonl";
  Hl7v2Connector tls_connector(forwarder_.get(), o);
  ASSERT_TRUE(tls_connector.Start().ok());
  const std::string address = absl::StrCat("127.0.0.1:", tls_connector.port());
  auto client_context = [&](const std::string& name) {
    security::TlsFiles f;
    f.ca = c + "ca.crt";
    if (!name.empty()) {
      f.cert = c + name + ".crt";
      f.key = c + name + ".key";
    }
    return security::TlsContext::Client(f);
  };

  auto clinic_context = client_context("clinic-450321-WS-003");
  ASSERT_TRUE(clinic_context.ok()) << clinic_context.status();
  auto clinic = MllpClient::Connect(address, absl::Seconds(10), *clinic_context);
  ASSERT_TRUE(clinic.ok()) << clinic.status();
  EXPECT_EQ(Send(clinic->get(), Testdata("adt_a04_zh_wangxiaoming.hl7")).code, "AA");
  EXPECT_EQ(Send(clinic->get(), Testdata("adt_a04_zh_missing_record_id.hl7")).code, "AE");
  EXPECT_THAT(ReadFileToString(dir_ + "/tls-rejected.jsonl").value(),
              HasSubstr("\"peer\":\"clinic:450321-WS-003@127.0.0.1:"));

  const std::string message = absl::StrReplaceAll(Testdata("adt_a04_zh_wangxiaoming.hl7"), {{"MZ00017", "MZ66666"}});
  for (const std::string name : {"", "untrusted"}) {
    auto context = client_context(name);
    ASSERT_TRUE(context.ok()) << name << ": " << context.status();
    // With TLS 1.3 the client's side of the handshake may complete before
    // the server has looked at its certificate: the refusal then shows on
    // the first exchange.
    auto client = MllpClient::Connect(address, absl::Seconds(10), *context);
    if (client.ok()) {
      auto ack = (*client)->Exchange(message, absl::Seconds(5));
      EXPECT_FALSE(ack.ok()) << (name.empty() ? "no certificate" : name) << " got an ACK";
    }
  }
  auto plain = MllpClient::Connect(address);
  if (plain.ok()) {
    EXPECT_FALSE((*plain)->Exchange(message, absl::Seconds(5)).ok()) << "plain MLLP got an ACK";
  }
  ASSERT_TRUE(forwarder_->WaitUntilDrained(absl::Seconds(10)));
  for (const auto& r : ingest_->records()) EXPECT_NE(r.record_id(), "MZ66666");
  EXPECT_EQ(ingest_->records().size(), 2u);  // the AA message: patient + encounter
  tls_connector.Stop();
}

}  // namespace
}  // namespace hisbridge::connectors::hl7v2
