#pragma once

// Every command's options (plain data, no CLI11) and its entry point. app.cpp fills the options
// from the command line; each run_* lives in cmd_<name>.cpp and returns an exit code.

#include <string>
#include <vector>

#include "cli/context.h"
#include "core/migrations/migration.h"

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

// --- migration engine (issue 3)
struct UpArgs {
    std::string to;
    std::string release;
    bool dry_run = false;
    bool allow_out_of_order = false;
};
int run_up(Context& ctx, const UpArgs& args);

struct PlanArgs {
    std::string to;
    int down_steps = 0;
    std::string down_to;
    bool atomic = false;
    bool allow_out_of_order = false;
};
int run_plan(Context& ctx, const PlanArgs& args);

struct DownArgs {
    std::string to;
    int steps = 0;
    bool atomic = false;
    bool use_file = false;
    bool use_stored = false;
    bool dry_run = false;
    bool yes = false;
    std::string reason;
    std::string release;
};
int run_down(Context& ctx, const DownArgs& args);

struct StatusArgs {};
int run_status(Context& ctx, const StatusArgs& args);

struct HistoryArgs {
    std::string version;
    std::string op;
    std::string since;
    int limit = 0;
};
int run_history(Context& ctx, const HistoryArgs& args);

struct BaselineArgs {
    std::string version;
    std::string from;
    std::string from_table;
    std::string reason;
    bool dry_run = false;
};
int run_baseline(Context& ctx, const BaselineArgs& args);

struct RepairArgs {
    std::string version;
    bool resume = false;
    bool mark_applied = false;
    bool mark_rolled_back = false;
    std::string reason;
    bool dry_run = false;
};
int run_repair(Context& ctx, const RepairArgs& args);

struct UnfreezeArgs {
    std::string reason;
};
int run_unfreeze(Context& ctx, const UnfreezeArgs& args);

struct FreezeArgs {
    std::string reason;
};
int run_freeze(Context& ctx, const FreezeArgs& args);

struct LockArgs {
    std::string action = "status";  // status | break
    std::string reason;
};
int run_lock(Context& ctx, const LockArgs& args);

// --- rollback coordination (issue 7)
struct GateArgs {
    std::string release;
    std::string wait;
};
int run_gate(Context& ctx, const GateArgs& args);

struct RollbackArgs {
    std::string release;
    std::string version;
    bool force_schema = false;
    bool dry_run = false;
    bool yes = false;
    std::string reason;
};
int run_rollback(Context& ctx, const RollbackArgs& args);

struct ReleasesArgs {};
int run_releases(Context& ctx, const ReleasesArgs& args);

struct ReportArgs {
    std::string last;
    std::string since;
    std::string format;  // text | json | markdown
};
int run_report(Context& ctx, const ReportArgs& args);

struct DemoArgs {
    std::string example;
    bool keep = false;
    std::string engine = "postgres";  // postgres | sqlite
};
int run_demo(Context& ctx, const DemoArgs& args);

struct CheckArgs {
    std::vector<std::string> files;  // loose .sql files or folders; empty: the migrations folder
    std::string format;       // text | json | sarif | junit | github | markdown; empty: --output
    int pg_version = 0;       // 0: check.pg_version from the configuration, else 15
    std::string blue, green;  // release names from releases.toml
    std::string releases;     // releases.toml path; empty: looked up
    std::vector<std::string> disable;  // rule ids to skip
    std::vector<std::string>
        schema;  // SQL read first to learn the schema (e.g. pg_dump --schema-only)
    bool list_rules = false;
    bool pending = false;  // only what the database has not applied yet (the rest is the schema)
    // Dynamic layers (issue 6, docs/compatibility.md): a scratch database tries the migrations.
    std::string layers;   // rules,diff,contracts,roundtrip; empty: all but roundtrip with
                          // --blue/--green, else rules
    std::string dev_url;  // create scratch databases on this server instead of an embedded one
    std::string
        pg_bindir;  // PostgreSQL server binaries for the embedded scratch database; empty: search
    std::string
        contracts;  // folder of <release>.sql contracts; empty: contracts/ beside releases.toml
    bool with_data =
        false;  // round-trip rows written through green's contract INSERTs through the downs
};
int run_check(Context& ctx, const CheckArgs& args);

