#pragma once

#include <string_view>

namespace rollsafe {

// Process exit codes: a contract with pipelines (docs/exit-codes.md). Never renumber.
enum class ExitCode : int {
    ok = 0,
    internal = 1,
    usage = 2,
    locked = 3,
    frozen = 4,
    check_failed = 5,
    failed_clean = 6,
    failed_dirty = 7,
    drift = 8,
    snapshot_failed = 9,
    unavailable = 10,
    not_ready = 11,
    incompatible = 12,
    interrupted = 13,
    busy = 14,
};

// Returns the upper-case name of a code as documented ("OK", "FAILED_DIRTY", ...).
std::string_view exit_code_name(ExitCode code);

// Orders codes by how urgently a person must act; used to merge per-target outcomes.
int exit_code_severity(ExitCode code);

}  // namespace rollsafe
