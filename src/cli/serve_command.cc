#include "cli/cli.h"

namespace thumbflow::cli {

void RegisterServeCommand(CLI::App&, CliContext&) {}

}  // namespace thumbflow::cli
