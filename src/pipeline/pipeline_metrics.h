// PipelineMetrics: the pipeline's Prometheus metrics, registered once in the registry that
// cli/ created and passes down.
//
//   thumbflow_pipeline_records_total{outcome}          records by outcome (ok, removed,
//                                                       skipped, ...; RecordLabel)
//   thumbflow_pipeline_records_failed_total{reason}    gone/permanent/transient by reason
//   thumbflow_pipeline_duplicates_total                 ok records skipped by idempotency
//   thumbflow_pipeline_processing_seconds{outcome}      one record, start to finish, every
//                                                       outcome (ok, skipped, gone, permanent,
//                                                       transient, aborted; duplicates of ok
//                                                       records as "duplicate", removals as
//                                                       "removed")
//   thumbflow_pipeline_end_to_end_seconds               event time -> outputs written
//   thumbflow_pipeline_messages_total{action}           delete, retry, dead-letter, release
//   thumbflow_pipeline_in_flight                        messages held by this process
//   thumbflow_pipeline_heartbeats_total                 visibility extensions sent
//   thumbflow_queue_depth{state}                        visible, in_flight, delayed
//   thumbflow_queue_oldest_age_seconds
//   thumbflow_dlq_depth
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/metrics.h"

namespace thumbflow {

struct QueueStats;

namespace pipeline {

struct RecordResult;

class PipelineMetrics {
 public:
  // `registry` must outlive this object.
  explicit PipelineMetrics(MetricsRegistry& registry);

  // One finished record; `reason` is its label for records_failed_total (gone, permanent and
  // transient records).
  void RecordDone(const RecordResult& result, const std::string& reason);
  // `action`: "delete", "retry", "dead-letter", "release".
  void MessageDone(const std::string& action);
  void SetInFlight(int64_t messages);
  void HeartbeatSent(int64_t count);
  void SetQueueStats(const QueueStats& stats);

 private:
  MetricsRegistry& registry_;
  Counter& duplicates_;
  Histogram& end_to_end_;
  Gauge& in_flight_;
  Counter& heartbeats_;
  Gauge& visible_;
  Gauge& queue_in_flight_;
  Gauge& delayed_;
  Gauge& oldest_age_;
  Gauge& dlq_;
};

}  // namespace pipeline
}  // namespace thumbflow
