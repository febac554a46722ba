#include "lambda/lambda_config.h"

#include <fstream>
#include <sstream>

#include <toml.hpp>

#include "config/field_reader.h"

namespace thumbflow::lambda {

bool LooksLikeTomlDocument(std::string_view value) {
  return value.find('\n') != std::string_view::npos || value.find('=') != std::string_view::npos ||
         (!value.empty() && value.front() == '[');
}

Result<LambdaConfig> ParseLambdaConfig(std::string_view toml_text, const std::string& origin) {
  ASSIGN_OR_RETURN(toml::value root, ParseTomlDocument(toml_text, origin));
  LambdaConfig out;
  std::string rest(toml_text);
  if (root.is_table() && root.contains("lambda")) {
    FieldReader top(root, "");
    const toml::value* table = top.Table("lambda");
    Status status = table ? Status::Ok() : top.Finish();  // "lambda: must be a table"
    if (table) {
      FieldReader r(*table, "lambda");
      auto read = [&]() -> Status {
        RETURN_IF_ERROR(r.Int("deadline_margin_ms", &out.lambda.deadline_margin_ms, 0, 900'000));
        RETURN_IF_ERROR(r.Int("concurrency", &out.lambda.concurrency, 0, 1024));
        RETURN_IF_ERROR(r.String("dlq", &out.lambda.dlq));
        return r.Finish();
      };
      status = read();
    }
    if (!status.ok()) return status.WithContext("config " + origin);
    root.as_table().erase("lambda");
    try {
      rest = toml::format(root);
    } catch (const std::exception& e) {
      return InvalidArgumentError("config " + origin + ": " + e.what());
    }
  }
  ASSIGN_OR_RETURN(out.config, ParseConfig(rest, origin));
  return out;
}

Result<LambdaConfig> LoadLambdaConfig(const std::string& thumbflow_config) {
  if (thumbflow_config.empty()) return LambdaConfig{};
  if (LooksLikeTomlDocument(thumbflow_config)) {
    return ParseLambdaConfig(thumbflow_config, "THUMBFLOW_CONFIG");
  }
  std::ifstream in(thumbflow_config, std::ios::binary);
  if (!in) {
    return InvalidArgumentError("config " + thumbflow_config +
                                " (THUMBFLOW_CONFIG): cannot be read");
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseLambdaConfig(text.str(), thumbflow_config);
}

}  // namespace thumbflow::lambda
