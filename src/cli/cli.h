#pragma once

namespace rollsafe::cli {

// Parses the command line, runs one command and returns the process exit code (design.md).
// The only place that turns exceptions into exit codes.
int run(int argc, char** argv);

}  // namespace rollsafe::cli
