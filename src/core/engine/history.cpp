#include "core/engine/history.h"

#include <pwd.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <stdexcept>
#include <string_view>

#include "core/base/error.h"
#include "core/base/process_identity.h"
#include "core/base/text.h"

namespace rollsafe {
namespace {

// rollsafe's own table layout, one step per version. Steps only ever add (tables, nullable
// columns), so an older rollsafe can still work with tables a newer one upgraded.
std::vector<std::string> layout_steps(const std::string& q) {
    return {
        // 1: history, lock, progress, freeze, releases, fence()
        "CREATE TABLE IF NOT EXISTS " + q +
            ".history ("
            " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " run_id text NOT NULL,"
            " op text NOT NULL,"
            " version text, version_key text, name text,"
            " up_sha256 text, up_drift_sha256 text, down_sha256 text, down_drift_sha256 text,"
            " down_script text,"
            " no_transaction boolean NOT NULL DEFAULT false,"
            " db_user text NOT NULL DEFAULT current_user,"
            " os_user text, host text, pod text, pid integer,"
            " started_at timestamptz NOT NULL DEFAULT transaction_timestamp(),"
            " finished_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
            " duration_ms bigint,"
            " release text, snapshot_id text, class text,"
            " outcome text NOT NULL,"
            " error text, error_statement integer, error_position text,"
            " reason text,"
            " details jsonb NOT NULL DEFAULT '{}');"
            "CREATE INDEX IF NOT EXISTS history_version_idx ON " +
            q +
            ".history (version_key, id);"
            "CREATE OR REPLACE FUNCTION " +
            q +
            ".history_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$rollsafe$ BEGIN RAISE EXCEPTION 'rollsafe history is append-only' USING ERRCODE = "
            "'RSH01'; END $rollsafe$;"
            "DROP TRIGGER IF EXISTS history_append_only ON " +
            q +
            ".history;"
            "CREATE TRIGGER history_append_only BEFORE UPDATE OR DELETE ON " +
            q +
            ".history"
            " FOR EACH ROW EXECUTE FUNCTION " +
            q +
            ".history_append_only();"
            "DROP TRIGGER IF EXISTS history_no_truncate ON " +
            q +
            ".history;"
            "CREATE TRIGGER history_no_truncate BEFORE TRUNCATE ON " +
            q +
            ".history"
            " FOR EACH STATEMENT EXECUTE FUNCTION " +
            q +
            ".history_append_only();"
            "CREATE TABLE IF NOT EXISTS " +
            q +
            ".lock ("
            " id integer PRIMARY KEY CHECK (id = 1),"
            " holder text NOT NULL, host text, pid integer, pod text, command text,"
            " acquired_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL, expires_at "
            "timestamptz NOT NULL);"
            "CREATE TABLE IF NOT EXISTS " +
            q +
            ".progress ("
            " run_id text NOT NULL, version_key text NOT NULL, statement_index integer NOT NULL,"
            " position text, done_at timestamptz NOT NULL DEFAULT clock_timestamp(),"
            " PRIMARY KEY (run_id, statement_index));"
            "CREATE TABLE IF NOT EXISTS " +
            q +
            ".freeze ("
            " id integer PRIMARY KEY CHECK (id = 1),"
            " reason text NOT NULL, set_at timestamptz NOT NULL DEFAULT clock_timestamp(), set_by "
            "text,"
            " run_id text, version text, exit_code integer);"
            "CREATE TABLE IF NOT EXISTS " +
            q +
            ".releases ("
            " id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
            " release text NOT NULL, version text, version_key text, fingerprint text, catalog "
            "jsonb,"
            " run_id text, deployed_at timestamptz NOT NULL DEFAULT clock_timestamp());"
            "CREATE OR REPLACE FUNCTION " +
            q +
            ".fence(p_holder text, p_lease_ms bigint) RETURNS void"
            " LANGUAGE plpgsql AS $rollsafe$ BEGIN"
            " UPDATE " +
            q +
            ".lock SET heartbeat_at = clock_timestamp(),"
            "  expires_at = clock_timestamp() + p_lease_ms * interval '1 millisecond'"
            "  WHERE id = 1 AND holder = p_holder AND expires_at > clock_timestamp();"
            " IF NOT FOUND THEN RAISE EXCEPTION 'rollsafe: this process lost the migration lock' "
            "USING ERRCODE = 'RSL01';"
            " END IF; END $rollsafe$;",
    };
}

// Every column but down_script and details (state() reads no details: nothing asks them of
// the latest row of a version, and parsing a JSON value per row was a sixth of `status`).
const char* kColumns =
    "id, run_id, op, version, version_key, name, up_sha256, up_drift_sha256, down_sha256, "
    "down_drift_sha256, no_transaction, db_user, os_user, host, pod, pid, "
    "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS started_at, "
    "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS finished_at, "
    "duration_ms, release, snapshot_id, class, outcome, error, error_statement, error_position, "
    "reason";
const char* kDetails = ", details::text AS details";

// Reads history rows out of a result, moving the values out of it. Column positions are found
// once per result: `status` on 1,000 migrations spent more time finding column names and
// copying values than the database took to send them. A column the query did not select
// (details, down_script) leaves its field empty.
class RowReader {
  public:
    explicit RowReader(db::Result& r) : m_r(r) {
        for (std::size_t f = 0; f < kFields; ++f) {
            auto it = std::find(r.columns.begin(), r.columns.end(), kNames[f]);
            m_pos[f] =
                it == r.columns.end() ? kAbsent : static_cast<std::size_t>(it - r.columns.begin());
        }
    }

