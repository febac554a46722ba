#include "cli/cli.h"

namespace thumbflow::cli {

void RegisterLambdaCommand(CLI::App&, CliContext&) {}

int RunLambda(CliContext&) { return ReportFailure(UnimplementedError("lambda runtime is not built yet")); }

}  // namespace thumbflow::cli
