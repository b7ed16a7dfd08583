#include "libs/metrics/process_collector.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace hisbridge::metrics {
namespace {

std::string ReadSmallFile(const char* path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Seconds since the epoch at which the machine booted (for start time).
double BootTime() {
  std::istringstream stat(ReadSmallFile("/proc/stat"));
  std::string line;
  while (std::getline(stat, line)) {
    double value = 0;
    if (line.rfind("btime ", 0) == 0 && absl::SimpleAtod(line.substr(6), &value)) return value;
  }
  return 0;
}

int CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory handle itself
}

void CollectProcess(MetricWriter& out) {
  const std::string stat = ReadSmallFile("/proc/self/stat");
  // The command name (field 2) is in parentheses and may contain spaces;
  // the fields after the last ')' are fixed.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
  // f[0] is field 3 (state): field n is f[n - 3].
  auto field = [&](int n) {
    double v = 0;
    if (n - 3 < static_cast<int>(f.size())) (void)absl::SimpleAtod(f[n - 3], &v);
    return v;
  };
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  out.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.", {}, field(24) * page);
  out.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {}, field(23));
  out.Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", {},
              (field(14) + field(15)) / ticks);
  out.Gauge("process_threads", "Number of OS threads in the process.", {}, field(20));
  const double boot = BootTime();
  if (boot > 0) {
    out.Gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", {},
              boot + field(22) / ticks);
  }
  const int fds = CountOpenFds();
  if (fds >= 0) out.Gauge("process_open_fds", "Number of open file descriptors.", {}, fds);
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.Gauge("process_max_fds", "Maximum number of open file descriptors.", {},
              static_cast<double>(limit.rlim_cur));
  }
}

}  // namespace

void AddProcessCollector(Registry* registry, const std::string& version) {
  registry->AddCollector([version](MetricWriter& out) {
    out.Gauge("hisbridge_build_info", "Always 1; the version label says which hisbridge runs.",
              {{"version", version}}, 1);
    CollectProcess(out);
  });
}

}  // namespace hisbridge::metrics
