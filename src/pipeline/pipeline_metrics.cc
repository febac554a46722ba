#include "pipeline/pipeline_metrics.h"

#include "pipeline/record_processor.h"
#include "queue/queue.h"

namespace thumbflow::pipeline {

namespace {

// Thumbnails take milliseconds to seconds; end-to-end latency includes queueing and retries.
std::vector<double> ProcessingBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}
std::vector<double> EndToEndBuckets() {
  return {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
}

}  // namespace

PipelineMetrics::PipelineMetrics(MetricsRegistry& registry)
    : registry_(registry),
      duplicates_(registry.GetCounter("thumbflow_pipeline_duplicates_total",
                                      "Records acknowledged because their thumbnails already "
                                      "carried the source ETag.")),
      end_to_end_(registry.GetHistogram("thumbflow_pipeline_end_to_end_seconds",
                                        "From the event time to all thumbnails written.", {},
                                        EndToEndBuckets())),
      in_flight_(registry.GetGauge("thumbflow_pipeline_in_flight",
                                   "Messages received and not yet finished by this process.")),
      heartbeats_(registry.GetCounter("thumbflow_pipeline_heartbeats_total",
                                      "Visibility extensions sent for long jobs.")),
      visible_(registry.GetGauge("thumbflow_queue_depth", "Messages in the queue by state.",
                                 {{"state", "visible"}})),
      queue_in_flight_(registry.GetGauge("thumbflow_queue_depth", "Messages in the queue by state.",
                                         {{"state", "in_flight"}})),
      delayed_(registry.GetGauge("thumbflow_queue_depth", "Messages in the queue by state.",
                                 {{"state", "delayed"}})),
      oldest_age_(registry.GetGauge("thumbflow_queue_oldest_age_seconds",
                                    "Age of the oldest message not yet deleted.")),
      dlq_(registry.GetGauge("thumbflow_dlq_depth", "Messages in the dead-letter queue.")) {}

void PipelineMetrics::RecordDone(const RecordResult& result, const std::string& reason) {
  const Outcome outcome = result.outcome;
  const bool duplicate = result.duplicate;
  // Removals have their own value: they make no thumbnails ("ok" counts sets made or found).
  const std::string counted =
      result.removal && outcome == Outcome::kOk ? "removed" : OutcomeName(outcome);
  registry_
      .GetCounter("thumbflow_pipeline_records_total", "Records processed, by outcome.",
                  {{"outcome", counted}})
      .Increment();
  if (outcome == Outcome::kGone || outcome == Outcome::kPermanent ||
      outcome == Outcome::kTransient) {
    registry_
        .GetCounter(
            "thumbflow_pipeline_records_failed_total",
            "Records not turned into thumbnails, by reason.",
            {{"reason", reason.empty() ? std::string(ReasonName(Reason::kInternal)) : reason}})
        .Increment();
  }
  if (duplicate) duplicates_.Increment();
  // Every outcome is timed: a slow failure (a timeout, a store that hangs) shows here too.
  // Duplicates only HEAD the outputs; timed apart, they do not hide the cost of real work.
  registry_
      .GetHistogram("thumbflow_pipeline_processing_seconds",
                    "Time to process one record (fetch, thumbnail, put), by outcome.",
                    {{"outcome", RecordLabel(result)}}, ProcessingBuckets())
      .Observe(static_cast<double>(result.duration_ms) / 1000.0);
  if (outcome == Outcome::kOk && !duplicate && !result.removal && result.end_to_end_ms >= 0) {
    end_to_end_.Observe(static_cast<double>(result.end_to_end_ms) / 1000.0);
  }
}

void PipelineMetrics::MessageDone(const std::string& action) {
  registry_
      .GetCounter("thumbflow_pipeline_messages_total", "Queue messages finished, by action.",
                  {{"action", action}})
      .Increment();
}

void PipelineMetrics::SetInFlight(int64_t messages) {
  in_flight_.Set(static_cast<double>(messages));
}

void PipelineMetrics::HeartbeatSent(int64_t count) {
  heartbeats_.Increment(static_cast<double>(count));
}

void PipelineMetrics::SetQueueStats(const QueueStats& stats) {
  visible_.Set(static_cast<double>(stats.visible));
  queue_in_flight_.Set(static_cast<double>(stats.in_flight));
  delayed_.Set(static_cast<double>(stats.delayed));
  oldest_age_.Set(static_cast<double>(stats.oldest_age_s));
  dlq_.Set(static_cast<double>(stats.dlq));
}

}  // namespace thumbflow::pipeline
