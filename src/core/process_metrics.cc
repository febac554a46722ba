#include "core/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/build_info.h"

namespace thumbflow {
namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<int64_t> BootTimeSeconds(const std::string& proc) {
  std::optional<std::string> stat = ReadFile(proc + "/stat");
  if (!stat) return std::nullopt;
  std::istringstream lines(*stat);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("btime ", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10);
  }
  return std::nullopt;
}

int64_t CountOpenFds(const std::string& proc) {
  DIR* dir = ::opendir((proc + "/self/fd").c_str());
  if (dir == nullptr) return 0;
  int64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the descriptor opendir itself holds
}

}  // namespace

std::optional<ProcessStats> ParseProcStat(std::string_view stat, int64_t ticks_per_second,
                                          int64_t page_size, int64_t boot_time_s) {
  // "pid (comm) state ppid ...": fields after the last ')' start at field 3 (state).
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::istringstream rest{std::string(stat.substr(close + 1))};
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  // fields[0] is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24.
  auto field = [&fields](int number) -> std::optional<long long> {
    size_t index = static_cast<size_t>(number - 3);
    if (index >= fields.size()) return std::nullopt;
    char* end = nullptr;
    long long value = std::strtoll(fields[index].c_str(), &end, 10);
    if (end == fields[index].c_str() || *end != '\0') return std::nullopt;
    return value;
  };
  auto utime = field(14), stime = field(15), start = field(22), vsize = field(23), rss = field(24);
  if (!utime || !stime || !start || !vsize || !rss) return std::nullopt;
  ProcessStats stats;
  const double ticks = static_cast<double>(ticks_per_second);
  stats.cpu_seconds = static_cast<double>(*utime + *stime) / ticks;
  stats.start_time_seconds = static_cast<double>(boot_time_s) + static_cast<double>(*start) / ticks;
  stats.virtual_bytes = *vsize;
  stats.resident_bytes = *rss * page_size;
  return stats;
}

std::optional<ProcessStats> ReadProcessStats(const std::string& proc) {
  std::optional<std::string> stat = ReadFile(proc + "/self/stat");
  std::optional<int64_t> boot = BootTimeSeconds(proc);
  if (!stat || !boot) return std::nullopt;
  std::optional<ProcessStats> stats =
      ParseProcStat(*stat, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE), *boot);
  if (!stats) return std::nullopt;
  stats->open_fds = CountOpenFds(proc);
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats->max_fds = limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<int64_t>(limit.rlim_cur);
  }
  return stats;
}

void RegisterProcessMetrics(MetricsRegistry& registry) {
  Counter& cpu = registry.GetCounter("process_cpu_seconds_total",
                                     "Total user and system CPU time spent in seconds.");
  Gauge& resident =
      registry.GetGauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  Gauge& virtual_bytes =
      registry.GetGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.");
  Gauge& start = registry.GetGauge("process_start_time_seconds",
                                   "Start time of the process since unix epoch in seconds.");
  Gauge& open_fds = registry.GetGauge("process_open_fds", "Number of open file descriptors.");
  Gauge& max_fds = registry.GetGauge("process_max_fds", "Maximum number of open file descriptors.");
  auto collect = [&cpu, &resident, &virtual_bytes, &start, &open_fds, &max_fds] {
    std::optional<ProcessStats> stats = ReadProcessStats();
    if (!stats) return;
    // CPU time only grows: the counter follows it by increments. Collections are
    // serialized by the registry, so the read-then-add cannot race with itself.
    cpu.Increment(stats->cpu_seconds - cpu.Value());
    resident.Set(static_cast<double>(stats->resident_bytes));
    virtual_bytes.Set(static_cast<double>(stats->virtual_bytes));
    start.Set(stats->start_time_seconds);
    open_fds.Set(static_cast<double>(stats->open_fds));
    max_fds.Set(static_cast<double>(stats->max_fds));
  };
  collect();
  registry.AddCollector(std::move(collect));
}

void RegisterBuildInfo(MetricsRegistry& registry, std::string_view libvips_version) {
  MetricLabels labels = {{"version", std::string(ThumbflowVersion())}};
  if (!ThumbflowCommit().empty()) labels.emplace_back("commit", std::string(ThumbflowCommit()));
  if (!libvips_version.empty()) labels.emplace_back("libvips", std::string(libvips_version));
  registry
      .GetGauge("thumbflow_build_info",
                "A constant 1 labelled with the thumbflow version, its commit and the "
                "libvips version it runs with.",
                labels)
      .Set(1);
}

}  // namespace thumbflow
