// The metrics endpoint of a running Node, scraped over HTTP after a load:
// every family the operations guide tells operators to watch is there,
// with the numbers the load must have produced.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "hisbridge/v1/ingest.grpc.pb.h"
#include "hisbridge/v1/query.grpc.pb.h"
#include "hisbridge/v1/review.grpc.pb.h"
#include "libs/base/file_util.h"
#include "libs/base/logging.h"
#include "services/node/node.h"

namespace hisbridge {
namespace {

using ::testing::HasSubstr;

// Sample name with labels (as exposed) -> value.
using Scrape = std::map<std::string, double>;

// Parses the text exposition format strictly enough to catch a malformed
// page: every sample belongs to a family declared by a TYPE line before it.
Scrape Parse(const std::string& text) {
  Scrape samples;
  std::set<std::string> typed;
  const std::regex sample_line(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$)");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      EXPECT_EQ(parts.size(), 4u) << line;
      if (parts.size() == 4) {
        EXPECT_THAT(parts[3], ::testing::AnyOf("counter", "gauge", "histogram")) << line;
        EXPECT_TRUE(typed.insert(parts[2]).second) << "family declared twice: " << line;
      }
      continue;
    }
    std::smatch m;
    if (!std::regex_match(line, m, sample_line)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    std::string family = m[1];
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string s = suffix;
      if (!typed.count(family) && family.size() > s.size() &&
          family.compare(family.size() - s.size(), s.size(), s) == 0) {
        family = family.substr(0, family.size() - s.size());
      }
    }
    EXPECT_TRUE(typed.count(family)) << "sample before its TYPE line: " << line;
    double value = 0;
    const std::string text_value = m[3];
    if (text_value == "+Inf") {
      value = HUGE_VAL;
    } else {
      EXPECT_TRUE(absl::SimpleAtod(text_value, &value)) << line;
    }
    samples[absl::StrCat(m[1].str(), m[2].str())] = value;
  }
  return samples;
}

double Get(const Scrape& scrape, const std::string& series) {
  auto it = scrape.find(series);
  return it == scrape.end() ? -1 : it->second;
}

int CountWithPrefix(const Scrape& scrape, const std::string& prefix) {
  int n = 0;
  for (const auto& [series, value] : scrape) n += series.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

hisbridge::v1::Record Patient(const std::string& facility, const std::string& record, const std::string& name,
                              const std::string& id) {
  hisbridge::v1::Record r;
  r.set_kind("patient");
  r.set_facility_id(facility);
  r.set_record_id(record);
  r.set_name(name);
  r.set_id_number(id);
  r.set_event_time("2026-03-01T08:00:00+08:00");
  return r;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetLevel(log::Level::kWarning);
    dir_ = MakeTempDirectory("metrics_test").value();
  }
  void TearDown() override { ASSERT_TRUE(RemoveRecursively(dir_).ok()); }
  std::string dir_;
};

