#include "libs/forward/forwarder_metrics.h"

namespace hisbridge::forward {

void AddForwarderCollector(metrics::Registry* registry, const Forwarder* forwarder, const std::string& connector) {
  registry->AddCollector([forwarder, connector](metrics::MetricWriter& out) {
    const ForwarderStats s = forwarder->stats();
    const metrics::Labels labels = {{"connector", connector}};
    auto with_outcome = [&connector](const char* outcome) {
      return metrics::Labels{{"connector", connector}, {"outcome", outcome}};
    };
    constexpr const char* kUnits =
        "Units (one message or one batch of rows) a connector made durable directly with ingest, through its spool, "
        "or could not make durable.";
    out.Counter("hisbridge_connector_units_total", kUnits, with_outcome("direct"),
                static_cast<double>(s.direct_units));
    out.Counter("hisbridge_connector_units_total", kUnits, with_outcome("spooled"),
                static_cast<double>(s.spooled_units));
    out.Counter("hisbridge_connector_units_total", kUnits, with_outcome("failed"),
                static_cast<double>(s.failed_units));
    out.Counter("hisbridge_connector_spool_forwarded_units_total",
                "Units that left the spool for ingest (ingest answered for every record).", labels,
                static_cast<double>(s.forwarded_units));
    out.Counter("hisbridge_connector_forward_failures_total",
                "Attempts to forward the spool to ingest that failed; the spool keeps the units and retries.", labels,
                static_cast<double>(s.forward_attempts_failed));
    out.Gauge("hisbridge_connector_spool_pending_units", "Units waiting in the spool for ingest.", labels,
              static_cast<double>(s.spool_pending));
    out.Gauge("hisbridge_connector_spool_pending_bytes", "Bytes of the units waiting in the spool.", labels,
              static_cast<double>(s.spool_pending_bytes));
    out.Gauge("hisbridge_connector_spool_max_bytes",
              "The spool's limit (--spool-max-bytes); past it new units are refused (AE for HL7).", labels,
              static_cast<double>(s.spool_max_bytes));
  });
}

}  // namespace hisbridge::forward
