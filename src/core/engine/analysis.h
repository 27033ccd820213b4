#pragma once

// The pure part of planning: the migration files compared with what history says is applied.
// No database, no I/O: engines read their history however they store it and hand the result in.
//
// Both engines build their analysis and their status lines here. Note: Engine::check_drift and
// its dirty and down-target checks in engine.cpp still hold their own copies of these rules.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/engine/engine.h"
#include "core/engine/history.h"
#include "core/migrations/reader.h"

namespace rollsafe {

// The files against history: what is pending, out of order, drifted, missing or ahead.
struct FileAnalysis {
    std::map<std::string, AppliedVersion> state;
    std::vector<const Migration*> pending;       // in version order
    std::vector<const Migration*> out_of_order;  // pending but older than the newest applied
    std::vector<std::string> ahead;              // applied, no file, newer than every file
    std::vector<std::string> missing;            // applied, no file, older than some file
    std::vector<std::string> dirty;
    std::optional<Version> newest_applied;
    struct Drift {
        std::string key, file, stored, now;
        bool cosmetic = false;
        std::string script;  // "up" or "down"
    };
    std::vector<Drift> drift;
};

// Compares the files with the applied state (keyed by Version::key()). A changed script counts
// as cosmetic when its row's whitespace-insensitive checksum still matches; load_drift_checksums,
// when given, is asked for those checksums of the changed versions first.
FileAnalysis analyze_files(const MigrationSet& files, std::map<std::string, AppliedVersion> state,
                           const DriftChecksumLoader& load_drift_checksums = {});

// Adds warnings for cosmetic drift, down drift and missing files to plan; throws Error(DRIFT)
// when an applied up script changed beyond whitespace and comments.
void check_drift(const FileAnalysis& a, Plan& plan);

// Throws Error(USAGE) when pending migrations are older than the newest applied one and
// out-of-order is not allowed.
void check_out_of_order(const FileAnalysis& a, bool allowed);

// Throws Error(FAILED_DIRTY) when a version is dirty (a no-transaction migration failed).
void check_not_dirty(const FileAnalysis& a);

// Returns the applied versions to revert for `down` (--to or --steps), newest first. Throws
// Error(USAGE) for a bad --to.
std::vector<const AppliedVersion*> down_targets(const FileAnalysis& a, const DownOptions& options);

// Builds the per-version lines and counters of `status` (database, lock, freeze left to the
// caller). The history rows' strings are moved out of a.state into the lines.
void fill_status(FileAnalysis& a, const MigrationSet& files, StatusReport& report);

}  // namespace rollsafe
