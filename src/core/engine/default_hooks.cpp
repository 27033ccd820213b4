#include "core/engine/default_hooks.h"

#include "core/base/log.h"
#include "core/snapshot/hook.h"

namespace rollsafe {

EngineHooks default_engine_hooks(const Config& config) {
    (void)config;
    EngineHooks hooks;
    hooks.progress = [](const std::string& line) { log::info("{}", line); };
    // A pg_dump snapshot before each up/down batch (snapshot.mode, per-migration directives).
    hooks.snapshot = snapshot::make_snapshot_hook(config);
    return hooks;
}

}  // namespace rollsafe