    HistoryRow row(std::size_t i) {
        auto& values = m_r.rows.at(i);
        auto take = [&](Field f) {
            std::size_t p = m_pos[f];
            if (p == kAbsent || p >= values.size() || !values[p])
                return std::string();
            return std::move(*values[p]);
        };
        auto number = [&](Field f, long long fallback) {
            auto v = take(f);
            return v.empty() ? fallback : std::stoll(v);
        };
        HistoryRow row;
        row.id = number(id, 0);
        row.run_id = take(run_id);
        row.op = take(op);
        row.version = take(version);
        row.version_key = take(version_key);
        row.name = take(name);
        row.up_sha256 = take(up_sha256);
        row.up_drift_sha256 = take(up_drift_sha256);
        row.down_sha256 = take(down_sha256);
        row.down_drift_sha256 = take(down_drift_sha256);
        if (m_pos[down_script] != kAbsent && m_pos[down_script] < values.size())
            row.down_script = std::move(values[m_pos[down_script]]);
        row.no_transaction = take(no_transaction) == "t";
        row.db_user = take(db_user);
        row.os_user = take(os_user);
        row.host = take(host);
        row.pod = take(pod);
        row.pid = static_cast<int>(number(pid, 0));
        row.started_at = take(started_at);
        row.finished_at = take(finished_at);
        row.duration_ms = number(duration_ms, 0);
        row.release = take(release);
        row.snapshot_id = take(snapshot_id);
        row.compat_class = take(compat_class);
        row.outcome = take(outcome);
        row.error = take(error);
        row.error_statement = static_cast<int>(number(error_statement, -1));
        row.error_position = take(error_position);
        row.reason = take(reason);
        auto d = take(details);
        row.details = d.empty() || d == "{}" ? nlohmann::json::object()
                                             : nlohmann::json::parse(d, nullptr, false);
        return row;
    }

  private:
    enum Field : std::size_t {
        id,
        run_id,
        op,
        version,
        version_key,
        name,
        up_sha256,
        up_drift_sha256,
        down_sha256,
        down_drift_sha256,
        down_script,
        no_transaction,
        db_user,
        os_user,
        host,
        pod,
        pid,
        started_at,
        finished_at,
        duration_ms,
        release,
        snapshot_id,
        compat_class,
        outcome,
        error,
        error_statement,
        error_position,
        reason,
        details,
        kFields
    };
    static constexpr const char* kNames[kFields] = {"id",
                                                    "run_id",
                                                    "op",
                                                    "version",
                                                    "version_key",
                                                    "name",
                                                    "up_sha256",
                                                    "up_drift_sha256",
                                                    "down_sha256",
                                                    "down_drift_sha256",
                                                    "down_script",
                                                    "no_transaction",
                                                    "db_user",
                                                    "os_user",
                                                    "host",
                                                    "pod",
                                                    "pid",
                                                    "started_at",
                                                    "finished_at",
                                                    "duration_ms",
                                                    "release",
                                                    "snapshot_id",
                                                    "class",
                                                    "outcome",
                                                    "error",
                                                    "error_statement",
                                                    "error_position",
                                                    "reason",
                                                    "details"};
    static constexpr std::size_t kAbsent = static_cast<std::size_t>(-1);
    db::Result& m_r;
    std::size_t m_pos[kFields];
};

std::string lit_or_null(const std::string& v) {
    return v.empty() ? "NULL" : sql_literal(v);
}

}  // namespace

void append_sql_literal(std::string& out, const std::string& value) {
    out += "E'";
    for (char c : value) {
        if (c == '\'' || c == '\\')
            out += c;
        out += c;
    }
    out += '\'';
}

std::string sql_literal(const std::string& value) {
    std::string out;
    out.reserve(value.size() + 4);
    append_sql_literal(out, value);
    return out;
}

std::string new_run_id() {
    // The kernel's generator: OpenSSL's RAND_bytes set up its whole DRBG for these 16 bytes,
    // about 3 ms of every run's start.
    unsigned char bytes[16];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
        std::random_device device;
        for (auto& b : bytes)
            b = static_cast<unsigned char>(device());
    }
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        out += hex[b >> 4];
        out += hex[b & 15];
    }
    return out;
}

