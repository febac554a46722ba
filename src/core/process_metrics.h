// The process metrics every Prometheus client library exports, under their standard names,
// read from /proc/self when /metrics is scraped (Linux only):
//
//   process_cpu_seconds_total        user + system CPU time (counter)
//   process_resident_memory_bytes    resident set size
//   process_virtual_memory_bytes     virtual memory size
//   process_start_time_seconds       start time, seconds since the epoch
//   process_open_fds                 open file descriptors
//   process_max_fds                  the soft limit on open file descriptors
//
// Dashboards and alerts written for any Prometheus-instrumented service work unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/metrics.h"

namespace thumbflow {

struct ProcessStats {
  double cpu_seconds = 0;
  int64_t resident_bytes = 0;
  int64_t virtual_bytes = 0;
  double start_time_seconds = 0;
  int64_t open_fds = 0;
  int64_t max_fds = 0;
};

// The fields of /proc/PID/stat that ProcessStats needs, from its text (the command name in
// parentheses may hold spaces and parentheses). `ticks_per_second` is sysconf(_SC_CLK_TCK);
// `boot_time_s` is /proc/stat's btime. nullopt when the text is not a stat line.
std::optional<ProcessStats> ParseProcStat(std::string_view stat, int64_t ticks_per_second,
                                          int64_t page_size, int64_t boot_time_s);

// This process's stats, from `proc` ("/proc" outside tests). nullopt when /proc cannot be
// read (then the metrics keep their last values).
std::optional<ProcessStats> ReadProcessStats(const std::string& proc = "/proc");

// Registers the six families in `registry`, refreshed at every scrape (AddCollector).
void RegisterProcessMetrics(MetricsRegistry& registry);

// thumbflow_build_info{version,commit,libvips} 1: commit is left out when unknown,
// libvips when `libvips_version` is empty.
void RegisterBuildInfo(MetricsRegistry& registry, std::string_view libvips_version);

}  // namespace thumbflow
