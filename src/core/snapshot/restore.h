#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/base/config.h"
#include "core/base/process.h"
#include "core/db/session.h"

namespace rollsafe::snapshot {

struct RestoreOptions {
    std::string snapshot_id;
    std::string table;          // restore this table ("orders" or "public.orders") ...
    std::string mode = "swap";  // ... as: swap | data | side-by-side
    std::string into;           // ... or the whole snapshot into this new database
    bool dry_run = false;
    std::string reason;  // recorded in the audit row
    // Called at named points inside the swap or data transaction ("locked", "renamed", "moved",
    // "sequences", "repointed", "views"); an exception from it rolls everything back. Tests use
    // it to inject a conflict half-way.
    std::function<void(const std::string& stage, db::Session& session)> on_stage;
};

// An object of the live database that depends on the table, and what the restore does with it.
struct Dependent {
    std::string kind;    // view, foreign key, statistics, materialized view, function, ...
    std::string name;    // "public.order_totals", "public.items.items_order_id_fkey"
    std::string action;  // "re-create", "re-point", "refuse: ..."
};

// What a restore will do, shown by --dry-run and before the confirmation prompt.
struct RestorePlan {
    std::string snapshot_id;
    std::string snapshot_created_at;
    std::string table;  // qualified
    std::string mode;
    std::string into;
    std::string staging_schema;
    std::string aside_name;  // qualified
    bool table_exists = false;
    long long snapshot_rows = -1;
    long long current_rows = -1;
    std::vector<std::string>
        objects;  // from the archive: "TABLE public.orders", "INDEX orders_user_idx", ...
    std::vector<Dependent> dependents;
    std::vector<std::string> blockers;  // why it cannot be done safely; empty when it can
    std::vector<std::string> steps;     // what happens, in order
    std::vector<std::string> notes;
};

struct RestoreResult {
    RestorePlan plan;
    long long rows = 0;
    long long duration_ms = 0;
    int attempts = 1;
    std::string message;
    std::string hint;
};

// Restores one table of a snapshot (swap, data or side-by-side) or a whole snapshot into a new
// database. A restore refuses an unverified or damaged snapshot (Error(SNAPSHOT_FAILED)), refuses
// before changing anything when dependents cannot be handled safely (Error(USAGE), listing them),
// rolls everything back on a conflict (Error(FAILED_CLEAN)) and gives up with Error(BUSY) when the
// locks cannot be had within timeouts.lock_retry_budget. Nothing is ever dropped with CASCADE:
// the replaced table is renamed aside, never dropped.
class Restorer {
  public:
    explicit Restorer(Config config, ProcessRunner& runner = default_process_runner());

    // Returns the plan (verifying the snapshot first) without changing anything.
    RestorePlan plan(const RestoreOptions& options);
    // Restores and appends an audit row (op "restore") to the history.
    RestoreResult run(const RestoreOptions& options);

  private:
    Config m_config;
    ProcessRunner& m_runner;
};

}  // namespace rollsafe::snapshot
