#pragma once

#include <optional>
#include <string>

#include "core/base/config.h"
#include "core/snapshot/manifest.h"
#include "core/sqlite/sqlite_db.h"
#include "core/sqlite/sqlite_history.h"

namespace rollsafe::sqlite {

using snapshot::BatchInfo;

// Copies the database with SQLite's online backup API into <snapshot.dir>/<id>.db (a 0600 file
// in a 0700 folder, written under a temporary name and renamed) and writes the same JSON
// manifest as PostgreSQL snapshots (<id>.json: tables with exact row counts, size, sha256,
// SQLite version as server_version). Throws Error(SNAPSHOT_FAILED).
snapshot::Manifest create_snapshot(Database& db, const Config& config,
                                   const std::string& version_before,
                                   const std::optional<BatchInfo>& batch);

// Verifies a snapshot: the file's sha256 against the manifest, PRAGMA integrity_check, and the
// row count of every table. Stores the result in the manifest and returns it (ok = false with
// the reason; throws Error(USAGE) for an unknown id or a snapshot that is not SQLite's).
snapshot::Verification verify_snapshot(const Config& config, const std::string& id);

// What `restore --table` did (or would do with dry_run).
struct TableRestore {
    std::string snapshot_id, table, aside;
    long long rows = 0;         // rows copied back
    long long rows_before = 0;  // rows of the current table, now in `aside`
    bool dry_run = false;
    // The snapshot's CREATE TABLE differs from the current one (a migration changed the table
    // since): the restored table has the snapshot's shape.
    bool definition_differs = false;
};

// Copies one table back from a verified snapshot inside one transaction: the current table is
// renamed aside (<table>_before_restore_<time>, without its indexes and triggers, which the
// restored table gets back from the snapshot), the snapshot's table is recreated and filled,
// and a history row (op restore) is appended. Throws Error(USAGE) for an unknown table or
// snapshot, Error(SNAPSHOT_FAILED) for a snapshot that fails verification.
TableRestore restore_table(Database& db, HistoryStore& store, const Config& config,
                           const std::string& id, const std::string& table,
                           const std::string& reason, bool dry_run);

}  // namespace rollsafe::sqlite
