#include "core/engine/default_hooks.h"

#include "core/base/log.h"

namespace rollsafe {

EngineHooks default_engine_hooks(const Config& config) {
    (void)config;
    EngineHooks hooks;
    hooks.progress = [](const std::string& line) { log::info("{}", line); };
    return hooks;
}

}  // namespace rollsafe
