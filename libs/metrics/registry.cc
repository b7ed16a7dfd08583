#include "libs/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/base/logging.h"

namespace hisbridge::metrics {
namespace {

// std::atomic<double>::fetch_add is C++20; a CAS loop does the same.
void AtomicAdd(std::atomic<double>* target, double by) {
  double current = target->load(std::memory_order_relaxed);
  while (!target->compare_exchange_weak(current, current + by, std::memory_order_relaxed)) {
  }
}

void AppendEscaped(absl::string_view text, bool quote_too, std::string* out) {
  for (char c : text) {
    switch (c) {
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '"':
        if (quote_too) {
          out->append("\\\"");
        } else {
          out->push_back(c);
        }
        break;
      default: out->push_back(c);
    }
  }
}

void AppendLabels(const Labels& labels, const std::pair<std::string, std::string>* extra, std::string* out) {
  if (labels.empty() && extra == nullptr) return;
  out->push_back('{');
  bool first = true;
  auto add = [&](const std::pair<std::string, std::string>& label) {
    if (!first) out->push_back(',');
    first = false;
    absl::StrAppend(out, label.first, "=\"");
    AppendEscaped(label.second, /*quote_too=*/true, out);
    out->push_back('"');
  };
  for (const auto& label : labels) add(label);
  if (extra != nullptr) add(*extra);
  out->push_back('}');
}

const char* TypeName(Type type) {
  switch (type) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

bool NameChar(char c, bool first, bool colon_ok) {
  if (absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_') return true;
  if (colon_ok && c == ':') return true;
  return !first && absl::ascii_isdigit(static_cast<unsigned char>(c));
}

}  // namespace

bool IsValidMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, /*colon_ok=*/true)) return false;
  }
  return true;
}

