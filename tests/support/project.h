#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/helpers.h"

namespace rollsafe::test {

// A migrations project in a scratch folder with its own fresh database, driven through the real
// binary: what engine tests need in a few lines.
class Project {
  public:
    Project();
    const TempDir& dir() const { return m_dir; }
    const TestDb& db() const { return m_db; }
    std::string migrations() const { return m_dir / "migrations"; }

    // Writes migrations/<id>.up.sql and, unless down is null, <id>.down.sql.
    void add(const std::string& id, const std::string& up, const char* down = "");
    // Removes a migration's files (an older image lacks them).
    void remove(const std::string& id);

    // Environment for the binary: DATABASE_URL and the given extras.
    std::map<std::string, std::string> env(
        const std::map<std::string, std::string>& extra = {}) const;
    // Runs rollsafe in the project folder.
    CliResult run(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& extra_env = {},
                  std::function<void(pid_t)> on_start = {}) const;

    // Number of history rows with this op and outcome for a version.
    int history_count(const std::string& version, const std::string& op,
                      const std::string& outcome) const;
    bool table_exists(const std::string& name) const;

  private:
    TempDir m_dir;
    TestDb m_db;
};

// Polls cond every 20 ms until it holds or the deadline passes; returns whether it held.
bool wait_until(const std::function<bool()>& cond, int timeout_ms = 30000);

}  // namespace rollsafe::test
