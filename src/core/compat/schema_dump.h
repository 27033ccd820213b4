#pragma once

// "Before" from a live database: pg_dump --schema-only of the target, restored into a scratch
// database with pg_restore. Both run from an argv vector; a password reaches them only through
// a temporary 0600 PGPASSFILE.

#include <string>
#include <vector>

#include "core/base/dsn.h"
#include "core/compat/scratch.h"

namespace rollsafe::compat {

struct DumpRestore {
    std::string description;            // "pg_dump --schema-only of app@db:5432/shop (PostgreSQL 15.4)"
    std::vector<std::string> warnings;  // pg_restore errors it went past (a missing extension, ...)
};

// Dumps the schema of `target` (leaving out `history_schema`) and restores it into `database`
// of the scratch server, creating the target's roles first when the scratch allows it. Throws
// Error(UNAVAILABLE) when the target cannot be reached, Error(INTERNAL) when pg_dump fails.
DumpRestore restore_schema_of(const Dsn& target, const std::string& history_schema, Scratch& scratch,
                              const std::string& database, const std::string& client_bindir);

}  // namespace rollsafe::compat
