#pragma once

// A migrations project driven through the real binary against either engine, so that one test
// body covers PostgreSQL and SQLite by changing only the database URL (TEST_P over EngineKind).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/engine/port.h"
#include "support/helpers.h"

namespace rollsafe::test {

class EngineProject {
  public:
    explicit EngineProject(EngineKind kind);
    EngineKind kind() const { return m_kind; }
    const TempDir& dir() const { return m_dir; }
    // The --database-url of the project: a fresh PostgreSQL database, or a file in the folder.
    const std::string& url() const { return m_url; }

    // Writes migrations/<id>.up.sql and, unless down is null, <id>.down.sql.
    void add(const std::string& id, const std::string& up, const char* down = "");
    void remove(const std::string& id);

    // Runs rollsafe in the project folder with DATABASE_URL set.
    CliResult run(const std::vector<std::string>& args) const;
    std::map<std::string, std::string> env() const;

    // Reads the database directly (not through rollsafe).
    bool table_exists(const std::string& name) const;
    bool column_exists(const std::string& table, const std::string& column) const;
    // First column of the first row ("" for none or NULL).
    std::string scalar(const std::string& sql) const;
    // Runs sql; returns the error message, or "" when it succeeded.
    std::string exec_error(const std::string& sql) const;
    // The name of rollsafe's history table in this engine.
    std::string history_table() const;
    int history_count(const std::string& version, const std::string& op,
                      const std::string& outcome) const;

  private:
    EngineKind m_kind;
    TempDir m_dir;
    std::unique_ptr<TestDb> m_db;  // PostgreSQL only
    std::string m_url;
};

// For INSTANTIATE_TEST_SUITE_P names: "postgres" / "sqlite".
struct EngineKindName {
    template <class ParamInfo>
    std::string operator()(const ParamInfo& info) const {
        return engine_name(info.param);
    }
};

}  // namespace rollsafe::test
