#include "core/sqlite/sqlite_db.h"

#include <soci/soci.h>
#include <sqlite3.h>

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/text.h"
#include "core/sqlite/soci_backend.h"

namespace rollsafe::sqlite {

std::string path_from_url(const std::string& url_in) {
    std::string url(text::trim(url_in));
    std::string rest = url.substr(url.find(':') + 1);  // after "sqlite:"
    if (rest == ":memory:" || rest == "//:memory:" || rest == "///:memory:")
        return ":memory:";
    if (text::starts_with(rest, "//"))
        rest = rest.substr(2);  // sqlite:///abs -> /abs, sqlite://rel -> rel
    auto q = rest.find('?');
    if (q != std::string::npos)
        rest = rest.substr(0, q);
    if (rest.empty())
        throw usage_error("the SQLite URL \"" + url + "\" names no file",
                          "use sqlite:///absolute/path/app.db, sqlite:relative.db or "
                          "sqlite::memory:");
    return rest;
}

bool SqliteError::busy() const {
    int primary = m_code & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

Database::Database(const std::string& path, Millis busy_timeout) : m_path(path) {
    try {
        m_session = open_soci_session("db=\"" + path + "\"");
    } catch (const std::exception& e) {
        throw Error(ExitCode::unavailable, "cannot open the SQLite database " + path + ": " +
                                               e.what(),
                    "check that the folder exists and is writable");
    }
    m_handle = static_cast<sqlite3*>(native_handle(*m_session));
    sqlite3_busy_timeout(m_handle, static_cast<int>(busy_timeout.count()));
    sqlite3_extended_result_codes(m_handle, 1);
}

Database::~Database() = default;

void Database::fail(int rc, const std::string& what) {
    int offset = -1;
#if SQLITE_VERSION_NUMBER >= 3038000
    offset = sqlite3_error_offset(m_handle);
#endif
    std::string msg = sqlite3_errmsg(m_handle);
    if (!what.empty())
        msg = what + ": " + msg;
    throw SqliteError(msg, sqlite3_extended_errcode(m_handle) ? sqlite3_extended_errcode(m_handle)
                                                              : rc,
                      offset);
}

void Database::run(const std::string& sql) {
    try {
        m_session->once << sql;
    } catch (const soci::soci_error& e) {
        throw SqliteError(e.what(), result_code(e));
    }
}

void Database::exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(m_handle, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        int offset = -1;
#if SQLITE_VERSION_NUMBER >= 3038000
        offset = sqlite3_error_offset(m_handle);
#endif
        throw SqliteError(msg, sqlite3_extended_errcode(m_handle), offset);
    }
}

db::Result Database::query(const std::string& sql, const std::vector<db::Param>& params) {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(m_handle, sql.c_str(), static_cast<int>(sql.size()), &st, nullptr);
    if (rc != SQLITE_OK)
        fail(rc, "");
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(st, sqlite3_finalize);
    for (std::size_t i = 0; i < params.size(); ++i) {
        int idx = static_cast<int>(i + 1);
        rc = params[i] ? sqlite3_bind_text(st, idx, params[i]->c_str(),
                                           static_cast<int>(params[i]->size()), SQLITE_TRANSIENT)
                       : sqlite3_bind_null(st, idx);
        if (rc != SQLITE_OK)
            fail(rc, "binding parameter " + std::to_string(idx));
    }
    db::Result r;
    int ncol = sqlite3_column_count(st);
    for (int c = 0; c < ncol; ++c)
        r.columns.emplace_back(sqlite3_column_name(st, c));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        std::vector<db::Value> row;
        for (int c = 0; c < ncol; ++c) {
            if (sqlite3_column_type(st, c) == SQLITE_NULL) {
                row.emplace_back(std::nullopt);
            } else {
                auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, c));
                row.emplace_back(std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, c))));
            }
        }
        r.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE)
        fail(rc, "");
    r.affected = sqlite3_changes(m_handle);
    return r;
}

long Database::changes() {
    return sqlite3_changes(m_handle);
}

void Database::interrupt() {
    sqlite3_interrupt(m_handle);
}

WriteTransaction::WriteTransaction(Database& db) : m_db(db) {
    m_db.exec("BEGIN IMMEDIATE");
}

WriteTransaction::~WriteTransaction() {
    if (m_done)
        return;
    try {
        m_db.exec("ROLLBACK");
    } catch (const std::exception& e) {
        // A failed COMMIT or an error inside SQLite may already have ended the transaction.
        log::debug("rollback: {}", e.what());
    }
}

void WriteTransaction::commit() {
    m_db.exec("COMMIT");
    m_done = true;
}

std::string literal(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'')
            out += '\'';
        out += c;
    }
    return out + "'";
}

std::string ident(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"')
            out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace rollsafe::sqlite