bool IsValidLabelName(absl::string_view name) {
  if (name.empty() || absl::StartsWith(name, "__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!NameChar(name[i], i == 0, /*colon_ok=*/false)) return false;
  }
  return true;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {  // 2^53: exact integers
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

void Counter::Increment(double by) {
  if (!(by >= 0)) return;  // also rejects NaN
  AtomicAdd(&value_, by);
}

void Gauge::Add(double by) { AtomicAdd(&value_, by); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_.erase(std::unique(bounds_.begin(), bounds_.end()), bounds_.end());
  // +Inf is implicit; an explicit one would duplicate it.
  while (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();
  buckets_ = std::make_unique<std::atomic<uint64_t>[]>(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  AtomicAdd(&sum_, value);
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot snapshot;
  snapshot.bounds = bounds_;
  snapshot.bucket_counts.resize(bounds_.size() + 1);
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    snapshot.bucket_counts[i] = buckets_[i].load(std::memory_order_relaxed);
    snapshot.count += snapshot.bucket_counts[i];
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

MetricWriter::FamilyData* MetricWriter::Open(absl::string_view name, absl::string_view help, Type type) {
  auto [it, inserted] = families_.try_emplace(std::string(name));
  FamilyData& family = it->second;
  if (inserted) {
    family.type = type;
    family.help = std::string(help);
    if (!IsValidMetricName(name)) {
      family.conflict = true;
      log::Error("metric left out: invalid name", {{"metric", name}});
    }
  } else if (family.type != type && !family.conflict) {
    family.conflict = true;
    log::Error("metric left out: written with two types",
               {{"metric", name}, {"first", TypeName(family.type)}, {"second", TypeName(type)}});
  }
  return family.conflict ? nullptr : &family;
}

void MetricWriter::Counter(absl::string_view name, absl::string_view help, Labels labels, double value) {
  if (FamilyData* family = Open(name, help, Type::kCounter)) family->samples.push_back({std::move(labels), value, {}});
}

void MetricWriter::Gauge(absl::string_view name, absl::string_view help, Labels labels, double value) {
  if (FamilyData* family = Open(name, help, Type::kGauge)) family->samples.push_back({std::move(labels), value, {}});
}

void MetricWriter::Histogram(absl::string_view name, absl::string_view help, Labels labels,
                             const HistogramSnapshot& value) {
  if (FamilyData* family = Open(name, help, Type::kHistogram)) {
    family->samples.push_back({std::move(labels), 0, value});
  }
}

void MetricWriter::Declare(absl::string_view name, absl::string_view help, Type type) { Open(name, help, type); }

std::string MetricWriter::Render() const {
  std::string out;
  for (const auto& [name, family] : families_) {
    if (family.conflict) continue;
    bool labels_ok = true;
    for (const Sample& sample : family.samples) {
      for (const auto& label : sample.labels) {
        if (!IsValidLabelName(label.first) || (family.type == Type::kHistogram && label.first == "le")) {
          labels_ok = false;
        }
      }
    }
    if (!labels_ok) {
      log::Error("metric left out: invalid label name", {{"metric", name}});
      continue;
    }
    absl::StrAppend(&out, "# HELP ", name, " ");
    AppendEscaped(family.help, /*quote_too=*/false, &out);
    absl::StrAppend(&out, "\n# TYPE ", name, " ", TypeName(family.type), "\n");
    // Series in label order, so that scrapes are stable and diffable.
    std::vector<const Sample*> samples;
    for (const Sample& sample : family.samples) samples.push_back(&sample);
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample* a, const Sample* b) { return a->labels < b->labels; });
    for (const Sample* sample : samples) {
      if (family.type != Type::kHistogram) {
        out.append(name);
        AppendLabels(sample->labels, nullptr, &out);
        absl::StrAppend(&out, " ", FormatValue(sample->value), "\n");
        continue;
      }
      const HistogramSnapshot& h = sample->histogram;
      uint64_t cumulative = 0;
      for (size_t i = 0; i < h.bucket_counts.size(); ++i) {
        cumulative += h.bucket_counts[i];
        const std::pair<std::string, std::string> le{
            "le", i < h.bounds.size() ? FormatValue(h.bounds[i]) : std::string("+Inf")};
        absl::StrAppend(&out, name, "_bucket");
        AppendLabels(sample->labels, &le, &out);
        absl::StrAppend(&out, " ", cumulative, "\n");
      }
      absl::StrAppend(&out, name, "_sum");
      AppendLabels(sample->labels, nullptr, &out);
      absl::StrAppend(&out, " ", FormatValue(h.sum), "\n");
      absl::StrAppend(&out, name, "_count");
      AppendLabels(sample->labels, nullptr, &out);
      absl::StrAppend(&out, " ", cumulative, "\n");
    }
  }
  return out;
}

Family<Counter>& Registry::NewCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Family<Counter>>& slot = counters_[name];
  if (slot == nullptr) {
    slot = std::make_unique<Family<Counter>>(name, help, std::move(label_names),
                                             [] { return std::make_unique<Counter>(); });
  }
  return *slot;
}

Family<Gauge>& Registry::NewGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Family<Gauge>>& slot = gauges_[name];
  if (slot == nullptr) {
    slot = std::make_unique<Family<Gauge>>(name, help, std::move(label_names),
                                           [] { return std::make_unique<Gauge>(); });
  }
  return *slot;
}

Family<Histogram>& Registry::NewHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names, std::vector<double> bounds) {
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Family<Histogram>>& slot = histograms_[name];
  if (slot == nullptr) {
    slot = std::make_unique<Family<Histogram>>(name, help, std::move(label_names),
                                               [bounds] { return std::make_unique<Histogram>(bounds); });
  }
  return *slot;
}

void Registry::AddCollector(Collector collector) {
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Render() const {
  std::lock_guard<std::mutex> render_lock(render_mu_);
  MetricWriter out;
  std::vector<Collector> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, family] : counters_) {
      out.Declare(name, family->help(), Type::kCounter);
      family->ForEach([&](Labels labels, const Counter& c) { out.Counter(name, "", std::move(labels), c.value()); });
    }
    for (const auto& [name, family] : gauges_) {
      out.Declare(name, family->help(), Type::kGauge);
      family->ForEach([&](Labels labels, const Gauge& g) { out.Gauge(name, "", std::move(labels), g.value()); });
    }
    for (const auto& [name, family] : histograms_) {
      out.Declare(name, family->help(), Type::kHistogram);
      family->ForEach(
          [&](Labels labels, const Histogram& h) { out.Histogram(name, "", std::move(labels), h.Snapshot()); });
    }
    collectors = collectors_;
  }
  // Collectors run outside mu_ so they may register families themselves.
  for (const Collector& collect : collectors) collect(out);
  return out.Render();
}

}  // namespace hisbridge::metrics
