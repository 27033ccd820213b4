#pragma once

// One target's row of `status --targets`: its schema version, pending count, freeze and last
// outcome, and the exit code that says whether it needs attention.

#include <optional>
#include <string>

#include "core/engine/engine.h"

namespace rollsafe::fleet {

// One target as `status --targets` shows it.
struct TargetStatus {
    StatusReport report;
    std::optional<HistoryRow>
        last;  // newest migration operation: up, down, baseline, repair, restore
    ExitCode code = ExitCode::ok;  // see target_status_code
    std::string reason;            // why code is not OK
};

// Returns the code of a target in a fleet status, the most severe of: FAILED_DIRTY for a dirty
// migration, DRIFT for an applied script changed on disk, FROZEN for a freeze, and the recorded
// code of the last operation when it failed (nothing succeeded since). OK otherwise: pending
// migrations alone are normal before a deploy.
ExitCode target_status_code(const StatusReport& status, const std::optional<HistoryRow>& last,
                            std::string& reason);

// Reads a target's status and last outcome (read-only; throws Error like Engine::status).
TargetStatus read_target_status(Engine& engine);

}  // namespace rollsafe::fleet
