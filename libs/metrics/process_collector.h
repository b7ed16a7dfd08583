// Standard process metrics (the names every Prometheus client library
// uses), read from /proc at scrape time:
//
//   process_resident_memory_bytes, process_virtual_memory_bytes,
//   process_cpu_seconds_total, process_start_time_seconds,
//   process_open_fds, process_max_fds, process_threads
//
// plus hisbridge_build_info{version} = 1. On a system without /proc the
// process_* families are left out.
//
// Thread safety: the collector is called by the registry, one scrape at a
// time.
#ifndef HISBRIDGE_LIBS_METRICS_PROCESS_COLLECTOR_H_
#define HISBRIDGE_LIBS_METRICS_PROCESS_COLLECTOR_H_

#include <string>

#include "libs/metrics/registry.h"

namespace hisbridge::metrics {

void AddProcessCollector(Registry* registry, const std::string& version);

}  // namespace hisbridge::metrics

#endif  // HISBRIDGE_LIBS_METRICS_PROCESS_COLLECTOR_H_
