#pragma once

#include <vector>

#include "core/base/error.h"
#include "core/migrations/migration.h"

namespace rollsafe {

// Returns the statements rollsafe will run for a script. A script wrapped in BEGIN ... COMMIT
// (common in golang-migrate and dbmate projects) is unwrapped, since rollsafe runs each
// migration in its own transaction; any other transaction control (COMMIT, ROLLBACK, BEGIN,
// SAVEPOINT in the middle) is a problem appended to `problems`, because it would break the
// all-or-nothing guarantee.
std::vector<sql::Statement> executable_statements(const Script& script,
                                                  std::vector<Diagnostic>& problems);

// Same, throwing Error(USAGE) with the problems.
std::vector<sql::Statement> executable_statements(const Script& script);

}  // namespace rollsafe
