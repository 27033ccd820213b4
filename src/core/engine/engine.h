#pragma once

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/config.h"
#include "core/base/exit_code.h"
#include "core/base/interrupt.h"
#include "core/check/check.h"
#include "core/db/session.h"
#include "core/engine/history.h"
#include "core/engine/lockfile.h"
#include "core/engine/migration_lock.h"
#include "core/migrations/reader.h"

namespace rollsafe {

// One statement as it will run.
struct PlannedStatement {
    int index = 0;
    std::string position;  // file:line:col
    std::string text;
    std::string kind;  // parse node name
    // For CREATE INDEX CONCURRENTLY: the index and its table, to clean up an INVALID leftover.
    std::string concurrent_index, concurrent_index_table;
};

// One migration step (up or down) of a plan.
struct PlannedStep {
    std::string version;
    std::string version_key;
    std::string name;
    std::string direction;  // "up" or "down"
    bool transactional = true;
    std::string source;  // "file", or "stored" for a down text taken from history
    Millis lock_timeout{0};
    Millis statement_timeout{0};
    std::string compat_class;  // from check (up) or history (down)
    std::vector<PlannedStatement> statements;
    const Migration* migration = nullptr;  // null for a stored down without a file
    std::string down_text;                 // for stored downs
    std::string up_sha256, up_drift_sha256, down_sha256, down_drift_sha256;
    nlohmann::json suppressions = nlohmann::json::array();  // allowed findings, kept in history
};

struct Plan {
    std::string direction;  // "up" or "down"
    bool atomic = false;    // down --atomic: every step in one transaction
    std::vector<PlannedStep> steps;
    std::vector<std::string> notes;        // decisions worth showing (ahead versions, stored downs)
    std::vector<std::string> warnings;     // cosmetic drift, missing files
    std::vector<check::Finding> findings;  // from check, when it ran
};

// What happened to one migration in a run.
struct StepResult {
    std::string version, name, direction,
        outcome;  // outcome: applied, rolled-back, failed, failed-dirty
    long long duration_ms = 0;
    int attempts = 1;
    std::string error, position;
    std::string compat_class;
};

// The result of up/down: an exit code with its reason, never an exception for a failed
// migration (those are expected outcomes).
struct RunResult {
    ExitCode code = ExitCode::ok;
    std::string message;
    std::string hint;
    Plan plan;
    std::vector<StepResult> steps;
    std::string snapshot_id;
    std::string run_id;
    bool nothing_to_do = false;
    // rollback only: the decision taken, and the check of the schema against the release's record.
    std::string decision;
    std::string target_version;
    std::string verification;  // "matched", "differs", "not recorded", or "" when not checked
    std::vector<std::string> differences;
};

// A deploy of a release as recorded by `up --release` (its schema version and catalog).
struct ReleaseRecord {
    std::string release, version, fingerprint, deployed_at, run_id;
};

struct GateOptions {
    std::string release;  // empty: the newest migration of the local files
    Millis wait{0};
};

// The verdict of `gate`: may this release's app start on the schema now?
struct GateResult {
    ExitCode code = ExitCode::ok;
    std::string message, hint;
    std::string release, needs_version, schema_version;
    std::vector<std::string> missing;       // migrations the release needs that are not applied
    std::vector<std::string> incompatible;  // applied migrations it cannot run against
    int polls = 0;
};

struct RollbackOptions {
    std::string release;                    // --to-release
    std::optional<std::string> to_version;  // or --to-version
    bool force_schema = false;              // run the downs even when all are expand-only
    bool dry_run = false;
    std::string reason;
};

struct UpOptions {
    std::optional<std::string> to_version;  // apply up to and including this version
    std::string release;                    // --release tag recorded with each row
    bool dry_run = false;
    bool allow_out_of_order = false;
    std::string command = "up";
};

struct DownOptions {
    std::optional<std::string> to_version;  // keep this version and older
    int steps = 0;                          // or: undo the newest N
    bool atomic = false;
    bool use_file = false;       // a down file differs from the stored text: take the file
    bool use_stored = false;     // ... or the stored text
    bool prefer_stored = false;  // rollback: the stored text wins without a drift stop
    bool dry_run = false;
    std::string release;
    std::string reason;
    std::string command = "down";
};

// One line of `status`.
struct StatusEntry {
    std::string version, version_key, name;
    std::string state;  // applied, pending, dirty, out-of-order, missing-file
    std::string drift;  // "", "cosmetic", "changed"
    std::string down_drift;
    std::string applied_at, release, compat_class, op;
    bool has_file = false;
};

struct StatusReport {
    std::string database;
    bool initialized = false;
    std::string current_version;  // newest applied
    std::vector<StatusEntry> entries;
    std::optional<History::Freeze> freeze;
    std::optional<LockHolder> lock;
    LockfileStatus lockfile;
    int applied = 0, pending = 0, dirty = 0, drifted = 0, missing = 0, out_of_order = 0;

