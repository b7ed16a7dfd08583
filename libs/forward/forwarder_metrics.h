// Prometheus metrics of a connector's Forwarder: what it handed to ingest
// directly, what went through the spool, what it could not make durable,
// and how full the spool is. Read from Forwarder::stats() at scrape time,
// labelled with the connector's name (hl7v2, fhir):
//
//   hisbridge_connector_units_total{connector, outcome}   counter
//       outcome: direct (ingest answered), spooled (fsync'ed in the spool),
//       failed (not durable: spool full or refused)
//   hisbridge_connector_spool_forwarded_units_total{connector}  counter
//   hisbridge_connector_forward_failures_total{connector}       counter
//       (attempts to forward the spool that failed; they are retried)
//   hisbridge_connector_spool_pending_units{connector}    gauge
//   hisbridge_connector_spool_pending_bytes{connector}    gauge
//   hisbridge_connector_spool_max_bytes{connector}        gauge
//
// Ownership: the registry keeps a collector that reads `forwarder`, which
// must outlive every scrape of the registry. Thread safety: as the
// registry's.
#ifndef HISBRIDGE_LIBS_FORWARD_FORWARDER_METRICS_H_
#define HISBRIDGE_LIBS_FORWARD_FORWARDER_METRICS_H_

#include <string>

#include "libs/forward/forwarder.h"
#include "libs/metrics/registry.h"

namespace hisbridge::forward {

void AddForwarderCollector(metrics::Registry* registry, const Forwarder* forwarder, const std::string& connector);

}  // namespace hisbridge::forward

#endif  // HISBRIDGE_LIBS_FORWARD_FORWARDER_METRICS_H_
