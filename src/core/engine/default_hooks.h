#pragma once

#include "core/base/config.h"
#include "core/engine/engine.h"

namespace rollsafe {

// The hooks a real run uses: progress lines to the log, rollsafe check before `up`, and a
// snapshot before each batch (per snapshot.mode).
EngineHooks default_engine_hooks(const Config& config);

}  // namespace rollsafe