    // Version keys the database has run (applied or dirty); out-of-order files are pending.
    std::set<std::string> applied_keys() const;
};

// Snapshot request passed to the snapshot hook before a batch changes anything.
struct SnapshotRequest {
    std::string direction;  // up, down
    std::string run_id;
    std::string version_before;
    std::vector<const PlannedStep*> steps;
};

// Outside pieces the engine calls; each may be left empty.
struct EngineHooks {
    // Classifies the pending migrations (rollsafe check); empty: classes stay "unknown".
    struct CheckRequest {
        std::vector<const Migration*> pending;
        std::vector<const Migration*> applied;  // for the schema the rules learn from
        int server_major = 0;                   // 0 when unknown
    };
    std::function<check::Report(const CheckRequest&)> check;
    // Takes a snapshot before a batch and returns its id; throws Error(SNAPSHOT_FAILED).
    std::function<std::string(db::Session&, const SnapshotRequest&)> snapshot;
    // Called with a short line of progress ("applying 0003_add_index ...").
    std::function<void(const std::string&)> progress;
    // Called when a freeze is set or cleared (the lockfile mirrors it).
    std::function<void(const std::optional<History::Freeze>&)> freeze_changed;
};

// The migration engine: applies and reverts migrations with an append-only history, a lease
// lock between migrators, per-migration transactions and timeouts. One instance per command.
class Engine {
  public:
    Engine(Config config, EngineHooks hooks = {});
    ~Engine();

    // Reads the migration files (throws Error(USAGE) listing every problem).
    const MigrationSet& files();

    // The plan of `up` without changing anything. Throws Error for DRIFT, INCOMPATIBLE, USAGE,
    // and with refuse_dirty (a run, not a plan) for a dirty version.
    Plan plan_up(const UpOptions& options, bool refuse_dirty = false);
    // The plan of `down`.
    Plan plan_down(const DownOptions& options, bool refuse_dirty = false);

    RunResult up(const UpOptions& options);
    RunResult down(const DownOptions& options);

    StatusReport status();
    std::vector<HistoryRow> history(const History::Filter& filter);

    // Adopts a database: marks file migrations up to `version` as applied without running them.
    RunResult baseline_version(const std::string& version, const std::string& reason, bool dry_run);
    // Imports another tool's history table ("golang-migrate", "dbmate", "flyway").
    RunResult baseline_from(const std::string& tool, const std::string& table,
                            const std::string& reason, bool dry_run);

    // Tells whether the app of a release can start on the schema, waiting up to options.wait while
    // the schema is behind or a migration runs (polling with backoff on one connection).
    GateResult gate(const GateOptions& options);

    // Brings the schema back to what a release (or version) needs: nothing when every migration
    // since is expand-only, else a snapshot and the stored downs, newest first, atomically when
    // all are transactional; then verifies the catalog against the release's record.
    RunResult rollback(const RollbackOptions& options);

    // Releases recorded in the database, oldest first.
    std::vector<ReleaseRecord> releases();

