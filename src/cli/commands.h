#pragma once

// Every command's options (plain data, no CLI11) and its entry point. app.cpp fills the options
// from the command line; each run_* lives in cmd_<name>.cpp and returns an exit code.

#include <string>
#include <vector>

#include "cli/context.h"

namespace rollsafe::cli {

struct InitArgs {
    bool force = false;
};
int run_init(Context& ctx, const InitArgs& args);

struct NewArgs {
    std::string name;
};
int run_new(Context& ctx, const NewArgs& args);

struct ValidateArgs {};
int run_validate(Context& ctx, const ValidateArgs& args);

struct SandboxArgs {
    bool tcp = false;
    std::vector<std::string> settings;  // key=value
};
int run_sandbox(Context& ctx, const SandboxArgs& args);

}  // namespace rollsafe::cli
