#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/analysis.h"
#include "core/engine/port.h"
#include "core/sqlite/sqlite_db.h"
#include "core/sqlite/sqlite_history.h"
#include "core/sqlite/sqlite_lock.h"

namespace rollsafe::sqlite {

// The migration engine on an SQLite file: per-migration transactions (BEGIN IMMEDIATE) with the
// history row in the same transaction, a lease lock between processes, drift and out-of-order
// checks shared with PostgreSQL (core/engine/analysis.h), stored down scripts, dry-run, and a
// VACUUM INTO snapshot before each batch (snapshot.mode other than none).
class SqliteEngine : public MigrationEngine {
  public:
    SqliteEngine(Config config, EngineHooks hooks = {});
    ~SqliteEngine() override;

    EngineKind kind() const override { return EngineKind::sqlite; }
    const MigrationSet& files() override;
    Plan plan_up(const UpOptions& options) override;
    Plan plan_down(const DownOptions& options) override;
    RunResult up(const UpOptions& options) override;
    RunResult down(const DownOptions& options) override;
    StatusReport status() override;
    std::vector<HistoryRow> history(const History::Filter& filter) override;
    std::optional<LockHolder> lock_status() override;
    std::optional<LockHolder> break_lock(const std::string& reason) override;

    // The open connection (opened on first use) and rollsafe's tables in it.
    Database& database();
    HistoryStore& store();
    // The file the URL names (":memory:" for sqlite::memory:).
    const std::string& path() const { return m_path; }
    const Config& config() const { return m_config; }
    // Runs fn under the migration lock (rollsafe's tables created first); throws Error(LOCKED).
    void with_lock(const std::string& command, const std::function<void()>& fn);

  private:
    FileAnalysis analyze(bool with_down_scripts);
    PlannedStep plan_up_step(const Migration& m);
    std::unique_ptr<LeaseLock> take_lock(const std::string& command);
    HistoryRow base_row(const PlannedStep& step, const std::string& run_id) const;
    // Runs steps in one transaction each (or all in one when atomic); fills res.
    void run_steps(RunResult& res, LeaseLock* lock, const std::string& release,
                   const std::string& reason, bool atomic);
    void say(const std::string& line) const;
    Millis busy_timeout() const;

    Config m_config;
    EngineHooks m_hooks;
    std::string m_path;
    std::optional<MigrationSet> m_files;
    std::unique_ptr<Database> m_db;
    std::unique_ptr<HistoryStore> m_store;
};

}  // namespace rollsafe::sqlite
