#pragma once

// What check knows about PostgreSQL column types and functions: canonical type names, which
// ALTER COLUMN ... TYPE changes are binary-coercible (no rewrite) or narrowing (old writes can
// fail), and which default expressions are volatile (so ADD COLUMN rewrites the table).

#include <map>
#include <string>
#include <vector>

#include "core/check/tree.h"

namespace rollsafe::check {

// A column type as written in a statement, with PostgreSQL's aliases resolved.
struct TypeRef {
    std::string name;           // canonical: "int4", "varchar", "timestamptz", or the user type
    std::vector<long> mods;     // type modifiers: varchar(20) -> {20}, numeric(10,2) -> {10, 2}
    bool array = false;         // int[]
    bool serial = false;        // serial, bigserial, smallserial
    bool user_defined = false;  // not a built-in type rollsafe knows

    // Returns the type as SQL, e.g. "varchar(20)", "bigint[]".
    std::string sql() const;
    bool operator==(const TypeRef& other) const {
        return name == other.name && mods == other.mods && array == other.array;
    }
};

// Reads a libpg_query TypeName node; an empty name when the node is not a type.
TypeRef type_from_node(const tree::Node& type_name);

// The effect of ALTER COLUMN ... TYPE.
struct TypeChange {
    bool rewrite = false;    // the table is rewritten (or scanned) under ACCESS EXCLUSIVE
    bool narrowing = false;  // values the old app writes may be rejected or read differently
    std::string detail;      // why, for the finding's message
};

// Classifies a type change from `from` (nullptr when the current type is unknown) to `to`;
// `has_using` is true when the statement has a USING expression.
TypeChange classify_type_change(const TypeRef* from, const TypeRef& to, bool has_using,
                                int pg_version);

// Volatility of functions created by the checked migrations (name -> 'i', 's' or 'v').
using FunctionVolatility = std::map<std::string, char>;

// Returns the first function in a default expression that makes it volatile (known volatile
// built-ins, and functions not known to be IMMUTABLE or STABLE), or "" when it is not volatile.
std::string volatile_function_in(const tree::Node& expr, const FunctionVolatility& known);

// True when the expression is the NULL constant (DEFAULT NULL means no default).
bool is_null_constant(const tree::Node& expr);

}  // namespace rollsafe::check