// `rollsafe contract capture` (issue 6): a release's contract from pg_stat_statements.
struct ContractArgs {
    std::string action = "capture";
    std::string release;
    std::string out;  // file to write; "-" for stdout; empty: <contracts>/<release>.sql
    long long min_calls = 1;
    bool merge = false;  // keep an existing contract and add what is new
    bool force = false;  // overwrite an existing contract
};
int run_contract(Context& ctx, const ContractArgs& args);

// Checks `selected` (with `applied` read only for the schema) and prints the report in the
// chosen format; returns 0, 2 (unparsable input or `problems`) or 5 (blocking findings). The
// "pending against this database" mode calls this with the pending migrations.
int check_and_report(Context& ctx, const CheckArgs& args,
                     const std::vector<const Migration*>& selected,
                     const std::vector<const Migration*>& applied, bool release_scope,
                     const std::vector<Diagnostic>& problems);

// --- snapshots and restore (issue 4)
struct SnapshotArgs {
    std::string action;               // create | list | verify | prune
    std::string id;                   // verify: the snapshot
    std::string mode;                 // create: full (default) | touched
    std::vector<std::string> tables;  // create: only these tables
    bool all = false;                 // verify: every snapshot
    int keep = -1;                    // prune: -1 means snapshot.keep
    std::string max_age;              // prune: empty means snapshot.max_age
    bool dry_run = false;             // prune: list only
};
int run_snapshot(Context& ctx, const SnapshotArgs& args);

struct RestoreArgs {
    std::string snapshot;
    std::string table;
    std::string mode = "swap";  // swap | data | side-by-side
    std::string into;
    bool dry_run = false;
    bool yes = false;
    std::string reason;
};
int run_restore(Context& ctx, const RestoreArgs& args);

// --- SQLite (issue 12, docs/sqlite.md): snapshot create/verify and restore --table on a
// sqlite: database URL (cmd_sqlite.cpp); run_snapshot and run_restore hand over to them.
int run_sqlite_snapshot(Context& ctx, const SnapshotArgs& args);
int run_sqlite_restore(Context& ctx, const RestoreArgs& args);
// `check` on SQLite: only the rules that apply there (core/sqlite/check_rules.h).
int run_sqlite_check(Context& ctx, const CheckArgs& args);

// --- fleets (issue 11, docs/fleet.md): --targets runs up, down, rollback, status, check or gate
// on every target of a targets.toml, wave after wave, optionally one shard of an Indexed Job.
struct FleetArgs {
    std::string targets;              // targets.toml; empty: one database as usual
    std::vector<std::string> select;  // label=value terms (also name=..., wave=...)
    int parallel = -1;                // -1: fleet.parallel
    std::string on_failure;           // stop | continue; empty: fleet.on_failure
    int shard_index = -1;             // -1: JOB_COMPLETION_INDEX, else 0
    int shard_count = -1;             // -1: fleet.shard_count
    // Returns true with --targets; throws Error(USAGE) when other fleet flags come without it.
    bool active() const;
};
int run_fleet_up(Context& ctx, const FleetArgs& fleet, const UpArgs& args);
int run_fleet_down(Context& ctx, const FleetArgs& fleet, const DownArgs& args);
int run_fleet_rollback(Context& ctx, const FleetArgs& fleet, const RollbackArgs& args);
int run_fleet_status(Context& ctx, const FleetArgs& fleet, const StatusArgs& args);
int run_fleet_check(Context& ctx, const FleetArgs& fleet, const CheckArgs& args);
int run_fleet_gate(Context& ctx, const FleetArgs& fleet, const GateArgs& args);

}  // namespace rollsafe::cli
