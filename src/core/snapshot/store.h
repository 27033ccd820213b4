#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "core/base/duration.h"
#include "core/snapshot/manifest.h"

namespace rollsafe::snapshot {

// The archive being written: a 0600 file under a temporary name (".<id>.dump.partial") in the
// snapshot folder, held with flock so that cleanup never removes a live one. Removed on
// destruction unless committed.
class TempArchive {
  public:
    // Creates the file (O_EXCL, 0600); throws Error(SNAPSHOT_FAILED).
    TempArchive(const std::string& dir, const std::string& id);
    ~TempArchive();
    TempArchive(const TempArchive&) = delete;
    TempArchive& operator=(const TempArchive&) = delete;

    const std::string& path() const { return m_path; }
    // fsyncs the file, renames it to final_path (0600), fsyncs the folder. Throws
    // Error(SNAPSHOT_FAILED).
    void commit(const std::string& final_path);

  private:
    std::string m_dir;
    std::string m_path;
    int m_fd = -1;
    bool m_committed = false;
};

// What prune removed (or would remove with dry_run).
struct PruneResult {
    std::vector<Manifest> removed;
    std::vector<std::string> removed_files;  // archives without a manifest, temp leftovers
    std::vector<Manifest> kept;
};

// The snapshot folder: <id>.dump archives with <id>.json manifests.
class SnapshotStore {
  public:
    // dir may be relative to the working folder; it is made absolute.
    explicit SnapshotStore(std::string dir);

    // Creates the folder 0700, or tightens an existing one we own to 0700. Throws
    // Error(SNAPSHOT_FAILED) when it cannot.
    void prepare() const;

    const std::string& dir() const { return m_dir; }
    std::string archive_path(const Manifest& m) const;
    std::string manifest_path(const std::string& id) const;

    // Returns every readable manifest, oldest first (unreadable ones are logged and skipped).
    std::vector<Manifest> list() const;
    // Returns one manifest; throws Error(USAGE) when there is no such snapshot.
    Manifest load(const std::string& id) const;
    // Writes a manifest atomically (0600). Throws Error(SNAPSHOT_FAILED).
    void save(const Manifest& m) const;

    // Removes temporary archives left by a dump that was killed (their writer no longer holds
    // the flock); returns their paths.
    std::vector<std::string> clean_temp_files() const;

    // Removes snapshots of `database` (all databases when empty) beyond the newest `keep`, and
    // those older than max_age (0: no age limit; the newest one is always kept unless keep is 0),
    // plus archives left without a manifest. Nothing is removed with dry_run.
    PruneResult prune(int keep, Millis max_age, const std::string& database, bool dry_run,
                      std::time_t now) const;

  private:
    std::string m_dir;
};

// Returns a new snapshot id: UTC time plus random digits, e.g. "20240101-120000-3fa9c1".
std::string new_snapshot_id(std::time_t now);

// Returns now as ISO 8601 UTC ("2024-01-01T12:00:00Z").
std::string iso_utc(std::time_t t);

}  // namespace rollsafe::snapshot
