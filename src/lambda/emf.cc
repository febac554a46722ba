#include "lambda/emf.h"

#include <map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace thumbflow::lambda {
namespace {

// Record metric names by outcome, in the order they are declared.
constexpr std::pair<const char*, const char*> kRecordMetrics[] = {{"ok", "RecordsOk"},
                                                                  {"duplicate", "RecordsDuplicate"},
                                                                  {"skipped", "RecordsSkipped"},
                                                                  {"gone", "RecordsGone"},
                                                                  {"permanent", "RecordsPermanent"},
                                                                  {"transient", "RecordsTransient"},
                                                                  {"aborted", "RecordsAborted"},
                                                                  {"removed", "RecordsRemoved"}};

}  // namespace

LogFields EmfBatchFields(const BatchResult& batch, int64_t timestamp_ms, int64_t batch_ms,
                         const std::string& function_name, const std::string& metric_namespace) {
  std::map<std::string, int64_t> by_outcome;
  std::vector<int64_t> durations;
  int64_t records = 0;
  int64_t dead_lettered = 0;
  for (const MessageOutcome& message : batch.messages) {
    if (message.disposition == Disposition::kDeadLettered) ++dead_lettered;
    for (const pipeline::RecordResult& record : message.records) {
      ++records;
      ++by_outcome[pipeline::RecordLabel(record)];
      if (durations.size() < kEmfMaxValues) durations.push_back(record.duration_ms);
    }
  }

  // Declarations and values, in the same order; the values are added after "_aws".
  nlohmann::json metrics = nlohmann::json::array();
  std::vector<std::pair<const char*, std::string>> values;  // name, encoded value
  auto add = [&](const char* name, const char* unit, std::string encoded) {
    metrics.push_back({{"Name", name}, {"Unit", unit}});
    values.emplace_back(name, std::move(encoded));
  };
  add("Messages", "Count", std::to_string(batch.messages.size()));
  add("BatchItemFailures", "Count", std::to_string(batch.failed_message_ids.size()));
  add("DeadLettered", "Count", std::to_string(dead_lettered));
  add("Records", "Count", std::to_string(records));
  for (const auto& [outcome, name] : kRecordMetrics) {
    auto it = by_outcome.find(outcome);
    add(name, "Count", std::to_string(it == by_outcome.end() ? 0 : it->second));
  }
  add("BatchTime", "Milliseconds", std::to_string(batch_ms));
  // EMF refuses a metric without values: ProcessingTime is declared only with records.
  if (!durations.empty()) add("ProcessingTime", "Milliseconds", nlohmann::json(durations).dump());

  nlohmann::json dimensions = nlohmann::json::array();
  dimensions.push_back(function_name.empty() ? nlohmann::json::array()
                                             : nlohmann::json::array({"FunctionName"}));
  nlohmann::json aws = {
      {"Timestamp", timestamp_ms},
      {"CloudWatchMetrics",
       nlohmann::json::array(
           {{{"Namespace", metric_namespace}, {"Dimensions", dimensions}, {"Metrics", metrics}}})}};
  LogFields fields;
  fields.AddJson("_aws", aws.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!function_name.empty()) fields.Add("FunctionName", function_name);
  for (auto& [name, encoded] : values) fields.AddJson(name, std::move(encoded));
  return fields;
}

}  // namespace thumbflow::lambda
