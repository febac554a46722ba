// put, get, ls: an S3 client for any endpoint (AWS, moto, thumbflow's own server).
//
// Endpoint: --endpoint, else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, else the [aws] config,
// else AWS itself (aws/aws_settings.h). Credentials: the AWS chain (aws/credentials.h).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "aws/aws_settings.h"
#include "aws/credentials.h"
#include "aws/http_client.h"
#include "aws/s3_store.h"
#include "cli/cli.h"
#include "core/clock.h"
#include "image/format_sniff.h"

namespace thumbflow::cli {
namespace {

constexpr const char* kDefaultBucket = "images";

struct S3Options {
  std::string config_path;
  std::string endpoint;
  std::string bucket = kDefaultBucket;
};

void AddS3Options(CLI::App* cmd, S3Options* o) {
  cmd->add_option("--bucket", o->bucket, "Bucket (default images)");
  cmd->add_option("--endpoint", o->endpoint, "S3 endpoint URL (default: environment/config/AWS)");
  cmd->add_option("--config", o->config_path, "thumbflow config file ([aws] section)");
}

// Everything a command needs to talk to S3, kept alive together.
struct S3Client {
  SystemClock clock;
  std::shared_ptr<aws::HttpClient> http;
  std::shared_ptr<aws::CredentialsProvider> credentials;
  std::unique_ptr<aws::S3Store> store;
};

// Failure: InvalidArgument (exit 2) for bad config, endpoint or flags.
Result<std::unique_ptr<S3Client>> MakeS3Client(const S3Options& o) {
  ASSIGN_OR_RETURN(Config config, LoadConfigOrDefault(o.config_path));
  aws::Environment env = aws::ProcessEnvironment();
  ASSIGN_OR_RETURN(aws::AwsSettings settings, aws::ResolveAwsSettings(config.aws, env, o.endpoint));
  auto client = std::make_unique<S3Client>();
  client->http = aws::NewHttpClientForSettings(settings);
  client->credentials =
      aws::NewDefaultCredentialsChain(aws::EnvironmentForConfig(config.aws, std::move(env)),
                                      &client->clock, aws::CredentialsOptionsForSettings(settings));
  ASSIGN_OR_RETURN(client->store,
                   aws::NewS3Store(aws::S3StoreOptionsForSettings(settings), client->http,
                                   client->credentials, &client->clock));
  return client;
}

Result<std::string> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return InternalError("error reading " + path);
  return out.str();
}

struct PutArgs {
  S3Options s3;
  std::string prefix = "uploads/";
  std::string key;
  std::vector<std::string> files;
};

int RunPut(const PutArgs& args) {
  if (!args.key.empty() && args.files.size() != 1) {
    return ReportUsage("--key needs exactly one FILE");
  }
  auto client = MakeS3Client(args.s3);
  if (!client.ok()) return ReportFailure(client.status());
  int exit_code = kExitOk;
  for (const std::string& file : args.files) {
    Result<std::string> bytes = ReadFileBytes(file);
    if (!bytes.ok()) {
      ReportFailure(bytes.status());
      exit_code = kExitFailed;
      continue;
    }
    std::string key =
        args.key.empty() ? args.prefix + std::filesystem::path(file).filename().string() : args.key;
    PutOptions options;
    options.content_type = std::string(SniffedFormatMime(SniffImageFormat(*bytes)));
    Result<ObjectInfo> info = (*client)->store->Put(args.s3.bucket, key, *bytes, options);
    if (!info.ok()) {
      ReportFailure(info.status());
      exit_code = kExitFailed;
      continue;
    }
    PrintJson({{"file", file},
               {"bucket", args.s3.bucket},
               {"key", key},
               {"etag", info->etag},
               {"bytes", info->size},
               {"content_type", info->content_type}});
  }
  return exit_code;
}

int RunGet(const S3Options& s3, const std::string& key, const std::string& output) {
  auto client = MakeS3Client(s3);
  if (!client.ok()) return ReportFailure(client.status());
  Result<ObjectData> data = (*client)->store->Get(s3.bucket, key);
  if (!data.ok()) return ReportFailure(data.status());
  if (output.empty() || output == "-") {
    std::fwrite(data->bytes.data(), 1, data->bytes.size(), stdout);
    std::fflush(stdout);
    return kExitOk;
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out.write(data->bytes.data(), static_cast<std::streamsize>(data->bytes.size()));
  out.close();
  if (!out) return ReportFailure(InternalError("cannot write " + output));
  return kExitOk;
}

int RunLs(const S3Options& s3, const std::string& prefix) {
  auto client = MakeS3Client(s3);
  if (!client.ok()) return ReportFailure(client.status());
  ListOptions options;
  options.prefix = prefix;
  while (true) {
    Result<ListResult> page = (*client)->store->List(s3.bucket, options);
    if (!page.ok()) return ReportFailure(page.status());
    std::string text;
    for (const ObjectInfo& o : page->objects) text += o.key + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (!page->truncated || page->next_continuation_token.empty()) break;
    options.continuation_token = page->next_continuation_token;
  }
  std::fflush(stdout);
  return kExitOk;
}

}  // namespace

void RegisterObjectCommands(CLI::App& app, CliContext& ctx) {
  auto put_args = std::make_shared<PutArgs>();
  CLI::App* put = app.add_subcommand("put", "Upload files to an S3 bucket (one JSON line each)");
  AddS3Options(put, &put_args->s3);
  put->add_option("--prefix", put_args->prefix, "Key prefix (default uploads/)");
  put->add_option("--key", put_args->key, "Exact key (one FILE only)");
  put->add_option("files", put_args->files, "Files to upload")->required();
  put->callback([put_args, &ctx] { ctx.exit_code = RunPut(*put_args); });

  auto get_s3 = std::make_shared<S3Options>();
  auto get_key = std::make_shared<std::string>();
  auto get_output = std::make_shared<std::string>();
  CLI::App* get = app.add_subcommand("get", "Download an object (stdout unless -o)");
  AddS3Options(get, get_s3.get());
  get->add_option("key", *get_key, "Object key")->required();
  get->add_option("-o,--output", *get_output, "Output file");
  get->callback([get_s3, get_key, get_output, &ctx] {
    ctx.exit_code = RunGet(*get_s3, *get_key, *get_output);
  });

  auto ls_s3 = std::make_shared<S3Options>();
  auto ls_prefix = std::make_shared<std::string>();
  CLI::App* ls = app.add_subcommand("ls", "List keys, one per line");
  AddS3Options(ls, ls_s3.get());
  ls->add_option("prefix", *ls_prefix, "Key prefix");
  ls->callback([ls_s3, ls_prefix, &ctx] { ctx.exit_code = RunLs(*ls_s3, *ls_prefix); });
}

}  // namespace thumbflow::cli
