#pragma once

#include <string>
#include <vector>

#include "core/migrations/migration.h"

namespace rollsafe {

// The migrations of a project, sorted by version.
struct MigrationSet {
    std::string dir;
    std::string layout;  // "native", "dbmate" or "flyway"
    std::vector<Migration> migrations;
    std::vector<Diagnostic> warnings;

    // Returns the migration with this version, or nullptr.
    const Migration* find(const Version& v) const;
};

// Reads a migrations folder in the given layout ("auto" detects it). Collects every problem
// (duplicate versions, an up without a down, a down without an up, bad SQL, unreadable files,
// non-UTF-8, unknown file names, bad directives) and throws them together as Error(USAGE).
MigrationSet read_migrations(const std::string& dir, const std::string& layout = "auto",
                             bool parse = true);

// Same, but returns the problems instead of throwing (for `validate`, which reports them all).
// With parse = false, statements are left for ensure_parsed (SQL errors then surface later).
MigrationSet read_migrations(const std::string& dir, const std::string& layout,
                             std::vector<Diagnostic>& problems, bool parse = true);

}  // namespace rollsafe
