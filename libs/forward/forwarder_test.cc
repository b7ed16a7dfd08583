#include "libs/forward/forwarder.h"

#include <atomic>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "libs/forward/forwarder_metrics.h"
#include "libs/metrics/registry.h"

namespace hisbridge::forward {
namespace {

using hisbridge::v1::Record;

// An ingest that can be switched off; it records every record it accepted.
class FakeIngest : public IngestClient {
 public:
  absl::StatusOr<hisbridge::v1::SubmitResponse> Submit(const hisbridge::v1::SubmitRequest& request,
                                                       absl::Duration) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (down_) return absl::UnavailableError("connection refused");
    hisbridge::v1::SubmitResponse response;
    for (int i = 0; i < request.records_size(); ++i) {
      auto* r = response.add_results();
      r->set_index(i);
      if (kafka_down_) {
        r->set_outcome(hisbridge::v1::RECORD_OUTCOME_UNAVAILABLE);
        continue;
      }
      if (request.records(i).record_id() == "reject-me") {
        r->set_outcome(hisbridge::v1::RECORD_OUTCOME_REJECTED);
        continue;
      }
      r->set_outcome(hisbridge::v1::RECORD_OUTCOME_ACCEPTED);
      accepted_.push_back(request.records(i).record_id());
    }
    return response;
  }
  void SetDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    down_ = down;
  }
  void SetKafkaDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    kafka_down_ = down;
  }
  std::vector<std::string> accepted() {
    std::lock_guard<std::mutex> lock(mu_);
    return accepted_;
  }

 private:
  std::mutex mu_;
  bool down_ = false;
  bool kafka_down_ = false;
  int calls_ = 0;
  std::vector<std::string> accepted_;
};

Record R(const std::string& id) {
  Record r;
  r.set_kind("patient");
  r.set_facility_id("F");
  r.set_record_id(id);
  r.set_event_time("2026-03-01T08:00:00+08:00");
  return r;
}

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kError);
    dir_ = MakeTempDirectory("forwarder_test").value();
  }
  void TearDown() override { ASSERT_TRUE(RemoveRecursively(dir_).ok()); }
  ForwarderOptions Options() {
    ForwarderOptions o;
    o.spool.dir = dir_ + "/spool";
    o.initial_backoff = absl::Milliseconds(10);
    o.max_backoff = absl::Milliseconds(50);
    return o;
  }
  std::string dir_;
};

TEST_F(ForwarderTest, DirectWhenIngestIsUp) {
  auto ingest = std::make_unique<FakeIngest>();
  FakeIngest* fake = ingest.get();
  auto f = Forwarder::Start(Options(), std::move(ingest));
  ASSERT_TRUE(f.ok());
  Delivery d = (*f)->SubmitAndWait({R("a"), R("reject-me")}, "m1");
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.path, Delivery::Path::kIngest);
  ASSERT_EQ(d.results.size(), 2u);
  EXPECT_EQ(d.results[1].outcome(), hisbridge::v1::RECORD_OUTCOME_REJECTED);
  EXPECT_EQ(fake->accepted(), std::vector<std::string>{"a"});
}

TEST_F(ForwarderTest, SpoolsWhileDownAndForwardsInOrderExactlyOnce) {
  auto ingest = std::make_unique<FakeIngest>();
  FakeIngest* fake = ingest.get();
  fake->SetDown(true);
  auto f = Forwarder::Start(Options(), std::move(ingest));
  ASSERT_TRUE(f.ok());
  std::vector<std::string> expected;
  for (int i = 0; i < 30; ++i) {
    const std::string id = absl::StrCat("r", i);
    expected.push_back(id);
    Delivery d = (*f)->SubmitAndWait({R(id)}, id);
    ASSERT_TRUE(d.status.ok()) << d.status;
    EXPECT_EQ(d.path, Delivery::Path::kSpool);
    if (i == 10) fake->SetKafkaDown(true), fake->SetDown(false);  // ingest back, Kafka not
  }
  EXPECT_TRUE(fake->accepted().empty());
  EXPECT_GT((*f)->stats().spool_pending, 0);
  fake->SetKafkaDown(false);
  ASSERT_TRUE((*f)->WaitUntilDrained(absl::Seconds(10)));
  // New messages after the drain go directly again, behind the spooled ones.
  Delivery after = (*f)->SubmitAndWait({R("after")}, "after");
  EXPECT_EQ(after.path, Delivery::Path::kIngest);
  expected.push_back("after");
  EXPECT_EQ(fake->accepted(), expected);
}

