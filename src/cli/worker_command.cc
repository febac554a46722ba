#include "cli/cli.h"

namespace thumbflow::cli {

void RegisterWorkerCommand(CLI::App&, CliContext&) {}

}  // namespace thumbflow::cli