    // Repairs a dirty (failed no-transaction) migration.
    enum class RepairAction { resume, mark_applied, mark_rolled_back };
    RunResult repair(RepairAction action, const std::string& version, const std::string& reason,
                     bool dry_run);

    // Clears the freeze (audited). Returns false when none was in force.
    bool unfreeze(const std::string& reason);
    // Sets a freeze by hand (audited).
    void freeze(const std::string& reason);

    std::optional<LockHolder> lock_status();
    // Removes the migration lock row whoever holds it (audited). Returns the holder it removed.
    std::optional<LockHolder> break_lock(const std::string& reason);

    // Opens a new connection with the configured DSN and retries (Error(UNAVAILABLE) when none).
    std::unique_ptr<db::Session> connect() const;
    db::Session& session();
    History& history_store();
    const Config& config() const { return m_config; }

  private:
    struct Analysis;
    Analysis analyze(bool with_down_scripts);
    // The same from history state already read (status asks it with status_state()).
    Analysis analyze_state(std::map<std::string, AppliedVersion> state,
                           const DriftChecksumLoader& load_drift_checksums = {});
    void require_not_frozen();
    void require_not_dirty(const Analysis& a);
    void check_drift(const Analysis& a, Plan& plan);
    PlannedStep plan_up_step(const Migration& m);
    // Parses a script of the migration files on first use; throws Error(USAGE) for bad SQL.
    void parse(const Script& script);
    std::vector<PlannedStep> plan_down_steps(const Analysis& a, const DownOptions& options,
                                             Plan& plan);
    std::unique_ptr<MigrationLock> take_lock(const std::string& command);
    // Readies a run that changes the database: rollsafe's tables, no freeze, the lock, then the
    // plan (made under the lock; make_plan refuses a dirty version). Returns the lock.
    std::unique_ptr<MigrationLock> prepare_run(const std::string& command, RunResult& res,
                                               const std::function<Plan()>& make_plan);
    // Takes the batch's snapshot through the hook (per snapshot.mode); returns its id or "".
    std::string snapshot_before(const std::string& direction, const RunResult& res);
    // Cancels the running statement when a signal arrives, for the life of the returned hook.
    interrupt::Hook cancel_on_interrupt();
    StepResult run_step(const PlannedStep& step, const std::string& run_id,
                        const std::string& release, const std::string& snapshot_id,
                        MigrationLock& lock, ExitCode& code, std::string& message);
    StepResult run_transactional(const PlannedStep& step, const HistoryRow& base,
                                 MigrationLock& lock, ExitCode& code, std::string& message);
    StepResult run_statement_by_statement(const PlannedStep& step, const HistoryRow& base,
                                          MigrationLock& lock, ExitCode& code, std::string& message,
                                          int resume_from, bool resuming);
    RunResult run_atomic_down(const Plan& plan, const std::string& run_id,
                              const std::string& snapshot_id, const DownOptions& options,
                              MigrationLock& lock);
    void record_failure(HistoryRow row);
    void set_freeze_after(const std::string& reason, const std::string& run_id,
                          const std::string& version, ExitCode code);
    HistoryRow base_row(const PlannedStep& step, const std::string& run_id) const;
    void say(const std::string& line) const;
    // Starts reading the migration files on another thread; files() then waits for them.
    void prefetch_files();
    void record_release(const std::string& release, const std::string& run_id);
    std::optional<ReleaseRecord> recorded_release(const std::string& release, bool with_catalog,
                                                  nlohmann::json* catalog);

    Config m_config;
    EngineHooks m_hooks;
    std::optional<MigrationSet> m_files;
    std::future<MigrationSet> m_files_ahead;  // see prefetch_files
    std::unique_ptr<db::Session> m_session;
    std::unique_ptr<History> m_history;
    std::mutex m_cancel_mutex;
    db::Session* m_running = nullptr;  // the session a statement runs on (for cancel)
};

}  // namespace rollsafe
