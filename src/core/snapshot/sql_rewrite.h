#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace rollsafe::snapshot {

// Splits "schema.name" (each part possibly double-quoted) into its unquoted parts; unquoted parts
// are folded to lower case as the server does.
std::vector<std::string> split_qualified_name(const std::string& text);

// Splits an SQL script as pg_restore writes it into statements (without the trailing ';'),
// dropping comments and psql meta-command lines (\restrict, \connect). Quotes, dollar quotes and
// E'' strings are respected.
std::vector<std::string> split_script(const std::string& script);

// A relation by schema and name, unquoted.
using QualifiedName = std::pair<std::string, std::string>;

// Moves references to the given relations into another schema: every `schema.name` reference
// (quoted or not, not followed by '(' as a function call would be) and every string literal
// holding such a name (nextval('public.orders_id_seq'::regclass), setval) gets to_schema instead
// of its schema. Other schema-qualified names (types, functions, referenced tables) are kept.
std::string move_to_schema(const std::string& statement, const std::set<QualifiedName>& names,
                           const std::string& to_schema);

// Returns the first word of a statement, upper-cased ("ALTER", "CREATE", "SET", ...).
std::string first_keyword(const std::string& statement);

}  // namespace rollsafe::snapshot
