#include "cli/cli.h"

namespace thumbflow::cli {

void RegisterServeCommands(CLI::App&, CliContext&) {}

}  // namespace thumbflow::cli
