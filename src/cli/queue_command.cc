#include "cli/cli.h"

namespace thumbflow::cli {

void RegisterQueueCommands(CLI::App&, CliContext&) {}

}  // namespace thumbflow::cli