Actor Actor::current() {
    // The user and host names do not change while rollsafe runs; getpwuid reads /etc/passwd
    // (or asks NSS), which cost 7% of an `up` of 500 migrations when done for each history row.
    struct Names {
        std::string os_user, host;
    };
    static const Names names = [] {
        Names n;
        if (auto* pw = ::getpwuid(::geteuid()))
            n.os_user = pw->pw_name;
        n.host = host_name();
        return n;
    }();
    Actor a;
    a.os_user = names.os_user;
    a.host = names.host;
    if (const char* pod = std::getenv("HOSTNAME"))
        a.pod = pod;
    if (const char* pod = std::getenv("POD_NAME"))
        a.pod = pod;
    a.pid = static_cast<int>(::getpid());
    return a;
}

History::History(db::Session& session, std::string schema)
    : m_session(session), m_schema(std::move(schema)), m_q(text::quote_ident(m_schema)) {
    if (m_schema.empty() || m_schema.find('$') != std::string::npos ||
        m_schema.find('\0') != std::string::npos)
        throw usage_error("history.schema \"" + m_schema + "\" is not allowed",
                          "use letters, digits and underscores");
}

int History::layout_version() {
    return static_cast<int>(layout_steps("x").size());
}

std::string History::table(const std::string& name) const {
    return m_q + "." + name;
}

bool History::exists() {
    if (!m_exists) {
        auto r = m_session.exec_params("SELECT to_regclass($1) IS NOT NULL", {m_q + ".history"});
        m_exists = r.get(0, 0) == "t";
    }
    return m_exists;
}

void History::ensure() {
    // Fast path: the layout is current (one round trip, no lock).
    try {
        auto r = m_session.exec("SELECT value FROM " + m_q + ".meta WHERE key = 'layout_version'");
        if (!r.empty() && std::stoi(r.get(0, 0)) >= layout_version())
            return;
    } catch (const db::DbError& e) {
        if (e.connection_lost())
            throw;
        // 3F000 (no schema) or 42P01 (no table): create below.
    }
    auto who = m_session.exec("SELECT current_user, current_database()");
    try {
        create_or_upgrade();
    } catch (const db::DbError& e) {
        if (e.sqlstate() != "42501")  // insufficient_privilege
            throw;
        std::string role = text::quote_ident(who.get(0, 0));
        throw Error(
            ExitCode::usage,
            "cannot create rollsafe's tables in schema " + m_q + " as " + role + ": " + e.what(),
            "GRANT CREATE ON DATABASE " + text::quote_ident(who.get(0, 1)) + " TO " + role +
                ", or let the owner run CREATE SCHEMA " + m_q + " AUTHORIZATION " + role +
                " (docs/security.md)");
    }
}

void History::create_or_upgrade() {
    db::Transaction tx(m_session);
    // Serialise concurrent bootstraps; a transaction-level advisory lock is released at COMMIT,
    // so it is safe behind PgBouncer in transaction mode and never left behind.
    m_session.exec_params("SELECT pg_advisory_xact_lock(hashtext($1))",
                          {"rollsafe-bootstrap:" + m_schema});
    // CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists: a
    // schema a DBA made for a role without that right must be found first.
    if (m_session.exec_params("SELECT to_regnamespace($1) IS NULL", {m_q}).get(0, 0) == "t")
        m_session.exec("CREATE SCHEMA " + m_q);
    m_session.exec("CREATE TABLE IF NOT EXISTS " + m_q +
                   ".meta (key text PRIMARY KEY, value text NOT NULL)");
    auto r = m_session.exec("SELECT value FROM " + m_q + ".meta WHERE key = 'layout_version'");
    int current = r.empty() ? 0 : std::stoi(r.get(0, 0));
    auto steps = layout_steps(m_q);
    for (int v = current; v < static_cast<int>(steps.size()); ++v)
        m_session.exec(steps[static_cast<std::size_t>(v)]);
    m_session.exec("INSERT INTO " + m_q + ".meta (key, value) VALUES ('layout_version', '" +
                   std::to_string(std::max<int>(current, static_cast<int>(steps.size()))) +
                   "') ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value");
    tx.commit();
}

