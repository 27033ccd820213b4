#pragma once

// PREPARE a statement on a database and ask PostgreSQL what it made of it: the parameter types
// it inferred and the shape of the result, or the error it gave. Nothing is executed.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/dsn.h"
#include "core/compat/contract.h"

namespace rollsafe::compat {

struct ProbeOutcome {
    bool ok = false;
    std::string message;   // PostgreSQL's primary error message ("column \"x\" does not exist")
    std::string sqlstate;  // "42703"
    int position = 0;      // 1-based character position in the statement, 0 when none
    std::vector<std::string> parameter_types;  // format_type() of each $n
    std::vector<ResultColumn> columns;
};

class StatementProbe {
public:
    virtual ~StatementProbe() = default;
    // Prepares sql (unnamed statement) and describes it. Throws Error(UNAVAILABLE) only when the
    // connection is lost; a statement PostgreSQL rejects is an outcome.
    virtual ProbeOutcome describe(const std::string& sql) = 0;
    // Runs sql with text parameters inside a transaction that is rolled back, with foreign keys
    // and replication-origin triggers off (session_replication_role = replica), and returns
    // PostgreSQL's verdict; `column` gets the column an error names. Never commits anything.
    virtual ProbeOutcome execute_and_roll_back(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                                               std::string* column) = 0;
    // Runs a query with text parameters and returns the first column of each row (for the
    // checks that need the catalog of the probed database). Throws db::DbError.
    virtual std::vector<std::string> column(const std::string& sql, const std::vector<std::string>& params) = 0;
};

// Connects a probe to a database (libpq, extended query protocol). Throws Error(UNAVAILABLE).
std::unique_ptr<StatementProbe> connect_probe(const Dsn& dsn);

}  // namespace rollsafe::compat
