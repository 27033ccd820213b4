#pragma once

// The dynamic layers for `up` (opt-in with check.layers): before applying anything, the pending
// migrations are tried on a scratch copy of the target's schema, and the classes found there
// refine what `up` stores in history (gate and rollback decide on them).

#include <vector>

#include "core/base/config.h"
#include "core/check/check.h"
#include "core/migrations/migration.h"

namespace rollsafe::compat {

// Runs the dynamic layers named in config.check_layers ("rules,diff,contracts", ...) for the
// pending migrations against a scratch copy of config.database_url's schema, and adds their
// findings and classes to `report`. Blue is the newest release of releases.toml the applied
// migrations cover, green the release the pending ones reach. Does nothing when check.layers
// names no dynamic layer; logs a warning and leaves the report as it is when no scratch
// database can be had. Throws Error(USAGE) for an unknown layer name.
void add_dynamic_layers(check::Report& report, const Config& config, const std::vector<const Migration*>& pending,
                        const std::vector<const Migration*>& applied);

}  // namespace rollsafe::compat
