#pragma once

// What `rollsafe check` checks when it works on files alone: loose .sql files named on the
// command line, or the migrations of a release range of releases.toml (--blue/--green).

#include <string>
#include <vector>

#include "core/migrations/migration.h"
#include "core/migrations/reader.h"
#include "core/migrations/releases.h"

namespace rollsafe::check {

// Reads .sql files as migrations, in the order given; each file is one migration, and
// `x.down.sql` (or `x.down.sql` for `x.up.sql`) beside it is its down script. A folder is read
// as a migrations folder. Scripts carry path, text, checksum and directives; their statements
// are left empty because check_migrations parses the text itself. Unreadable files, bad UTF-8
// and bad directives are appended to `problems`.
std::vector<Migration> read_sql_files(const std::vector<std::string>& paths,
                                      std::vector<Diagnostic>& problems);

// The migrations a release step ships, and the ones before it.
struct ReleaseRange {
    std::vector<const Migration*> selected;  // after blue's last version, up to green's
    std::vector<const Migration*> applied;   // up to blue's last version
    std::string description;                 // "v1.0.0 (0002) -> v1.1.0 (0004)"
};

// Selects the migrations after release `blue` up to release `green` of releases.toml (either may
// be empty: from the first migration, or to the last). Throws Error(USAGE) for a missing
// releases file, an unknown release, a green that is not newer than blue, or a release whose last
// version has no migration.
ReleaseRange select_release_range(const MigrationSet& set, const ReleaseFile& releases,
                                  const std::string& blue, const std::string& green);

}  // namespace rollsafe::check
