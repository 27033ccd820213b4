#include "core/engine/port.h"

#include "core/base/error.h"
#include "core/base/text.h"
#include "core/sqlite/sqlite_engine.h"

namespace rollsafe {

EngineKind engine_kind(const std::string& database_url) {
    return text::starts_with(text::to_lower(std::string(text::trim(database_url))), "sqlite:")
               ? EngineKind::sqlite
               : EngineKind::postgres;
}

const char* engine_name(EngineKind kind) {
    return kind == EngineKind::sqlite ? "sqlite" : "postgres";
}

std::unique_ptr<MigrationEngine> make_engine(const Config& config, EngineHooks hooks) {
    if (engine_kind(config.database_url) == EngineKind::sqlite)
        return std::make_unique<sqlite::SqliteEngine>(config, std::move(hooks));
    return std::make_unique<PostgresEngine>(config, std::move(hooks));
}

void require_postgres(const Config& config, const std::string& command) {
    if (engine_kind(config.database_url) != EngineKind::sqlite)
        return;
    throw usage_error(
        "`rollsafe " + command + "` needs PostgreSQL; the configured database is SQLite",
        "on SQLite: up, down, plan, status, history, lock, snapshot, restore --table, "
        "check (see docs/sqlite.md)");
}

}  // namespace rollsafe
