#pragma once

// App contracts: the statements a release's code runs, one per `;`, parameters as $n, kept in
// contracts/<release>.sql beside releases.toml (or captured from pg_stat_statements).

#include <map>
#include <string>
#include <vector>

#include "core/base/error.h"

namespace rollsafe::compat {

// One column of a statement's result, as PostgreSQL describes it.
struct ResultColumn {
    std::string name;
    unsigned type_oid = 0;
    std::string type;  // format_type() of it, e.g. "bigint"
};

// One statement of a contract, with what the checks need from its parse tree.
struct ContractStatement {
    int index = 0;           // 0-based, in file order
    std::string text;
    std::string file;
    int line = 1, col = 1;
    std::string kind;        // parse node: "SelectStmt", "InsertStmt", ...
    bool preparable = true;  // SELECT, INSERT, UPDATE, DELETE, MERGE, VALUES (PREPARE accepts them)
    bool star = false;       // SELECT * or RETURNING *: its result shape follows the table's
    // INSERT: the target (as written, e.g. "users" or "app.users") and the columns it names;
    // insert_all_columns when it names none (then every column is positional).
    std::string insert_table;
    std::vector<std::string> insert_columns;
    bool insert_all_columns = false;
    // INSERT ... VALUES: which column each $n parameter fills (for --with-data sample rows).
    std::map<int, std::string> parameter_columns;
    std::string fingerprint;  // libpg_query's fingerprint (same statement modulo constants)
};

// A contract file read and parsed.
struct Contract {
    std::string path;
    std::vector<ContractStatement> statements;
};

// Returns the path of a release's contract: <dir>/<release>.sql.
std::string contract_path(const std::string& dir, const std::string& release);

// Returns the contracts folder of a migrations project: "contracts" beside releases.toml,
// which lives beside the migrations folder ("db/migrations" -> "db/contracts").
std::string contracts_dir_for(const std::string& migrations_dir);

// Parses contract text (statements split by PostgreSQL's parser). Throws Error(USAGE) with
// path:line:col and PostgreSQL's message when it does not parse.
Contract parse_contract(const std::string& path, const std::string& text);

// Reads and parses a contract file; throws Error(USAGE) when unreadable or unparsable.
Contract read_contract(const std::string& path);

}  // namespace rollsafe::compat
