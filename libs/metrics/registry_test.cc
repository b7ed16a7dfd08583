#include "libs/metrics/registry.h"

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/base/logging.h"

namespace hisbridge::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(FormatValue, IntegersExactFractionsShortestSpecialsByName) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(1e15), "1000000000000000");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(12345.678), "12345.678");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(Names, FollowPrometheusRules) {
  EXPECT_TRUE(IsValidMetricName("hisbridge_ingest_records_accepted_total"));
  EXPECT_TRUE(IsValidMetricName("job:rate5m"));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("has-dash"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_TRUE(IsValidLabelName("reason"));
  EXPECT_FALSE(IsValidLabelName("__reserved"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
}

TEST(Registry, RendersCountersAndGaugesSortedWithEscapedLabels) {
  Registry registry;
  auto& rejected = registry.NewCounter("hb_rejected_total", "Rejected records,\nby reason.", {"reason"});
  rejected.WithLabels({"missing_field"}).Increment();
  rejected.WithLabels({"missing_field"}).Increment(2);
  rejected.WithLabels({"bad \"quote\" \\ and\nnewline"}).Increment();
  rejected.WithLabels({"ignored"}).Increment(-5);  // counters never go down
  registry.NewGauge("hb_backlog", "Backlog.").WithLabels({}).Set(7.5);
  EXPECT_EQ(registry.Render(),
            "# HELP hb_backlog Backlog.\n"
            "# TYPE hb_backlog gauge\n"
            "hb_backlog 7.5\n"
            "# HELP hb_rejected_total Rejected records,\\nby reason.\n"
            "# TYPE hb_rejected_total counter\n"
            "hb_rejected_total{reason=\"bad \\\"quote\\\" \\\\ and\\nnewline\"} 1\n"
            "hb_rejected_total{reason=\"ignored\"} 0\n"
            "hb_rejected_total{reason=\"missing_field\"} 3\n");
}

TEST(Registry, HistogramBucketsAreCumulativeAndEndWithInf) {
  Registry registry;
  auto& h = registry.NewHistogram("hb_seconds", "Latency.", {"method"}, {0.1, 1, 0.01});
  Histogram& submit = h.WithLabels({"Submit"});
  for (double v : {0.005, 0.01, 0.05, 0.5, 3.0}) submit.Observe(v);
  EXPECT_EQ(registry.Render(),
            "# HELP hb_seconds Latency.\n"
            "# TYPE hb_seconds histogram\n"
            "hb_seconds_bucket{method=\"Submit\",le=\"0.01\"} 2\n"
            "hb_seconds_bucket{method=\"Submit\",le=\"0.1\"} 3\n"
            "hb_seconds_bucket{method=\"Submit\",le=\"1\"} 4\n"
            "hb_seconds_bucket{method=\"Submit\",le=\"+Inf\"} 5\n"
            "hb_seconds_sum{method=\"Submit\"} 3.565\n"
            "hb_seconds_count{method=\"Submit\"} 5\n");
}

TEST(Registry, CollectorsMergeIntoOwnedFamiliesAndDeclareEmptyOnes) {
  Registry registry;
  registry.NewCounter("hb_records_total", "Records.", {"role"}).WithLabels({"ingest"}).Increment(4);
  registry.AddCollector([](MetricWriter& out) {
    out.Counter("hb_records_total", "ignored help", {{"role", "linker"}}, 9);
    out.Gauge("hb_lag", "Lag.", {{"partition", "1"}}, 3);
    out.Gauge("hb_lag", "Lag.", {{"partition", "0"}}, 0);
    out.Declare("hb_review_backlog", "Not measured yet.", Type::kGauge);
  });
  const std::string text = registry.Render();
  EXPECT_EQ(text,
            "# HELP hb_lag Lag.\n"
            "# TYPE hb_lag gauge\n"
            "hb_lag{partition=\"0\"} 0\n"
            "hb_lag{partition=\"1\"} 3\n"
            "# HELP hb_records_total Records.\n"
            "# TYPE hb_records_total counter\n"
            "hb_records_total{role=\"ingest\"} 4\n"
            "hb_records_total{role=\"linker\"} 9\n"
            "# HELP hb_review_backlog Not measured yet.\n"
            "# TYPE hb_review_backlog gauge\n");
}

TEST(Registry, BadNamesAndTypeConflictsAreLeftOutNotFatal) {
  log::SetSink([](absl::string_view) {});
  Registry registry;
  registry.AddCollector([](MetricWriter& out) {
    out.Counter("bad-name_total", "x", {}, 1);
    out.Counter("hb_twice", "x", {}, 1);
    out.Gauge("hb_twice", "x", {}, 2);
    out.Gauge("hb_bad_label", "x", {{"__name", "v"}}, 1);
    out.Histogram("hb_le_label", "x", {{"le", "1"}}, HistogramSnapshot{{1}, {0, 0}, 0, 0});
    out.Gauge("hb_fine", "x", {}, 1);
  });
  const std::string text = registry.Render();
  log::SetSink(nullptr);
  EXPECT_EQ(text, "# HELP hb_fine x\n# TYPE hb_fine gauge\nhb_fine 1\n");
}

TEST(Registry, SameNameReturnsSameFamily) {
  Registry registry;
  auto& a = registry.NewCounter("hb_x_total", "first", {"l"});
  auto& b = registry.NewCounter("hb_x_total", "second", {"l"});
  EXPECT_EQ(&a, &b);
  EXPECT_EQ(&a.WithLabels({"v"}), &b.WithLabels({"v"}));
  EXPECT_THAT(registry.Render(), HasSubstr("# HELP hb_x_total first\n"));
  EXPECT_THAT(registry.Render(), Not(HasSubstr("second")));
}

TEST(Registry, ConcurrentUpdatesAreNotLost) {
  Registry registry;
  Counter& counter = registry.NewCounter("hb_c_total", "c").WithLabels({});
  Histogram& histogram = registry.NewHistogram("hb_h", "h", {}, {1}).WithLabels({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.Increment();
        histogram.Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.value(), 40000);
  const HistogramSnapshot s = histogram.Snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.bucket_counts[0], 40000u);
  EXPECT_EQ(s.sum, 20000);
}

}  // namespace
}  // namespace hisbridge::metrics
