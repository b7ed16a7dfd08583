// Prometheus metrics for every hisbridge role: counters, gauges and
// histograms with labels, rendered in the Prometheus text exposition
// format 0.0.4 (what `GET /metrics` answers; see http_server.h).
//
// There are two ways to report a number:
//
//  - Owned metrics, updated where the event happens:
//      metrics::Family<metrics::Histogram>& latency = registry.NewHistogram(
//          "hisbridge_grpc_server_handling_seconds", "...", {"service", "method", "code"},
//          metrics::LatencyBuckets());
//      latency.WithLabels({"hisbridge.v1.IngestService", "Submit", "OK"}).Observe(0.003);
//
//  - Collectors, called at scrape time to read counters a component keeps
//    anyway. Components then need no metrics dependency at all; this is how
//    the ingest, linker and query roles are reported:
//      registry.AddCollector([ingestor](metrics::MetricWriter& out) {
//        out.Counter("hisbridge_ingest_records_accepted_total", "Records appended to the inbox.", {},
//                    ingestor->accepted());
//      });
//
// Names follow the Prometheus conventions (base units, `_total` for
// counters). Families are rendered sorted by name; a family written by
// several collectors is rendered once with all their samples. A name that
// is not a valid metric name, or a family written with two different types,
// is left out of the exposition and logged, never crashing a scrape.
//
// A family may be declared without samples (MetricWriter::Declare): the
// scrape then shows its HELP and TYPE lines only. hisbridge uses this for
// numbers that are not measured yet rather than reporting made-up values.
//
// Thread safety: everything here is thread-safe. Updating an owned metric
// is lock-free; WithLabels() takes a mutex (keep the returned reference on
// hot paths; it stays valid as long as the registry). Collectors run on the
// scraping thread, one scrape at a time, and must not block for long.
#ifndef HISBRIDGE_LIBS_METRICS_REGISTRY_H_
#define HISBRIDGE_LIBS_METRICS_REGISTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace hisbridge::metrics {

enum class Type { kCounter, kGauge, kHistogram };

// Label name -> value pairs of one sample, e.g. {{"reason", "missing_field"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing count.
class Counter {
 public:
  // `by` must not be negative (negative increments are ignored).
  void Increment(double by = 1.0);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// The observations of a histogram at one moment. `bucket_counts[i]` counts
// observations <= bounds[i] that were not in an earlier bucket; the last
// element counts those above every bound (so it has bounds.size() + 1
// elements). count is the sum of bucket_counts.
struct HistogramSnapshot {
  std::vector<double> bounds;
  std::vector<uint64_t> bucket_counts;
  double sum = 0;
  uint64_t count = 0;
};

// Observations counted in fixed buckets (upper bounds, ascending).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  HistogramSnapshot Snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0.0};
};

// Bucket bounds in seconds for request latencies: 0.5 ms to 30 s (the
// longest read-your-writes wait).
std::vector<double> LatencyBuckets();

// Receives samples at scrape time (from collectors and owned families).
class MetricWriter {
 public:
  void Counter(absl::string_view name, absl::string_view help, Labels labels, double value);
  void Gauge(absl::string_view name, absl::string_view help, Labels labels, double value);
  void Histogram(absl::string_view name, absl::string_view help, Labels labels, const HistogramSnapshot& value);
  // A family with no samples yet: rendered as HELP and TYPE lines only.
  void Declare(absl::string_view name, absl::string_view help, Type type);

  // The exposition text of everything written so far.
  std::string Render() const;

 private:
  struct Sample {
    Labels labels;
    double value = 0;
    HistogramSnapshot histogram;
  };
  struct FamilyData {
    Type type = Type::kCounter;
    std::string help;
    bool conflict = false;
    std::vector<Sample> samples;
  };
  FamilyData* Open(absl::string_view name, absl::string_view help, Type type);
  std::map<std::string, FamilyData> families_;
};

// A metric family with fixed label names; each combination of label values
// is one time series.
template <typename Metric>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::function<std::unique_ptr<Metric>()> make)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), make_(std::move(make)) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The series for these label values (one per label name, in order;
  // missing values are empty, extra ones ignored). Created on first use.
  Metric& WithLabels(const std::vector<std::string>& values) {
    std::vector<std::string> key = values;
    key.resize(label_names_.size());
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<Metric>& slot = series_[key];
    if (slot == nullptr) slot = make_();
    return *slot;
  }

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }

  // Calls fn(labels, metric) for every series, in label order.
  void ForEach(const std::function<void(Labels, const Metric&)>& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, metric] : series_) {
      Labels labels;
      for (size_t i = 0; i < label_names_.size(); ++i) labels.emplace_back(label_names_[i], values[i]);
      fn(std::move(labels), *metric);
    }
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<Metric>()> make_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_;
};

class Registry {
 public:
  using Collector = std::function<void(MetricWriter& out)>;

  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Owned families. Asking again for an existing name returns the same
  // family (the help and label names of the first call are kept).
  Family<Counter>& NewCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& NewGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& NewHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names, std::vector<double> bounds);

  // Runs at every scrape, in the order added.
  void AddCollector(Collector collector);

  // The exposition text (format 0.0.4) of every family and collector.
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family<Counter>>> counters_;
  std::map<std::string, std::unique_ptr<Family<Gauge>>> gauges_;
  std::map<std::string, std::unique_ptr<Family<Histogram>>> histograms_;
  std::vector<Collector> collectors_;
  // One scrape at a time: collectors need not be reentrant.
  mutable std::mutex render_mu_;
};

// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or label
// name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool IsValidMetricName(absl::string_view name);
bool IsValidLabelName(absl::string_view name);

// A sample value as the exposition format writes it: integers without a
// fraction, others in the shortest form that reads back exactly, "+Inf",
// "-Inf", "NaN".
std::string FormatValue(double value);

}  // namespace hisbridge::metrics

#endif  // HISBRIDGE_LIBS_METRICS_REGISTRY_H_