std::string History::insert_sql(const HistoryRow& row) const {
    // Appended into one buffer: a chain of operator+ built a temporary per column, and this
    // runs once per migration.
    std::string started = row.started_at.empty() ? "transaction_timestamp()"
                                                 : sql_literal(row.started_at) + "::timestamptz";
    std::string details = row.details.dump();
    std::string sql;
    sql.reserve(1024 + (row.down_script ? row.down_script->size() : 0) + row.error.size() +
                details.size());
    auto value = [&sql](const std::string& v) {
        append_sql_literal(sql, v);
        sql += ", ";
    };
    auto value_or_null = [&](const std::string& v) {
        if (v.empty())
            sql += "NULL, ";
        else
            value(v);
    };
    auto raw = [&sql](const std::string& v) {
        sql += v;
        sql += ", ";
    };
    sql += "INSERT INTO ";
    sql += m_q;
    sql +=
        ".history (run_id, op, version, version_key, name, up_sha256, up_drift_sha256, "
        "down_sha256, down_drift_sha256, down_script, no_transaction, os_user, host, pod, pid, "
        "started_at, finished_at, duration_ms, release, snapshot_id, class, outcome, error, "
        "error_statement, error_position, reason, details) VALUES (";
    value(row.run_id);
    value(row.op);
    value_or_null(row.version);
    value_or_null(row.version_key);
    value_or_null(row.name);
    value_or_null(row.up_sha256);
    value_or_null(row.up_drift_sha256);
    value_or_null(row.down_sha256);
    value_or_null(row.down_drift_sha256);
    if (row.down_script)
        value(*row.down_script);
    else
        sql += "NULL, ";
    raw(row.no_transaction ? "true" : "false");
    value_or_null(row.os_user);
    value_or_null(row.host);
    value_or_null(row.pod);
    raw(std::to_string(row.pid));
    raw(started);
    raw("clock_timestamp()");
    raw("(extract(epoch FROM clock_timestamp() - " + started + ") * 1000)::bigint");
    value_or_null(row.release);
    value_or_null(row.snapshot_id);
    value_or_null(row.compat_class);
    value(row.outcome);
    value_or_null(row.error);
    raw(row.error_statement >= 0 ? std::to_string(row.error_statement) : "NULL");
    value_or_null(row.error_position);
    value_or_null(row.reason);
    value(details);
    sql.resize(sql.size() - 2);  // the last ", "
    sql += "::jsonb)";
    return sql;
}

void History::append(const HistoryRow& row) {
    m_session.exec(insert_sql(row));
}

std::map<std::string, AppliedVersion> History::state(bool with_down_scripts) {
    std::string cols = kColumns;
    if (with_down_scripts)
        cols += ", down_script";
    return state_of(cols);
}

std::map<std::string, AppliedVersion> History::status_state() {
    // What status compares and prints: a third of the bytes of every column, for a thousand rows.
    // The whitespace-insensitive checksums are left out: read_drift_checksums() fetches them
    // for the few versions whose scripts changed.
    return state_of(
        "id, op, version, version_key, name, up_sha256, down_sha256, "
        "to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS "
        "finished_at, release, class, outcome");
}

std::map<std::string, AppliedVersion> History::state_of(const std::string& cols) {
    std::map<std::string, AppliedVersion> out;
    auto r = m_session.exec("SELECT DISTINCT ON (version_key) " + cols + " FROM " + m_q +
                            ".history WHERE version_key IS NOT NULL AND op IN ('up', 'down', "
                            "'baseline', 'repair') AND outcome IN "
                            "('applied', 'rolled-back', 'baselined', 'marked-applied', "
                            "'marked-rolled-back', 'started', "
                            "'failed-dirty', 'aborted') ORDER BY version_key, id DESC");
    RowReader reader(r);
    for (std::size_t i = 0; i < r.size(); ++i) {
        auto row = reader.row(i);
        const auto& o = row.outcome;
        AppliedVersion av;
        if (o == outcome::applied || o == outcome::baselined || o == outcome::marked_applied) {
            av.state = AppliedVersion::State::applied;
        } else if (o == outcome::started || o == outcome::failed_dirty) {
            av.state = AppliedVersion::State::dirty;
        } else {
            continue;
        }
        av.row = std::move(row);
        out.emplace(av.row.version_key, std::move(av));
    }
    return out;
}

