#include "core/compat/capture.h"

#include <algorithm>
#include <ctime>
#include <set>

#include "core/base/error.h"
#include "core/base/text.h"
#include "core/sql/parser.h"

namespace rollsafe::compat {
namespace {

template <typename F>
void walk(const nlohmann::json& j, F&& visit) {
    if (j.is_object()) {
        visit(j);
        for (auto it = j.begin(); it != j.end(); ++it)
            walk(it.value(), visit);
    } else if (j.is_array()) {
        for (const auto& v : j)
            walk(v, visit);
    }
}

std::string clean(std::string q) {
    auto t = std::string(text::trim(q));
    while (!t.empty() && (t.back() == ';' || t.back() == ' ' || t.back() == '\n'))
        t.pop_back();
    return t;
}

std::string utc_now() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

std::string capture_exclusion(const std::string& query, const std::string& history_schema) {
    auto parsed = sql::parse_script(query);
    if (parsed.error)
        return "does not parse: " + parsed.error->message;
    if (parsed.statements.size() != 1)
        return "not one statement";
    const auto& st = parsed.statements.front();
    static const std::set<std::string> kDml = {"SelectStmt", "InsertStmt", "UpdateStmt",
                                               "DeleteStmt", "MergeStmt"};
    if (!kDml.count(st.kind))
        return "not SELECT, INSERT, UPDATE, DELETE or MERGE (" + st.kind + ")";
    int tables = 0;
    std::string why;
    walk(st.node(), [&](const nlohmann::json& o) {
        // A RangeVar: wrapped as {"RangeVar": {...}} in lists, bare where a field holds one
        // (INSERT/UPDATE/DELETE targets).
        auto rel_it = o.find("relname");
        if (rel_it == o.end() || !rel_it->is_string())
            return;
        ++tables;
        std::string schema = o.value("schemaname", "");
        std::string rel = rel_it->get<std::string>();
        if (schema == "pg_catalog" || schema == "information_schema" ||
            text::starts_with(rel, "pg_"))
            why = "reads the system catalogs";
        else if (!history_schema.empty() && schema == history_schema)
            why = "rollsafe's own";
    });
    if (!why.empty())
        return why;
    if (!tables)
        return "reads no table";
    return "";
}

void add_captured(Capture& capture, const std::string& query, long long calls,
                  const CaptureOptions& options) {
    ++capture.seen;
    auto text = clean(query);
    if (calls < options.min_calls || !capture_exclusion(text, options.history_schema).empty()) {
        ++capture.skipped;
        return;
    }
    auto fp = sql::fingerprint(text);
    for (auto& s : capture.statements) {
        if (s.fingerprint ==
            fp) {  // the same statement, normalised differently (IN lists, spacing)
            s.calls += calls;
            ++capture.duplicates;
            return;
        }
    }
    capture.statements.push_back({text, fp, calls});
}

Capture capture_statements(db::Session& session, const CaptureOptions& options) {
    if (session.exec("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'").empty())
        throw usage_error(
            "pg_stat_statements is not installed in this database",
            "CREATE EXTENSION pg_stat_statements; it also needs shared_preload_libraries = "
            "'pg_stat_statements' and a server restart");
    db::Result rows;
    const std::string where =
        " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
    try {
        rows = session.exec("SELECT query, calls::text FROM pg_stat_statements" + where +
                            " AND toplevel ORDER BY calls DESC, query");
    } catch (const db::DbError& e) {
        if (e.connection_lost())
            throw;
        std::string m = e.what();
        if (m.find("shared_preload_libraries") != std::string::npos)
            throw usage_error(
                "pg_stat_statements is installed but not loaded: " + m.substr(0, m.find('\n')),
                "add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf and "
                "restart");
        if (e.sqlstate() != "42703")
            throw;
        // pg_stat_statements before 1.9 has no toplevel column.
        rows = session.exec("SELECT query, calls::text FROM pg_stat_statements" + where +
                            " ORDER BY calls DESC, query");
    }
    Capture c;
    for (std::size_t i = 0; i < rows.size(); ++i)
        add_captured(c, rows.get(i, 0), std::stoll(rows.get(i, 1, "0")), options);
    std::stable_sort(
        c.statements.begin(), c.statements.end(),
        [](const CapturedStatement& a, const CapturedStatement& b) { return a.calls > b.calls; });
    return c;
}

std::string contract_text(const std::string& release, const std::string& source,
                          const Capture& capture, const std::string& existing, int* added) {
    std::set<std::string> have;
    std::string body;
    if (!text::trim(existing).empty()) {
        body = existing;
        if (body.back() != '\n')
            body += '\n';
        auto parsed = sql::parse_script(existing);
        for (const auto& st : parsed.statements)
            have.insert(sql::fingerprint(st.text));
    } else {
        body = "-- The statements release " + release +
               " runs, captured by `rollsafe contract capture` from\n"
               "-- pg_stat_statements of " +
               source + " at " + utc_now() +
               ".\n"
               "-- One statement per `;`, parameters as $n; edit freely (rollsafe check PREPAREs "
               "each one).\n";
    }
    int n = 0;
    for (const auto& s : capture.statements) {
        if (!have.insert(s.fingerprint).second)
            continue;
        body += s.text + ";\n";
        ++n;
    }
    if (added)
        *added = n;
    return body;
}

}  // namespace rollsafe::compat
