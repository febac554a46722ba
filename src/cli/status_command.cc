#include "cli/cli.h"

namespace thumbflow::cli {

void RegisterStatusCommand(CLI::App&, CliContext&) {}

}  // namespace thumbflow::cli
