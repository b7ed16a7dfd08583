// The metrics of one Node: collectors that read, at scrape time, the
// counters its components keep anyway (pull-based; the components know
// nothing about Prometheus). Every family is listed in docs/operations.md
// ("What to watch") with the alerts worth setting on it.
//
//   ingest  hisbridge_ingest_records_{accepted,unavailable}_total,
//           hisbridge_ingest_records_rejected_total{reason},
//           hisbridge_ingest_inflight_records
//   linker  hisbridge_link_decisions_total{outcome},
//           hisbridge_linker_{records,events}_applied_total,
//           hisbridge_linker_commands_total{result},
//           hisbridge_linker_partitions_owned
//   query   hisbridge_query_views_applied_total,
//           hisbridge_query_disk_read_answers_total,
//           hisbridge_query_inbox_lag_messages{partition},
//           hisbridge_review_backlog_items, hisbridge_review_oldest_age_seconds
//   both    hisbridge_kafka_consumer_lag_messages{consumer,topic,partition},
//           hisbridge_rocksdb_*{store}, hisbridge_component_healthy{component}
//
// Consumer lag is the broker's high watermark minus what the component has
// committed (linker: offsets stored with the index; query: offsets applied
// to its view store); the watermarks come from a kafka::WatermarkMonitor
// refreshed every few seconds, so a scrape never waits on the broker.
//
// The review queue is the query role's copy (what ReviewService serves,
// from the views topic): Node sets review_queue from its ViewStore, the
// oldest open item found with a metrics::OldestPendingTracker. A node
// without a query role declares the two families without samples, never
// with made-up values.
//
// Ownership: borrows everything; the sources must outlive the registry's
// scrapes (Node stops the metrics server before its components).
#ifndef HISBRIDGE_SERVICES_NODE_NODE_METRICS_H_
#define HISBRIDGE_SERVICES_NODE_NODE_METRICS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/kafka/kafka_config.h"
#include "libs/metrics/registry.h"

namespace hisbridge {
namespace ingest {
class Ingestor;
}  // namespace ingest
namespace kafka {
class Producer;
class WatermarkMonitor;
}  // namespace kafka
namespace linker {
class StreamingLinker;
}  // namespace linker
namespace view {
class ViewMaterializer;
}  // namespace view

struct ReviewQueueStats {
  // Review items waiting for a data steward.
  int64_t open_items = 0;
  // Age of the oldest open item (zero when there is none).
  absl::Duration oldest_age;
};

struct NodeMetricsSources {
  kafka::TopicNames topics;
  const ingest::Ingestor* ingestor = nullptr;
  const kafka::Producer* producer = nullptr;
  const linker::StreamingLinker* linker = nullptr;
  const view::ViewMaterializer* views = nullptr;
  const kafka::WatermarkMonitor* watermarks = nullptr;
  // The review queue's figures (the query role's); unset or nullopt:
  // declared without samples.
  std::function<std::optional<ReviewQueueStats>()> review_queue;
  // Query calls answered on the disk-read threads (their data was not in
  // the block cache); unset: not reported.
  std::function<int64_t()> query_answered_from_disk;
};

void AddNodeCollectors(metrics::Registry* registry, NodeMetricsSources sources);

}  // namespace hisbridge

#endif  // HISBRIDGE_SERVICES_NODE_NODE_METRICS_H_
