#include "cli/cli.h"

namespace thumbflow::cli {

void RegisterObjectCommands(CLI::App&, CliContext&) {}

}  // namespace thumbflow::cli