TEST_F(ForwarderTest, MetricsCountEachPathAndTheSpool) {
  auto ingest = std::make_unique<FakeIngest>();
  FakeIngest* fake = ingest.get();
  ForwarderOptions options = Options();
  options.spool.max_bytes = 1 << 20;
  auto f = Forwarder::Start(options, std::move(ingest));
  ASSERT_TRUE(f.ok());
  metrics::Registry registry;
  AddForwarderCollector(&registry, f->get(), "hl7v2");
  ASSERT_EQ((*f)->SubmitAndWait({R("a")}, "m1").path, Delivery::Path::kIngest);
  fake->SetDown(true);
  ASSERT_EQ((*f)->SubmitAndWait({R("b")}, "m2").path, Delivery::Path::kSpool);
  ASSERT_EQ((*f)->SubmitAndWait({R("c")}, "m3").path, Delivery::Path::kSpool);
  const std::string text = registry.Render();
  EXPECT_THAT(text, ::testing::HasSubstr("hisbridge_connector_units_total{connector=\"hl7v2\",outcome=\"direct\"} 1\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("hisbridge_connector_units_total{connector=\"hl7v2\",outcome=\"spooled\"} 2\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("hisbridge_connector_units_total{connector=\"hl7v2\",outcome=\"failed\"} 0\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("hisbridge_connector_spool_pending_units{connector=\"hl7v2\"} 2\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("hisbridge_connector_spool_max_bytes{connector=\"hl7v2\"} 1048576\n"));
  EXPECT_GT((*f)->stats().spool_pending_bytes, 0);
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("hisbridge_connector_spool_pending_bytes{connector=\"hl7v2\"} 0\n")));
  // Ingest back: the spool drains and says so.
  fake->SetDown(false);
  ASSERT_TRUE((*f)->WaitUntilDrained(absl::Seconds(10)));
  const std::string drained = registry.Render();
  EXPECT_THAT(drained, ::testing::HasSubstr("hisbridge_connector_spool_forwarded_units_total{connector=\"hl7v2\"} 2\n"));
  EXPECT_THAT(drained, ::testing::HasSubstr("hisbridge_connector_spool_pending_units{connector=\"hl7v2\"} 0\n"));
  EXPECT_THAT(drained, ::testing::HasSubstr("hisbridge_connector_spool_pending_bytes{connector=\"hl7v2\"} 0\n"));
}

TEST_F(ForwarderTest, SpooledEntriesSurviveARestart) {
  {
    auto ingest = std::make_unique<FakeIngest>();
    ingest->SetDown(true);
    auto f = Forwarder::Start(Options(), std::move(ingest));
    ASSERT_TRUE(f.ok());
    for (const char* id : {"x", "y", "z"}) ASSERT_EQ((*f)->SubmitAndWait({R(id)}, id).path, Delivery::Path::kSpool);
  }
  auto ingest = std::make_unique<FakeIngest>();
  FakeIngest* fake = ingest.get();
  auto f = Forwarder::Start(Options(), std::move(ingest));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->WaitUntilDrained(absl::Seconds(10)));
  EXPECT_EQ(fake->accepted(), (std::vector<std::string>{"x", "y", "z"}));
}

TEST_F(ForwarderTest, SpoolFullIsNotDurable) {
  ForwarderOptions o = Options();
  o.spool.max_bytes = 200;
  auto ingest = std::make_unique<FakeIngest>();
  ingest->SetDown(true);
  auto f = Forwarder::Start(o, std::move(ingest));
  ASSERT_TRUE(f.ok());
  absl::Status last;
  for (int i = 0; i < 10 && last.ok(); ++i) last = (*f)->SubmitAndWait({R(absl::StrCat("r", i))}, "m").status;
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(last.message()), ::testing::HasSubstr("spool full"));
}

TEST_F(ForwarderTest, ConcurrentSubmittersKeepTheirOwnOrder) {
  auto ingest = std::make_unique<FakeIngest>();
  FakeIngest* fake = ingest.get();
  auto f = Forwarder::Start(Options(), std::move(ingest));
  ASSERT_TRUE(f.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (t == 0 && i == 10) fake->SetDown(true);
        if (t == 0 && i == 15) fake->SetDown(false);
        Delivery d = (*f)->SubmitAndWait({R(absl::StrCat(t, "-", i))}, "m");
        EXPECT_TRUE(d.status.ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE((*f)->WaitUntilDrained(absl::Seconds(10)));
  std::vector<std::string> got = fake->accepted();
  EXPECT_EQ(got.size(), 100u);
  std::vector<int> next(4, 0);
  for (const std::string& id : got) {
    const int t = id[0] - '0';
    EXPECT_EQ(id, absl::StrCat(t, "-", next[t])) << "out of order";
    ++next[t];
  }
}

}  // namespace
}  // namespace hisbridge::forward
