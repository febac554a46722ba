#include "cli/cli.h"

namespace thumbflow::cli {

void RegisterThumbCommand(CLI::App&, CliContext&) {}

}  // namespace thumbflow::cli
