#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/base/duration.h"
#include "core/db/session.h"

struct sqlite3;
namespace soci {
class session;
}

namespace rollsafe::sqlite {

// Returns the file a "sqlite:" URL names: sqlite:///abs/app.db -> /abs/app.db,
// sqlite:app.db or sqlite://app.db -> app.db, sqlite::memory: -> :memory:. Throws Error(USAGE)
// for an empty path.
std::string path_from_url(const std::string& url);

// A statement failed, with SQLite's (extended) result code and, when known, the byte offset of
// the error inside the statement.
class SqliteError : public std::runtime_error {
  public:
    SqliteError(const std::string& message, int code, int offset = -1)
        : std::runtime_error(message), m_code(code), m_offset(offset) {}
    int code() const { return m_code; }
    int offset() const { return m_offset; }
    // True for SQLITE_BUSY / SQLITE_LOCKED: another connection holds the write lock.
    bool busy() const;

  private:
    int m_code;
    int m_offset;
};

// One SQLite connection, opened through SOCI's sqlite3 backend. Simple statements go through
// SOCI; scripts and parameterised queries use the native handle (sqlite3_exec semantics and
// error offsets, which SOCI does not expose).
class Database {
  public:
    // Opens (creating) the file with busy_timeout; throws Error(UNAVAILABLE) when it cannot.
    Database(const std::string& path, Millis busy_timeout);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Runs one statement through SOCI (`once <<`). Throws SqliteError.
    void run(const std::string& sql);
    // Runs a whole script with sqlite3_exec. Throws SqliteError.
    void exec(const std::string& sql);
    // Runs one statement with ?1..?n parameters and returns its rows as text. Throws SqliteError.
    db::Result query(const std::string& sql, const std::vector<db::Param>& params = {});
    // Rows changed by the last statement.
    long changes();
    // Asks SQLite to stop the running statement (sqlite3_interrupt; safe from another thread).
    void interrupt();

    const std::string& path() const { return m_path; }
    sqlite3* handle() { return m_handle; }
    soci::session& soci() { return *m_session; }

  private:
    [[noreturn]] void fail(int rc, const std::string& what);

    std::string m_path;
    std::unique_ptr<soci::session> m_session;
    sqlite3* m_handle = nullptr;
};

// A write transaction: BEGIN IMMEDIATE (takes SQLite's write lock up front, waiting up to
// busy_timeout), ROLLBACK in the destructor unless committed.
class WriteTransaction {
  public:
    explicit WriteTransaction(Database& db);
    ~WriteTransaction();
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;
    // Throws SqliteError (the transaction is then rolled back by the destructor).
    void commit();

  private:
    Database& m_db;
    bool m_done = false;
};

// Returns sql as an SQLite string literal.
std::string literal(const std::string& value);
// Returns a double-quoted SQLite identifier.
std::string ident(const std::string& name);

}  // namespace rollsafe::sqlite
