#include "core/base/exit_code.h"

namespace rollsafe {

std::string_view exit_code_name(ExitCode code) {
    switch (code) {
        case ExitCode::ok:
            return "OK";
        case ExitCode::internal:
            return "INTERNAL";
        case ExitCode::usage:
            return "USAGE";
        case ExitCode::locked:
            return "LOCKED";
        case ExitCode::frozen:
            return "FROZEN";
        case ExitCode::check_failed:
            return "CHECK_FAILED";
        case ExitCode::failed_clean:
            return "FAILED_CLEAN";
        case ExitCode::failed_dirty:
            return "FAILED_DIRTY";
        case ExitCode::drift:
            return "DRIFT";
        case ExitCode::snapshot_failed:
            return "SNAPSHOT_FAILED";
        case ExitCode::unavailable:
            return "UNAVAILABLE";
        case ExitCode::not_ready:
            return "NOT_READY";
        case ExitCode::incompatible:
            return "INCOMPATIBLE";
        case ExitCode::interrupted:
            return "INTERRUPTED";
        case ExitCode::busy:
            return "BUSY";
    }
    return "UNKNOWN";
}

int exit_code_severity(ExitCode code) {
    // Most severe first: states that need a person, then failures that block a deploy, then
    // transient conditions a retry fixes.
    switch (code) {
        case ExitCode::failed_dirty:
            return 100;
        case ExitCode::internal:
            return 95;
        case ExitCode::frozen:
            return 90;
        case ExitCode::drift:
            return 85;
        case ExitCode::incompatible:
            return 80;
        case ExitCode::failed_clean:
            return 75;
        case ExitCode::check_failed:
            return 70;
        case ExitCode::snapshot_failed:
            return 65;
        case ExitCode::usage:
            return 60;
        case ExitCode::interrupted:
            return 50;
        case ExitCode::busy:
            return 45;
        case ExitCode::unavailable:
            return 40;
        case ExitCode::locked:
            return 35;
        case ExitCode::not_ready:
            return 30;
        case ExitCode::ok:
            return 0;
    }
    return 99;
}

}  // namespace rollsafe
