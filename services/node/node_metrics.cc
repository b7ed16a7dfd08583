#include "services/node/node_metrics.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "hisbridge/v1/ingest.pb.h"
#include "libs/index/kv_store.h"
#include "libs/kafka/producer.h"
#include "libs/kafka/watermark_monitor.h"
#include "libs/linker/link_engine.h"
#include "libs/linker/streaming_linker.h"
#include "libs/view/view_materializer.h"
#include "services/ingest/ingestor.h"

namespace hisbridge {
namespace {

using metrics::Labels;
using metrics::MetricWriter;

// "REJECT_REASON_MISSING_FIELD" -> "missing_field".
std::string ReasonLabel(const std::string& enum_name) {
  absl::string_view name = enum_name;
  absl::ConsumePrefix(&name, "REJECT_REASON_");
  return absl::AsciiStrToLower(name);
}

void CollectIngest(const NodeMetricsSources& s, MetricWriter& out) {
  out.Counter("hisbridge_ingest_records_accepted_total",
              "Records appended to the inbox and confirmed by the broker.", {}, s.ingestor->accepted());
  out.Counter("hisbridge_ingest_records_unavailable_total",
              "Valid records the broker could not take (the sender was told to retry).", {},
              s.ingestor->unavailable());
  // Every reason, zeros included, so rate() and alerts work from the start.
  const google::protobuf::EnumDescriptor* reasons = hisbridge::v1::RejectReason_descriptor();
  for (int i = 0; i < reasons->value_count(); ++i) {
    const auto reason = static_cast<hisbridge::v1::RejectReason>(reasons->value(i)->number());
    out.Counter("hisbridge_ingest_records_rejected_total",
                "Records rejected by validation (kept on the rejects topic with their reasons), by reason.",
                {{"reason", ReasonLabel(reasons->value(i)->name())}}, s.ingestor->rejected(reason));
  }
  if (s.producer != nullptr) {
    out.Gauge("hisbridge_ingest_inflight_records", "Records sent to the broker and not yet confirmed.", {},
              s.producer->InFlight());
  }
}

void CollectLinker(const NodeMetricsSources& s, MetricWriter& out) {
  const linker::EngineCounters c = s.linker->counters();
  const char* const kDecisions = "Link decisions of committed inputs, by outcome.";
  const std::pair<const char*, int64_t> outcomes[] = {
      {"new_patient", c.new_patients},      {"auto_link", c.auto_links},  {"review", c.review_items},
      {"relink", c.relinks},                {"delete", c.deletes},        {"facility_merge", c.facility_merges},
      {"stale_ignored", c.stale_ignored},
  };
  for (const auto& [outcome, count] : outcomes) {
    out.Counter("hisbridge_link_decisions_total", kDecisions, {{"outcome", outcome}}, count);
  }
  out.Counter("hisbridge_linker_records_applied_total", "Patient records applied to the index.", {},
              c.records_applied);
  out.Counter("hisbridge_linker_events_applied_total", "Clinical events applied to the index.", {},
              c.events_applied);
  out.Counter("hisbridge_linker_commands_total", "Data-steward commands, by result.", {{"result", "applied"}},
              c.commands_applied);
  out.Counter("hisbridge_linker_commands_total", "Data-steward commands, by result.", {{"result", "refused"}},
              c.commands_refused);
  out.Counter("hisbridge_linker_oversized_blocks_skipped_total",
              "Blocking keys skipped because too many records share them.", {}, c.oversized_blocks_skipped);

  const std::set<int32_t> owned = s.linker->AssignedPartitions();
  out.Gauge("hisbridge_linker_partitions_owned", "Inbox partitions (groups of counties) this linker owns.", {},
            static_cast<double>(owned.size()));

  if (s.watermarks != nullptr) {
    const kafka::WatermarkSnapshot marks = s.watermarks->Latest();
    auto inbox = marks.find(s.topics.inbox);
    if (inbox != marks.end()) {
      const std::map<int32_t, int64_t> committed = s.linker->CommittedOffsets();
      for (int32_t p : owned) {
        auto high = inbox->second.find(p);
        auto done = committed.find(p);
        if (high == inbox->second.end() || done == committed.end()) continue;
        out.Gauge("hisbridge_kafka_consumer_lag_messages",
                  "Messages on the broker not yet committed by this consumer (high watermark minus committed "
                  "offset), per partition.",
                  {{"consumer", "linker"}, {"topic", s.topics.inbox}, {"partition", absl::StrCat(p)}},
                  static_cast<double>(std::max<int64_t>(0, high->second.high - done->second)));
      }
    }
  }
}

// Once per node, whichever roles it runs: the queue is the query role's
// (it serves ReviewService); a node without one declares the families.
void CollectReview(const NodeMetricsSources& s, MetricWriter& out) {
  std::optional<ReviewQueueStats> review;
  if (s.review_queue) review = s.review_queue();
  const char* const kBacklog = "Review items waiting for a data steward (as this query replica sees them).";
  const char* const kAge = "Age of the oldest open review item (0 when none is open).";
  if (review.has_value()) {
    out.Gauge("hisbridge_review_backlog_items", kBacklog, {}, static_cast<double>(review->open_items));
    out.Gauge("hisbridge_review_oldest_age_seconds", kAge, {},
              std::max(0.0, absl::ToDoubleSeconds(review->oldest_age)));
  } else {
    out.Declare("hisbridge_review_backlog_items", kBacklog, metrics::Type::kGauge);
    out.Declare("hisbridge_review_oldest_age_seconds", kAge, metrics::Type::kGauge);
  }
}

void CollectQuery(const NodeMetricsSources& s, MetricWriter& out) {
  out.Counter("hisbridge_query_views_applied_total", "Patient views applied to this replica's store.", {},
              s.views->applied_views());
  if (s.query_answered_from_disk) {
    out.Counter("hisbridge_query_disk_read_answers_total",
                "Query calls (and WatchChanges reads) that would have waited for the disk, done on the disk-read threads.", {},
                static_cast<double>(s.query_answered_from_disk()));
  }
  if (s.watermarks == nullptr) return;
  const kafka::WatermarkSnapshot marks = s.watermarks->Latest();
  auto views = marks.find(s.topics.views);
  if (views != marks.end()) {
    const std::map<int32_t, int64_t> applied = s.views->AppliedOffsets();
    for (const auto& [p, w] : views->second) {
      auto done = applied.find(p);
      // A partition not read yet lags by everything still on the broker.
      const int64_t position = done != applied.end() ? done->second : w.low;
      out.Gauge("hisbridge_kafka_consumer_lag_messages",
                "Messages on the broker not yet committed by this consumer (high watermark minus committed "
                "offset), per partition.",
                {{"consumer", "query"}, {"topic", s.topics.views}, {"partition", absl::StrCat(p)}},
                static_cast<double>(std::max<int64_t>(0, w.high - position)));
    }
  }
  // End to end: inbox inputs whose effects this replica does not show yet.
  auto inbox = marks.find(s.topics.inbox);
  if (inbox != marks.end()) {
    const std::map<int32_t, int64_t> covered = s.views->CoveredInboxOffsets();
    for (const auto& [p, w] : inbox->second) {
      auto done = covered.find(p);
      const int64_t position = done != covered.end() ? done->second : w.low;
      out.Gauge("hisbridge_query_inbox_lag_messages",
                "Inbox messages whose effects this query replica does not reflect yet, per inbox partition.",
                {{"partition", absl::StrCat(p)}}, static_cast<double>(std::max<int64_t>(0, w.high - position)));
    }
  }
}

void CollectRocksDb(const std::string& store, const index::KvStore::Stats& st, MetricWriter& out) {
  const Labels labels = {{"store", store}};
  out.Gauge("hisbridge_rocksdb_sst_bytes", "Size of the RocksDB SST files.", labels,
            static_cast<double>(st.sst_bytes));
  out.Gauge("hisbridge_rocksdb_memtable_bytes", "Size of the RocksDB memtables.", labels,
            static_cast<double>(st.memtable_bytes));
  out.Gauge("hisbridge_rocksdb_estimated_keys", "RocksDB's estimate of the number of keys.", labels,
            static_cast<double>(st.estimated_keys));
  out.Gauge("hisbridge_rocksdb_pending_compaction_bytes", "Bytes RocksDB compaction still has to rewrite.",
            labels, static_cast<double>(st.pending_compaction_bytes));
  out.Gauge("hisbridge_rocksdb_write_stopped", "1 while RocksDB stops all writes (compaction far behind).",
            labels, st.write_stopped ? 1 : 0);
  out.Gauge("hisbridge_rocksdb_delayed_write_rate_bytes",
            "Write rate RocksDB allows while it slows writes down (0 when it does not).", labels,
            static_cast<double>(st.delayed_write_rate));
  out.Counter("hisbridge_rocksdb_stall_seconds_total", "Time writers were delayed or stopped by RocksDB.", labels,
              static_cast<double>(st.stall_micros) / 1e6);
  out.Counter("hisbridge_rocksdb_write_slowdowns_total", "Times RocksDB started slowing writes down.", labels,
              static_cast<double>(st.write_slowdowns));
  out.Counter("hisbridge_rocksdb_write_stops_total", "Times RocksDB stopped writes.", labels,
              static_cast<double>(st.write_stops));
  out.Gauge("hisbridge_rocksdb_block_cache_bytes", "Bytes the RocksDB block cache holds.", labels,
            static_cast<double>(st.block_cache_bytes));
  out.Gauge("hisbridge_rocksdb_block_cache_capacity_bytes", "Capacity of the RocksDB block cache.", labels,
            static_cast<double>(st.block_cache_capacity_bytes));
  out.Counter("hisbridge_rocksdb_block_cache_hits_total", "Block lookups the RocksDB block cache answered.", labels,
              static_cast<double>(st.block_cache_hits));
  out.Counter("hisbridge_rocksdb_block_cache_misses_total",
              "Block lookups the RocksDB block cache missed (read from the files and decompressed).", labels,
              static_cast<double>(st.block_cache_misses));
}

void CollectHealth(const char* component, const absl::Status& status, MetricWriter& out) {
  out.Gauge("hisbridge_component_healthy",
            "1 while the component runs normally, 0 once it stopped on an error (see the logs).",
            {{"component", component}}, status.ok() ? 1 : 0);
}

}  // namespace

void AddNodeCollectors(metrics::Registry* registry, NodeMetricsSources sources) {
  registry->AddCollector([s = std::move(sources)](MetricWriter& out) {
    if (s.ingestor != nullptr) {
      CollectIngest(s, out);
      CollectHealth("ingest", s.producer != nullptr ? s.producer->Health() : absl::OkStatus(), out);
    }
    if (s.linker != nullptr) {
      CollectLinker(s, out);
      CollectRocksDb("linker", s.linker->IndexStats(), out);
      CollectHealth("linker", s.linker->status(), out);
    }
    if (s.linker != nullptr || s.views != nullptr) CollectReview(s, out);
    if (s.views != nullptr) {
      CollectQuery(s, out);
      CollectRocksDb("query", s.views->store().GetStats(), out);
      CollectHealth("query", s.views->status(), out);
    }
  });
}

}  // namespace hisbridge
