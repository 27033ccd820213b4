#pragma once

// A fleet's targets file (targets.toml): named databases, their labels and waves. Its core
// format is a contract that scripts rely on (docs/fleet.md):
//
//   [[target]]
//   name = "eu-1"
//   url = "postgres://app@eu-1.db:5432/shop"   # or: service = "eu-1" (pg_service.conf)
//   wave = "canary"
//   labels = { region = "eu" }
//
//   [waves]
//   order = ["canary", "wave-1"]

#include <map>
#include <string>
#include <vector>

#include "core/base/config.h"

namespace rollsafe::fleet {

// The wave of a target that names none.
inline const char* kDefaultWave = "default";

// One database of the fleet.
struct Target {
    std::string name;
    std::string url;      // a URL or key=value conninfo without a password; or empty
    std::string service;  // a pg_service.conf service name; or empty
    std::string wave = kDefaultWave;
    std::map<std::string, std::string> labels;
    int line = 0;  // line of the target's first key in the file

    // Returns the connection string the engine uses: the url, or "service=<name>".
    std::string database_url() const;
};

// A parsed targets file.
struct TargetsFile {
    std::string path;
    std::vector<Target> targets;          // in file order
    std::vector<std::string> wave_order;  // every wave a target names, in run order
};

// Parses the text of a targets file (`origin` names it in messages). Throws Error(USAGE) with
// every problem as a file:line diagnostic: unknown keys, missing or duplicate names, a URL that
// carries a password, a wave that [waves] order does not list, no targets at all.
TargetsFile parse_targets(const std::string& text, const std::string& origin);

// Reads and parses a targets file; throws Error(USAGE) when it cannot be read or is invalid.
TargetsFile read_targets(const std::string& path);

// Returns the configuration for running on one target: base with the target's database.
Config target_config(const Config& base, const Target& target);

// One --select term: a label (or the pseudo-labels `name` and `wave`) and the value it must have.
struct Selector {
    std::string key, value;
};

// Parses "key=value"; throws Error(USAGE) for anything else.
Selector parse_selector(const std::string& text);

// Returns the targets that match every selected key (terms with the same key are alternatives:
// region=eu region=us selects both), in file order. Throws Error(USAGE) when a key is on no
// target (a typo) or when nothing matches.
std::vector<Target> select_targets(const TargetsFile& file, const std::vector<Selector>& selectors);

}  // namespace rollsafe::fleet
