#include "core/sqlite/sqlite_history.h"

#include <cctype>

#include "core/base/error.h"
#include "core/migrations/migration.h"

namespace rollsafe::sqlite {
namespace {

const char* kColumns =
    "id, run_id, op, version, version_key, name, up_sha256, up_drift_sha256, down_sha256, "
    "down_drift_sha256, no_transaction, db_user, os_user, host, pod, pid, started_at, finished_at, "
    "duration_ms, release, snapshot_id, compat_class, outcome, error, error_position, "
    "error_statement, reason, details";

// Each step takes the layout from version i to i+1. Never edit a step once released: add one.
std::vector<std::string> layout_steps(const HistoryStore& h) {
    const std::string hist = h.table("history");
    return {
        // 1: history (append-only), lock lease, meta
        "CREATE TABLE IF NOT EXISTS " + h.table("history") +
            " (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, op TEXT NOT NULL, "
            "version TEXT, version_key TEXT, name TEXT, up_sha256 TEXT, up_drift_sha256 TEXT, "
            "down_sha256 TEXT, down_drift_sha256 TEXT, down_script TEXT, "
            "no_transaction INTEGER NOT NULL DEFAULT 0, db_user TEXT, os_user TEXT, host TEXT, "
            "pod TEXT, pid INTEGER, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, "
            "duration_ms INTEGER NOT NULL DEFAULT 0, release TEXT, snapshot_id TEXT, "
            "compat_class TEXT, outcome TEXT NOT NULL, error TEXT, error_position TEXT, "
            "error_statement INTEGER, reason TEXT, details TEXT NOT NULL DEFAULT '{}');"
            "CREATE INDEX IF NOT EXISTS " +
            ident(h.prefix() + "_history_version") + " ON " + hist + " (version_key, id);" +
            "CREATE TRIGGER IF NOT EXISTS " + ident(h.prefix() + "_history_no_update") +
            " BEFORE UPDATE ON " + hist +
            " BEGIN SELECT RAISE(ABORT, 'rollsafe history is append-only'); END;" +
            "CREATE TRIGGER IF NOT EXISTS " + ident(h.prefix() + "_history_no_delete") +
            " BEFORE DELETE ON " + hist +
            " BEGIN SELECT RAISE(ABORT, 'rollsafe history is append-only'); END;" +
            "CREATE TABLE IF NOT EXISTS " + h.table("lock") +
            " (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, host TEXT, pod TEXT, "
            "pid INTEGER, command TEXT, acquired_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL, "
            "expires_at TEXT NOT NULL, expires_ms INTEGER NOT NULL);",
    };
}

HistoryRow to_row(const db::Result& r, std::size_t i, bool with_down) {
    HistoryRow row;
    auto s = [&](std::size_t c) { return r.get(i, c); };
    auto n = [&](std::size_t c, long long d) {
        auto v = r.get(i, c);
        return v.empty() ? d : std::stoll(v);
    };
    row.id = n(0, 0);
    row.run_id = s(1);
    row.op = s(2);
    row.version = s(3);
    row.version_key = s(4);
    row.name = s(5);
    row.up_sha256 = s(6);
    row.up_drift_sha256 = s(7);
    row.down_sha256 = s(8);
    row.down_drift_sha256 = s(9);
    row.no_transaction = n(10, 0) != 0;
    row.db_user = s(11);
    row.os_user = s(12);
    row.host = s(13);
    row.pod = s(14);
    row.pid = static_cast<int>(n(15, 0));
    row.started_at = s(16);
    row.finished_at = s(17);
    row.duration_ms = n(18, 0);
    row.release = s(19);
    row.snapshot_id = s(20);
    row.compat_class = s(21);
    row.outcome = s(22);
    row.error = s(23);
    row.error_position = s(24);
    row.error_statement = static_cast<int>(n(25, -1));
    row.reason = s(26);
    try {
        row.details = nlohmann::json::parse(s(27).empty() ? "{}" : s(27));
    } catch (const std::exception&) {
        row.details = nlohmann::json::object();
    }
    if (with_down && r.rows[i].size() > 28 && r.rows[i][28])
        row.down_script = *r.rows[i][28];
    return row;
}

db::Param opt(const std::string& s) {
    return s.empty() ? db::Param() : db::Param(s);
}

}  // namespace

HistoryStore::HistoryStore(Database& db, std::string prefix) : m_db(db), m_prefix(std::move(prefix)) {
    bool ok = !m_prefix.empty();
    for (char c : m_prefix)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ok)
        throw usage_error("history.schema \"" + m_prefix +
                              "\" is not allowed as an SQLite table prefix",
                          "use letters, digits and underscores");
}

int HistoryStore::layout_version() {
    return 1;
}

bool HistoryStore::exists() {
    auto r = m_db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                        {m_prefix + "_history"});
    return !r.empty();
}

