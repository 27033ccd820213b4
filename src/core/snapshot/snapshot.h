#pragma once

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/config.h"
#include "core/base/error.h"
#include "core/base/process.h"
#include "core/db/session.h"
#include "core/snapshot/manifest.h"
#include "core/snapshot/store.h"
#include "core/snapshot/touched.h"

namespace rollsafe::snapshot {

// What to dump.
struct CreateRequest {
    std::string mode = "full";               // touched | full | tables
    std::vector<TouchedRelation> relations;  // for touched and tables
    std::vector<std::string> mode_reasons;   // why full was chosen, for the manifest
    std::optional<BatchInfo> batch;
    std::string schema_version_before;
};

// The outcome of a verification.
struct VerifyResult {
    Manifest manifest;
    bool ok = false;
    std::vector<std::string> problems;  // "sha256 differs ...", "full read failed: ..."
};

// A snapshot whose passing verification is on record, while its archive's SHA-256 is computed
// again on a thread (restore gets on with its work meanwhile). Call confirm() before changing
// anything that matters: it waits for the checksum.
class VerifiedSnapshot {
  public:
    Manifest manifest;

    // Throws Error(SNAPSHOT_FAILED) when the archive no longer has the manifest's SHA-256.
    void confirm();
    // Returns the error confirm() would throw, if any (for a failure that may come from it).
    std::optional<Error> problem();

  private:
    friend class SnapshotService;
    std::future<std::string> m_sha256;  // invalid when there is nothing left to check
    std::string m_path;
    std::optional<std::string> m_actual;  // the SHA-256 computed
    std::string m_unreadable;             // why it could not be computed
};

// Takes, lists, verifies and prunes pg_dump snapshots of the configured database in
// snapshot.dir. Every failure to take a snapshot is Error(SNAPSHOT_FAILED) (exit 9), raised
// before anything is applied; a signal gives Error(INTERRUPTED).
class SnapshotService {
  public:
    explicit SnapshotService(Config config, ProcessRunner& runner = default_process_runner());

    // Dumps what the request names (pg_dump -Fc from an argv vector, --lock-wait-timeout, a
    // 0600 temp file in the 0700 folder, fsync, rename) inside one exported MVCC snapshot whose
    // exact row counts go into the manifest. Removes temp files left by killed dumps first.
    Manifest create(const CreateRequest& request);

    // Checks the archive's SHA-256 and reads it whole (pg_restore to a pipe, counting the rows
    // of every table against the manifest); records the outcome in the manifest.
    VerifyResult verify(const std::string& id);

    // Returns the verified manifest, verifying it first unless a passing verification of a file
    // with the same SHA-256 is on record. Throws Error(SNAPSHOT_FAILED) when it does not verify.
    Manifest require_verified(const std::string& id);

    // Like require_verified, but a snapshot verified before has its SHA-256 re-checked on a
    // thread: the caller must confirm() the result before it changes anything.
    VerifiedSnapshot require_verified_async(const std::string& id);

    SnapshotStore& store() { return m_store; }
    const Config& config() const { return m_config; }
    ProcessRunner& runner() { return m_runner; }

    // Opens a session with the configured DSN (Error(UNAVAILABLE) when unreachable).
    std::unique_ptr<db::Session> connect() const;

  private:
    Config m_config;
    ProcessRunner& m_runner;
    SnapshotStore m_store;
};

// Returns the catalog facts (kind, row estimate, sizes) of relations, in the same order.
std::vector<TableEntry> describe_relations(db::Session& session,
                                           const std::vector<TouchedRelation>& relations);

// Returns every table, view, materialized view and sequence outside the system schemas.
std::vector<TouchedRelation> all_relations(db::Session& session);

}  // namespace rollsafe::snapshot
