#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "core/base/config.h"
#include "core/base/exit_code.h"
#include "core/engine/engine.h"
#include "core/engine/lockfile.h"

namespace rollsafe::cli {

// Options every command shares, filled by the CLI11 adapter (app.cpp).
struct Globals {
    std::string config_path = "rollsafe.toml";
    bool config_explicit = false;
    std::string output = "text";  // text | json (some commands add more)
    std::vector<std::pair<std::string, std::string>> overrides;  // config key -> flag value
    std::map<std::string, std::string> flag_names;               // config key -> "--flag"
    int verbosity = 0;
    bool no_color = false;
    std::string metrics_file;  // --metrics-file: Prometheus textfile written after the run
};

// What a command gets: the merged configuration and the global options.
struct Context {
    Globals globals;
    Config config;
    std::unique_ptr<Lockfile> lockfile;  // held by commands that change the database

    bool json() const { return globals.output == "json"; }
    // Prints a JSON document to stdout (pretty, one document per command).
    void print_json(const nlohmann::json& doc) const;
    // Prints text to stdout.
    void print(const std::string& text) const;
    // Returns true when stdin and stdout are a terminal (prompts, progress bars).
    bool interactive() const;
    // Asks a yes/no question on the terminal; returns true on "y"/"yes". Non-interactive: false.
    bool confirm(const std::string& question) const;
};

// The engine hooks of a real run, plus mirroring the freeze into the lockfile.
EngineHooks hooks_for(Context& ctx);

// Writes the Prometheus textfile for --metrics-file (best effort: a failure is a warning).
void write_metrics(Context& ctx, const std::string& command, int exit_code, double seconds);

}  // namespace rollsafe::cli