void HistoryStore::ensure() {
    // Fast path without the write lock: the layout is current.
    const std::string meta = table("meta");
    auto current = [&]() -> int {
        auto t = m_db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                            {m_prefix + "_meta"});
        if (t.empty())
            return 0;
        auto r = m_db.query("SELECT value FROM " + meta + " WHERE key = 'layout'");
        return r.empty() ? 0 : std::stoi(r.get(0, 0, "0"));
    };
    if (current() == layout_version())
        return;
    WriteTransaction tx(m_db);
    m_db.exec("CREATE TABLE IF NOT EXISTS " + meta +
              " (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    int have = current();
    if (have > layout_version())
        throw Error(ExitCode::usage,
                    "rollsafe's tables in " + m_db.path() + " have layout " +
                        std::to_string(have) + ", newer than this build knows (" +
                        std::to_string(layout_version()) + ")",
                    "use a newer rollsafe");
    auto steps = layout_steps(*this);
    for (int v = have; v < layout_version(); ++v)
        m_db.exec(steps[static_cast<std::size_t>(v)]);
    m_db.query("INSERT INTO " + meta +
                   " (key, value) VALUES ('layout', ?1) ON CONFLICT (key) DO UPDATE SET value = "
                   "excluded.value",
               {std::to_string(layout_version())});
    tx.commit();
}

void HistoryStore::append(const HistoryRow& row) {
    std::string sql =
        "INSERT INTO " + table("history") +
        " (run_id, op, version, version_key, name, up_sha256, up_drift_sha256, down_sha256, "
        "down_drift_sha256, down_script, no_transaction, db_user, os_user, host, pod, pid, "
        "started_at, finished_at, duration_ms, release, snapshot_id, compat_class, outcome, error, "
        "error_position, error_statement, reason, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
        "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, coalesce(?17, " +
        std::string(kNowIso) + "), " + kNowIso +
        ", ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)";
    m_db.query(sql, {row.run_id,
                     row.op,
                     opt(row.version),
                     opt(row.version_key),
                     opt(row.name),
                     opt(row.up_sha256),
                     opt(row.up_drift_sha256),
                     opt(row.down_sha256),
                     opt(row.down_drift_sha256),
                     row.down_script,
                     std::string(row.no_transaction ? "1" : "0"),
                     opt(row.db_user),
                     opt(row.os_user),
                     opt(row.host),
                     opt(row.pod),
                     std::to_string(row.pid),
                     opt(row.started_at),
                     std::to_string(row.duration_ms),
                     opt(row.release),
                     opt(row.snapshot_id),
                     opt(row.compat_class),
                     row.outcome,
                     opt(row.error),
                     opt(row.error_position),
                     row.error_statement >= 0 ? db::Param(std::to_string(row.error_statement))
                                              : db::Param(),
                     opt(row.reason),
                     row.details.dump()});
}

std::map<std::string, AppliedVersion> HistoryStore::state(bool with_down_scripts) {
    std::string cols = kColumns;
    if (with_down_scripts)
        cols += ", down_script";
    // The newest state-changing row of each version (what DISTINCT ON does in PostgreSQL).
    auto r = m_db.query(
        "SELECT " + cols + " FROM " + table("history") +
        " WHERE id IN (SELECT max(id) FROM " + table("history") +
        " WHERE version_key IS NOT NULL AND op IN ('up', 'down', 'baseline', 'repair') AND "
        "outcome IN ('applied', 'rolled-back', 'baselined', 'marked-applied', "
        "'marked-rolled-back', 'started', 'failed-dirty', 'aborted') GROUP BY version_key)");
    std::map<std::string, AppliedVersion> out;
    for (std::size_t i = 0; i < r.size(); ++i) {
        auto row = to_row(r, i, with_down_scripts);
        const auto& o = row.outcome;
        AppliedVersion av;
        if (o == outcome::applied || o == outcome::baselined || o == outcome::marked_applied)
            av.state = AppliedVersion::State::applied;
        else if (o == outcome::started || o == outcome::failed_dirty)
            av.state = AppliedVersion::State::dirty;
        else
            continue;
        av.row = std::move(row);
        out.emplace(av.row.version_key, std::move(av));
    }
    return out;
}

std::vector<HistoryRow> HistoryStore::rows(const History::Filter& f) {
    std::string where = "WHERE 1";
    std::vector<db::Param> params;
    auto add = [&](const std::string& cond, const std::string& value) {
        params.emplace_back(value);
        where += " AND " + cond + " ?" + std::to_string(params.size());
    };
    if (!f.version_key.empty())
        add("version_key =", f.version_key);
    if (!f.op.empty())
        add("op =", f.op);
    if (!f.since.empty())
        add("finished_at >=", f.since);
    std::string sql =
        "SELECT " + std::string(kColumns) + " FROM " + table("history") + " " + where + " ORDER BY id DESC";
    if (f.limit > 0)
        sql += " LIMIT " + std::to_string(f.limit);
    auto r = m_db.query(sql, params);
    std::vector<HistoryRow> out;
    for (std::size_t i = r.size(); i-- > 0;)
        out.push_back(to_row(r, i, false));
    return out;
}

std::string current_version(HistoryStore& store) {
    if (!store.exists())
        return "";
    std::optional<Version> newest;
    for (const auto& [key, av] : store.state(false)) {
        auto v = Version::parse(av.row.version);
        if (v && av.state == AppliedVersion::State::applied && (!newest || *newest < *v))
            newest = v;
    }
    return newest ? newest->text() : "";
}

}  // namespace rollsafe::sqlite
