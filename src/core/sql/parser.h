#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace rollsafe::sql {

// One SQL statement of a script, as PostgreSQL's own parser (libpg_query) split it.
struct Statement {
    std::string text;        // from its first token to its last: no ';', no comments around it
    std::size_t offset = 0;  // byte offset of the first token in the script text
    int line = 1;            // 1-based line of the first token within the script text
    int col = 1;             // 1-based column (characters)
    std::string kind;        // parse node name: "CreateStmt", "IndexStmt", "DoStmt", ...
    std::string node_json;   // the statement's parse tree as libpg_query wrote it

    // Returns the statement's parse tree, e.g. {"IndexStmt": {...}}. It is built on each call:
    // most commands never look at it, and building it for every statement of every script was
    // a third of the time `validate` spent.
    nlohmann::json node() const;
};

struct ParseError {
    std::size_t offset = 0;  // byte offset of the error in the script text
    int line = 1;
    int col = 1;
    std::string message;  // PostgreSQL's message, e.g. syntax error at or near "TABEL"
};

struct ParsedScript {
    std::vector<Statement> statements;
    std::optional<ParseError> error;
    std::string tree_json;  // libpg_query's parse tree of the whole script (after a BOM)
};

// Parses a whole script with the PostgreSQL 15 parser (dollar quotes, comments and BEGIN ATOMIC
// bodies split as the server splits them; a leading UTF-8 byte-order mark is ignored). Never
// throws for bad SQL: a syntax error comes back in `error` (then `statements` is empty).
ParsedScript parse_script(const std::string& text);

// Returns the byte offset of the first token at or after `from` (skips whitespace and comments).
std::size_t skip_space_and_comments(const std::string& text, std::size_t from);

// Returns a fingerprint of the statement's structure (libpg_query), or empty on error.
std::string fingerprint(const std::string& statement);

// Returns a canonical form of the script for drift checks: whitespace and comments dropped
// (a space kept only between two words), quoted text verbatim, and `-- rollsafe:` directive
// lines kept, since they change how the script runs. Equal forms mean no real change.
std::string normalized_for_drift(const std::string& text);

}  // namespace rollsafe::sql