TEST_F(MetricsTest, ScrapeAfterALoadShowsEveryFamily) {
  NodeOptions options;
  options.data_dir = dir_ + "/node";
  options.embedded_broker = true;
  options.linker_group = absl::StrCat("metrics-linker-", getpid());
  options.metrics_listen = "127.0.0.1:0";
  options.lag_refresh_interval = absl::Milliseconds(200);
  Node node(options);
  ASSERT_TRUE(node.Start().ok());
  ASSERT_FALSE(node.metrics_address().empty());

  auto channel = grpc::CreateChannel(node.grpc_address(), grpc::InsecureChannelCredentials());
  auto ingest = hisbridge::v1::IngestService::NewStub(channel);
  auto query = hisbridge::v1::QueryService::NewStub(channel);

  // The load: 40 patients of one county in 20 pairs (same resident id at
  // two facilities), and one bad line for each of three reasons.
  hisbridge::v1::SubmitRequest request;
  for (int i = 0; i < 20; ++i) {
    const std::string id = absl::StrCat("4503211985030", 10000 + i);  // 18 characters, checksum not valid
    *request.add_records() = Patient("450321-WS-001", absl::StrCat("DA", i), absl::StrCat("病人", i), id);
    *request.add_records() = Patient("450321-CS-011", absl::StrCat("CS", i), absl::StrCat("病人", i), id);
  }
  *request.add_records() = Patient("450321-WS-001", "", "缺档案号", "");  // missing record_id
  hisbridge::v1::SubmitResponse response;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ASSERT_TRUE(ingest->Submit(&context, request, &response).ok());
  }
  ASSERT_EQ(response.accepted(), 40);
  ASSERT_EQ(response.rejected(), 1);
  // Raw JSON lines go in a request of their own.
  hisbridge::v1::SubmitRequest lines;
  lines.add_json_lines(R"({"kind":"patient","facility_id":"450321-WS-001")");  // not JSON
  lines.add_json_lines(
      R"({"kind":"prescription","facility_id":"450321-WS-001","record_id":"X1","event_time":"2026-03-01T08:00:00+08:00"})");
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    hisbridge::v1::SubmitResponse rejected;
    ASSERT_TRUE(ingest->Submit(&context, lines, &rejected).ok());
    ASSERT_EQ(rejected.rejected(), 2);
  }

  // Read-your-writes: once this answers, the linker has committed the load.
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    hisbridge::v1::LookupBySourceRequest lookup;
    lookup.set_facility_id("450321-CS-011");
    lookup.set_record_id("CS19");
    *lookup.mutable_consistency()->mutable_after() = response.positions();
    hisbridge::v1::Patient patient;
    grpc::Status status = query->LookupBySource(&context, lookup, &patient);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  httplib::Client http(node.metrics_address());
  http.set_read_timeout(10, 0);
  // Lag comes from watermarks refreshed in the background: scrape until it
  // has caught up with the load (it must, within seconds).
  Scrape scrape;
  std::string linker_lag_series;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    auto page = http.Get("/metrics");
    ASSERT_TRUE(page) << "cannot scrape " << node.metrics_address();
    ASSERT_EQ(page->status, 200);
    EXPECT_EQ(page->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    scrape = Parse(page->body);
    linker_lag_series.clear();
    double linker_lag = -1;
    for (const auto& [series, value] : scrape) {
      if (series.rfind("hisbridge_kafka_consumer_lag_messages{consumer=\"linker\"", 0) == 0) {
        linker_lag_series = series;
        linker_lag = value;
      }
    }
    const bool views_seen = CountWithPrefix(scrape, "hisbridge_kafka_consumer_lag_messages{consumer=\"query\"") > 0;
    if (linker_lag == 0 && views_seen) break;
    absl::SleepFor(absl::Milliseconds(100));
  }

  // Ingest: accepted, and rejected by reason (every reason is present).
  EXPECT_EQ(Get(scrape, "hisbridge_ingest_records_accepted_total"), 40);
  EXPECT_EQ(Get(scrape, "hisbridge_ingest_records_rejected_total{reason=\"missing_field\"}"), 1);
  EXPECT_EQ(Get(scrape, "hisbridge_ingest_records_rejected_total{reason=\"malformed\"}"), 1);
  EXPECT_EQ(Get(scrape, "hisbridge_ingest_records_rejected_total{reason=\"unknown_kind\"}"), 1);
  EXPECT_EQ(Get(scrape, "hisbridge_ingest_records_rejected_total{reason=\"too_large\"}"), 0);
  EXPECT_EQ(Get(scrape, "hisbridge_ingest_records_unavailable_total"), 0);

  // Linker: decisions by outcome add up to the records applied.
  const double records_applied = Get(scrape, "hisbridge_linker_records_applied_total");
  EXPECT_EQ(records_applied, 40);
  double decided = 0;
  for (const char* outcome : {"new_patient", "auto_link", "review"}) {
    const double n = Get(scrape, absl::StrCat("hisbridge_link_decisions_total{outcome=\"", outcome, "\"}"));
    EXPECT_GE(n, 0) << outcome;
    decided += n;
  }
  EXPECT_GE(Get(scrape, "hisbridge_link_decisions_total{outcome=\"new_patient\"}"), 1);
  EXPECT_EQ(decided, 40);
  EXPECT_EQ(Get(scrape, "hisbridge_linker_partitions_owned"), 4);
  EXPECT_EQ(Get(scrape, "hisbridge_component_healthy{component=\"linker\"}"), 1);

  // Consumer lag per partition: present for the linker's inbox partitions
  // and the query replica's views partitions, and caught up.
  EXPECT_FALSE(linker_lag_series.empty()) << "no linker lag gauge";
  EXPECT_EQ(CountWithPrefix(scrape, "hisbridge_kafka_consumer_lag_messages{consumer=\"linker\""), 4);
  EXPECT_EQ(CountWithPrefix(scrape, "hisbridge_kafka_consumer_lag_messages{consumer=\"query\""), 4);
  EXPECT_EQ(Get(scrape, linker_lag_series), 0);
  EXPECT_EQ(CountWithPrefix(scrape, "hisbridge_query_inbox_lag_messages{"), 4);

  // gRPC latency histograms per method and code.
  EXPECT_EQ(Get(scrape,
                "hisbridge_grpc_server_handling_seconds_count{service=\"hisbridge.v1.IngestService\","
                "method=\"Submit\",code=\"OK\"}"),
            2);
  EXPECT_EQ(Get(scrape,
                "hisbridge_grpc_server_handling_seconds_bucket{service=\"hisbridge.v1.IngestService\","
                "method=\"Submit\",code=\"OK\",le=\"+Inf\"}"),
            2);
  EXPECT_GT(Get(scrape,
                "hisbridge_grpc_server_handling_seconds_sum{service=\"hisbridge.v1.IngestService\","
                "method=\"Submit\",code=\"OK\"}"),
            0);
  EXPECT_EQ(Get(scrape,
                "hisbridge_grpc_server_handling_seconds_count{service=\"hisbridge.v1.QueryService\","
                "method=\"LookupBySource\",code=\"OK\"}"),
            1);

  // RocksDB of both stores, query replica, process.
  EXPECT_GT(Get(scrape, "hisbridge_rocksdb_estimated_keys{store=\"linker\"}"), 0);
  EXPECT_EQ(Get(scrape, "hisbridge_rocksdb_write_stopped{store=\"linker\"}"), 0);
  EXPECT_GE(Get(scrape, "hisbridge_rocksdb_stall_seconds_total{store=\"query\"}"), 0);
  // The query node's default cache (this young store's reads are answered
  // by its memtables, so the counters are present but may be zero).
  EXPECT_EQ(Get(scrape, "hisbridge_rocksdb_block_cache_capacity_bytes{store=\"query\"}"), 512 << 20);
  EXPECT_GE(Get(scrape, "hisbridge_rocksdb_block_cache_bytes{store=\"query\"}"), 0);
  EXPECT_GE(Get(scrape, "hisbridge_rocksdb_block_cache_hits_total{store=\"query\"}"), 0);
  EXPECT_GE(Get(scrape, "hisbridge_rocksdb_block_cache_misses_total{store=\"query\"}"), 0);
  EXPECT_GT(Get(scrape, "hisbridge_query_views_applied_total"), 0);
  EXPECT_GE(Get(scrape, "hisbridge_query_disk_read_answers_total"), 0);
  EXPECT_GT(Get(scrape, "process_resident_memory_bytes"), 1 << 20);
  EXPECT_EQ(Get(scrape, "hisbridge_build_info{version=\"0.1.0\"}"), 1);

  // The review queue as the query replica serves it: the backlog is what
  // ReviewService counts as open, the oldest age a duration.
  hisbridge::v1::ListReviewItemsResponse open;
  {
    auto review = hisbridge::v1::ReviewService::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    hisbridge::v1::ListReviewItemsRequest list;
    list.set_status(hisbridge::v1::REVIEW_STATUS_OPEN);
    ASSERT_TRUE(review->ListReviewItems(&context, list, &open).ok());
  }
  auto page = http.Get("/metrics");
  ASSERT_TRUE(page);
  EXPECT_THAT(page->body, HasSubstr("# TYPE hisbridge_review_backlog_items gauge\n"));
  const Scrape after = Parse(page->body);
  EXPECT_EQ(Get(after, "hisbridge_review_backlog_items"), open.total_open());
  EXPECT_GE(Get(after, "hisbridge_review_oldest_age_seconds"), 0);

  auto health = http.Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  node.Stop();
}

}  // namespace
}  // namespace hisbridge
