#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/base/dsn.h"
#include "core/base/duration.h"

namespace rollsafe::db {

using Param = std::optional<std::string>;  // nullopt is SQL NULL
using Value = std::optional<std::string>;

// Rows of text values, as the server sent them.
struct Result {
    std::vector<std::string> columns;
    std::vector<std::vector<Value>> rows;
    long affected = 0;

    std::size_t size() const { return rows.size(); }
    bool empty() const { return rows.empty(); }
    // Returns the value at (row, column), or fallback when it is NULL.
    std::string get(std::size_t row, std::size_t col, const std::string& fallback = "") const;
    // Returns the value at (row, column name); throws std::out_of_range for an unknown column.
    Value at(std::size_t row, const std::string& column) const;
};

// A statement failed on the server, or the connection broke.
class DbError : public std::runtime_error {
  public:
    DbError(const std::string& message, std::string sqlstate, bool connection_lost)
        : std::runtime_error(message), m_sqlstate(std::move(sqlstate)), m_lost(connection_lost) {}
    const std::string& sqlstate() const { return m_sqlstate; }
    bool connection_lost() const { return m_lost; }
    bool lock_timeout() const { return m_sqlstate == "55P03"; }
    bool query_canceled() const { return m_sqlstate == "57014"; }

  private:
    std::string m_sqlstate;
    bool m_lost;
};

// One database connection. The PostgreSQL implementation uses libpqxx; unit tests use fakes.
class Session {
  public:
    virtual ~Session() = default;
    // Runs one or more statements with the simple query protocol; returns the last result.
    // Throws DbError.
    virtual Result exec(const std::string& sql) = 0;
    // Runs one statement with $1..$n parameters. Throws DbError.
    virtual Result exec_params(const std::string& sql, const std::vector<Param>& params) = 0;
    // Asks the server to cancel the running statement; safe to call from another thread.
    virtual void cancel() = 0;
    // Returns the server version as an integer (150004 for 15.4).
    virtual int server_version() = 0;
    // Returns the backend process id of this session.
    virtual int backend_pid() = 0;
};

struct ConnectOptions {
    Millis connect_timeout{std::chrono::seconds(10)};
    int retries = 3;  // attempts in all (at least 1)
    std::string application_name = "rollsafe";
};

// Connects to dsn, retrying with backoff. Throws Error(UNAVAILABLE) when the server cannot be
// reached after the retries, Error(USAGE) when it rejects the credentials. Messages are redacted.
std::unique_ptr<Session> connect(const Dsn& dsn, const ConnectOptions& options = {});

// A transaction scope: BEGIN in the constructor, ROLLBACK in the destructor unless committed.
class Transaction {
  public:
    // Runs "BEGIN" followed by `setup` (e.g. SET LOCAL statements) in one round trip.
    explicit Transaction(Session& session, const std::string& setup = {});
    // Sends nothing yet: BEGIN and `setup` travel with the first exec() or with commit(), which
    // saves a round trip per transaction.
    struct Deferred {};
    Transaction(Session& session, const std::string& setup, Deferred);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    // Runs sql (one or more statements) inside the transaction. Throws DbError.
    Result exec(const std::string& sql);
    // Runs `last` (may be empty) and COMMIT in one round trip. Throws DbError.
    void commit(const std::string& last = {});

  private:
    // Prefixes sql with the BEGIN not sent yet, if any.
    std::string with_begin(const std::string& sql);

    Session& m_session;
    std::string m_begin;  // BEGIN and setup, while deferred and not sent
    bool m_done = false;
};

}  // namespace rollsafe::db
