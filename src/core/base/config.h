#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/base/duration.h"

namespace rollsafe {

// Every setting rollsafe reads, with its default. Names follow rollsafe.toml ("lock.wait").
struct Config {
    // [database]
    std::string database_url;  // empty: libpq's PG* variables and service/pass files
    Millis connect_timeout{std::chrono::seconds(10)};
    int connect_retries = 3;
    // [migrations]
    std::string migrations_dir = "migrations";
    std::string layout = "auto";  // auto | native | dbmate | flyway
    bool allow_out_of_order = false;
    // [history]
    std::string history_schema = "rollsafe";
    // [snapshot]
    std::string snapshot_dir = ".rollsafe/snapshots";
    std::string snapshot_mode = "touched";  // touched | full | none
    int snapshot_keep = 10;
    Millis snapshot_max_age{0};  // 0: no age limit
    std::string pg_bindir;       // where pg_dump/pg_restore live; empty: search
    // [lock]
    Millis lock_wait{std::chrono::seconds(60)};
    Millis lock_lease{std::chrono::seconds(30)};
    // [timeouts]
    Millis lock_timeout{std::chrono::seconds(1)};
    Millis statement_timeout{std::chrono::minutes(15)};
    Millis lock_retry_budget{std::chrono::seconds(60)};
    // [lockfile]
    std::string lockfile_path = ".rollsafe/rollsafe.lock";
    // [freeze]
    bool freeze_on_failed_clean = false;
    bool freeze_on_rollback = false;
    // [check]
    std::string check_level = "error";   // error | warn | off
    int pg_version = 0;                  // 0: the server's, or 15 without a server
    std::string check_layers = "rules";  // layers `up` runs first: rules,diff,contracts,roundtrip
    // [fleet] (docs/fleet.md)
    int fleet_parallel = 4;                            // targets worked on at once
    std::string fleet_on_failure = "stop";             // stop | continue (within a wave)
    int fleet_shard_count = 1;                         // pods of the Indexed Job
    Millis fleet_wave_wait{std::chrono::minutes(30)};  // how long a shard waits for earlier waves
    // [log]
    std::string log_format = "text";  // text | json

    // Where each value came from: "default", "rollsafe.toml:7", "ROLLSAFE_LOCK_WAIT",
    // "--lock-wait".
    std::map<std::string, std::string> origin;
    std::string config_path;  // the file that was read, or empty
};

// Where configuration comes from, lowest precedence first.
struct ConfigSources {
    std::string config_path = "rollsafe.toml";               // read when it exists
    bool config_path_explicit = false;                       // --config given: the file must exist
    std::map<std::string, std::string> env;                  // usually the process environment
    std::vector<std::pair<std::string, std::string>> flags;  // key ("lock.wait") -> value text
    std::map<std::string, std::string> flag_names;           // key -> "--lock-wait" for messages
};

// Loads rollsafe.toml, then ROLLSAFE_* variables (and DATABASE_URL), then flags; each later one
// wins. Throws Error(USAGE) with every problem found, each with file:line and a hint.
Config load_config(const ConfigSources& sources);

// Returns the ROLLSAFE_ variables that are read elsewhere and are not configuration keys
// (ROLLSAFE_CONFIG, ...): load_config accepts them. Add a variable here when code reads one.
const std::vector<std::string>& other_environment_variables();

// Returns the environment of this process as a map.
std::map<std::string, std::string> process_environment();

// One documented configuration key (drives TOML, environment and docs/configuration.md).
struct ConfigKeyInfo {
    std::string key;   // "lock.wait"
    std::string type;  // "string", "duration", "integer", "boolean", or "a|b|c"
    std::string env;   // "ROLLSAFE_LOCK_WAIT"
    std::string default_value;
    std::string help;
};
std::vector<ConfigKeyInfo> config_keys();

// Returns the commented rollsafe.toml that `rollsafe init` writes.
std::string default_config_toml();

}  // namespace rollsafe
