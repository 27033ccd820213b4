#include "core/engine/default_hooks.h"

#include "core/base/log.h"
#include "core/check/check.h"
#include "core/compat/up_check.h"
#include "core/snapshot/hook.h"

namespace rollsafe {

EngineHooks default_engine_hooks(const Config& config) {
    EngineHooks hooks;
    hooks.progress = [](const std::string& line) { log::info("{}", line); };
    // rollsafe check before `up`: classes go into history, blocking findings stop the run.
    hooks.check = [config](const EngineHooks::CheckRequest& req) {
        check::Options o;
        o.pg_version =
            config.pg_version ? config.pg_version : (req.server_major ? req.server_major : 15);
        o.lock_timeout_ms = config.lock_timeout.count();
        o.applied = req.applied;
        auto report = check::check_migrations(req.pending, o);
        // Opt-in (check.layers): the pending migrations tried on a scratch copy of the schema;
        // what the database shows refines the classes history records.
        compat::add_dynamic_layers(report, config, req.pending, req.applied);
        return report;
    };
    // A pg_dump snapshot before each up/down batch (snapshot.mode, per-migration directives).
    hooks.snapshot = snapshot::make_snapshot_hook(config);
    return hooks;
}

}  // namespace rollsafe
