#pragma once

// Running migration scripts on a scratch database the way `up` runs them (one transaction per
// script unless it says no-transaction), and what the scripts name.

#include <set>
#include <string>
#include <vector>

#include "core/db/session.h"
#include "core/migrations/migration.h"

namespace rollsafe::compat {

// The outcome of running one script.
struct ApplyOutcome {
    bool ok = true;
    std::string error;     // PostgreSQL's message (first line), or why the script cannot run
    std::string sqlstate;
    std::string file;      // where the failing statement starts
    int line = 0, col = 0;
};

// Runs a script: in one transaction (rolled back on failure) unless it has no-transaction, then
// statement by statement. Never throws for a failing statement; throws Error when the
// connection is lost or the run is interrupted.
ApplyOutcome apply_script(db::Session& session, const Script& script);

// Returns the roles the scripts grant to, revoke from or name as owners, leaving out the roles
// they create themselves and PUBLIC/CURRENT_USER.
std::set<std::string> roles_named(const std::vector<const Migration*>& migrations);

// Creates each role that does not exist yet (NOLOGIN), so that GRANTs replay on a scratch server.
void ensure_roles(db::Session& session, const std::set<std::string>& roles);

// Returns every identifier a script names (relation names, object names in DROP and ALTER, ...),
// lower-case as PostgreSQL folds them: an object removed without being named was dropped
// implicitly (CASCADE, or with a column it depended on).
std::set<std::string> names_in(const Script& script);

// Returns the statements of a script, parsing it when the reader left them out (loose files).
std::vector<sql::Statement> statements_of(const Script& script);

}  // namespace rollsafe::compat