void History::read_drift_checksums(std::map<std::string, AppliedVersion>& state,
                                   const std::vector<std::string>& keys) {
    // By row id, not by version: the rows status compared (history is append-only, so an id
    // names one row for good), whatever a concurrent up or down has appended since.
    std::string ids;
    std::map<long long, AppliedVersion*> by_id;
    for (const auto& key : keys) {
        auto it = state.find(key);
        if (it == state.end() || it->second.row.id <= 0)
            continue;
        by_id[it->second.row.id] = &it->second;
        ids += (ids.empty() ? "{" : ",") + std::to_string(it->second.row.id);
    }
    if (by_id.empty())
        return;
    auto r = m_session.exec_params("SELECT id, up_drift_sha256, down_drift_sha256 FROM " + m_q +
                                       ".history WHERE id = ANY($1::bigint[])",
                                   {ids + "}"});
    for (std::size_t i = 0; i < r.size(); ++i) {
        auto it = by_id.find(std::stoll(r.get(i, 0)));
        if (it == by_id.end())
            continue;
        it->second->row.up_drift_sha256 = r.get(i, 1);
        it->second->row.down_drift_sha256 = r.get(i, 2);
    }
}

std::vector<HistoryRow> History::rows(const Filter& f) {
    std::string where = "WHERE true";
    std::vector<db::Param> params;
    if (!f.version_key.empty()) {
        params.emplace_back(f.version_key);
        where += " AND version_key = $" + std::to_string(params.size());
    }
    if (!f.op.empty()) {
        params.emplace_back(f.op);
        where += " AND op = $" + std::to_string(params.size());
    }
    if (!f.since.empty()) {
        params.emplace_back(f.since);
        where += " AND finished_at >= $" + std::to_string(params.size()) + "::timestamptz";
    }
    std::string sql = "SELECT " + std::string(kColumns) + kDetails + " FROM " + m_q + ".history " +
                      where + " ORDER BY id DESC";
    if (f.limit > 0)
        sql += " LIMIT " + std::to_string(f.limit);
    auto r = m_session.exec_params(sql, params);
    RowReader reader(r);
    std::vector<HistoryRow> out;
    for (std::size_t i = r.size(); i-- > 0;)
        out.push_back(reader.row(i));
    return out;
}

std::vector<int> History::progress(const std::string& run_id) {
    auto r = m_session.exec_params("SELECT statement_index FROM " + m_q +
                                       ".progress WHERE run_id = $1 ORDER BY statement_index",
                                   {run_id});
    std::vector<int> out;
    for (std::size_t i = 0; i < r.size(); ++i)
        out.push_back(std::stoi(r.get(i, 0)));
    return out;
}

std::string History::progress_sql(const std::string& run_id, const std::string& version_key,
                                  int index, const std::string& position) const {
    return "INSERT INTO " + m_q +
           ".progress (run_id, version_key, statement_index, position) VALUES (" +
           sql_literal(run_id) + ", " + sql_literal(version_key) + ", " + std::to_string(index) +
           ", " + sql_literal(position) + ") ON CONFLICT DO NOTHING";
}

std::optional<History::Freeze> History::freeze() {
    auto r = m_session.exec(
        "SELECT reason, to_char(set_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
        "set_by, run_id, version, exit_code FROM " +
        m_q + ".freeze WHERE id = 1");
    if (r.empty())
        return std::nullopt;
    Freeze f;
    f.reason = r.get(0, 0);
    f.set_at = r.get(0, 1);
    f.set_by = r.get(0, 2);
    f.run_id = r.get(0, 3);
    f.version = r.get(0, 4);
    f.exit_code = r.get(0, 5).empty() ? 0 : std::stoi(r.get(0, 5));
    return f;
}

void History::set_freeze(const Freeze& f, const HistoryRow& audit) {
    db::Transaction tx(m_session);
    m_session.exec(
        "INSERT INTO " + m_q +
        ".freeze (id, reason, set_by, run_id, version, exit_code) VALUES (1, " +
        sql_literal(f.reason) + ", " + lit_or_null(f.set_by) + ", " + lit_or_null(f.run_id) + ", " +
        lit_or_null(f.version) + ", " + std::to_string(f.exit_code) +
        ") ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason, set_at = clock_timestamp(), "
        "set_by = EXCLUDED.set_by, run_id = EXCLUDED.run_id, version = EXCLUDED.version, "
        "exit_code = EXCLUDED.exit_code");
    tx.commit(insert_sql(audit));
}

void History::clear_freeze(const HistoryRow& audit) {
    db::Transaction tx(m_session);
    m_session.exec("DELETE FROM " + m_q + ".freeze WHERE id = 1");
    tx.commit(insert_sql(audit));
}

}  // namespace rollsafe
