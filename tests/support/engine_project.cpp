#include "support/engine_project.h"

#include <unistd.h>

#include "core/base/fs.h"
#include "core/sqlite/sqlite_db.h"

namespace rollsafe::test {

EngineProject::EngineProject(EngineKind kind) : m_kind(kind) {
    fs::make_dirs(m_dir / "migrations", 0755);
    if (kind == EngineKind::postgres) {
        m_db = std::make_unique<TestDb>();
        m_url = m_db->url();
    } else {
        m_url = "sqlite://" + (m_dir / "app.db");
    }
}

void EngineProject::add(const std::string& id, const std::string& up, const char* down) {
    m_dir.write("migrations/" + id + ".up.sql", up);
    if (down)
        m_dir.write("migrations/" + id + ".down.sql", down);
}

void EngineProject::remove(const std::string& id) {
    ::unlink((m_dir / ("migrations/" + id + ".up.sql")).c_str());
    ::unlink((m_dir / ("migrations/" + id + ".down.sql")).c_str());
}

std::map<std::string, std::string> EngineProject::env() const {
    return {{"DATABASE_URL", m_url}};
}

CliResult EngineProject::run(const std::vector<std::string>& args) const {
    CliOptions o;
    o.env = env();
    o.cwd = m_dir.path();
    return run_cli(args, o);
}

std::string EngineProject::scalar(const std::string& sql) const {
    if (m_kind == EngineKind::postgres)
        return m_db->scalar(sql);
    if (!fs::exists(m_dir / "app.db"))
        return "";
    sqlite::Database db(m_dir / "app.db", Millis(5000));
    return db.query(sql).get(0, 0);
}

std::string EngineProject::exec_error(const std::string& sql) const {
    try {
        if (m_kind == EngineKind::postgres) {
            m_db->connect()->exec(sql);
        } else {
            sqlite::Database db(m_dir / "app.db", Millis(5000));
            db.exec(sql);
        }
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

bool EngineProject::table_exists(const std::string& name) const {
    if (m_kind == EngineKind::postgres)
        return m_db->scalar("SELECT to_regclass('" + name + "') IS NOT NULL") == "t";
    return scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" + name +
                  "'") == "1";
}

bool EngineProject::column_exists(const std::string& table, const std::string& column) const {
    if (m_kind == EngineKind::postgres)
        return m_db->scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = '" +
                            table + "' AND column_name = '" + column + "'") == "1";
    return scalar("SELECT count(*) FROM pragma_table_info('" + table + "') WHERE name = '" +
                  column + "'") == "1";
}

std::string EngineProject::history_table() const {
    return m_kind == EngineKind::postgres ? "rollsafe.history" : "rollsafe_history";
}

int EngineProject::history_count(const std::string& version, const std::string& op,
                                 const std::string& outcome) const {
    auto v = scalar("SELECT count(*) FROM " + history_table() + " WHERE version = '" + version +
                    "' AND op = '" + op + "' AND outcome = '" + outcome + "'");
    return v.empty() ? 0 : std::stoi(v);
}

}  // namespace rollsafe::test
