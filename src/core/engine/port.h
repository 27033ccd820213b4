#pragma once

// The seam between the commands and a database engine. The CLI talks to a MigrationEngine; the
// PostgreSQL implementation is an adapter over the existing Engine (libpqxx, libpg_query,
// pg_dump), the SQLite one (core/sqlite) goes through SOCI's sqlite3 backend. Both return the
// same Plan / RunResult / StatusReport / HistoryRow types, so one set of renderers serves both.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/config.h"
#include "core/engine/engine.h"

namespace rollsafe {

enum class EngineKind { postgres, sqlite };

// Returns the engine a database URL selects: "sqlite:" URLs pick SQLite, anything else
// (postgres:// URLs, key=value conninfo, empty for PG* variables) PostgreSQL.
EngineKind engine_kind(const std::string& database_url);
// Returns "postgres" or "sqlite".
const char* engine_name(EngineKind kind);

// The operations the commands need from an engine. Failures the caller can act on are thrown
// as Error with their exit code; failed migrations are outcomes inside RunResult.
class MigrationEngine {
  public:
    virtual ~MigrationEngine() = default;
    virtual EngineKind kind() const = 0;

    // Reads the migration files (throws Error(USAGE) listing every problem).
    virtual const MigrationSet& files() = 0;
    // The plan of `up`/`down` without changing anything. Throws Error for DRIFT, USAGE.
    virtual Plan plan_up(const UpOptions& options) = 0;
    virtual Plan plan_down(const DownOptions& options) = 0;
    // Applies / reverts; the exit code and its reason are in the result.
    virtual RunResult up(const UpOptions& options) = 0;
    virtual RunResult down(const DownOptions& options) = 0;
    // Reads state without creating anything.
    virtual StatusReport status() = 0;
    virtual std::vector<HistoryRow> history(const History::Filter& filter) = 0;
    // The migration lock's holder, if any; break_lock removes it (audited).
    virtual std::optional<LockHolder> lock_status() = 0;
    virtual std::optional<LockHolder> break_lock(const std::string& reason) = 0;
};

// The PostgreSQL engine behind the port. Commands that only PostgreSQL has (gate, rollback,
// baseline, repair, ...) reach the full Engine through engine().
class PostgresEngine : public MigrationEngine {
  public:
    PostgresEngine(Config config, EngineHooks hooks)
        : m_engine(std::move(config), std::move(hooks)) {}
    EngineKind kind() const override { return EngineKind::postgres; }
    const MigrationSet& files() override { return m_engine.files(); }
    Plan plan_up(const UpOptions& o) override { return m_engine.plan_up(o); }
    Plan plan_down(const DownOptions& o) override { return m_engine.plan_down(o); }
    RunResult up(const UpOptions& o) override { return m_engine.up(o); }
    RunResult down(const DownOptions& o) override { return m_engine.down(o); }
    StatusReport status() override { return m_engine.status(); }
    std::vector<HistoryRow> history(const History::Filter& f) override {
        return m_engine.history(f);
    }
    std::optional<LockHolder> lock_status() override { return m_engine.lock_status(); }
    std::optional<LockHolder> break_lock(const std::string& reason) override {
        return m_engine.break_lock(reason);
    }
    Engine& engine() { return m_engine; }

  private:
    Engine m_engine;
};

// Returns the engine the configured database URL selects. The SQLite engine uses only the
// progress and freeze_changed hooks (its check and snapshots are its own).
std::unique_ptr<MigrationEngine> make_engine(const Config& config, EngineHooks hooks = {});

// Throws Error(USAGE) naming the command when the configured database is SQLite: for commands
// that have no SQLite meaning (gate, rollback, fleet, compat layers, ...).
void require_postgres(const Config& config, const std::string& command);

}  // namespace rollsafe
