#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "core/base/duration.h"
#include "core/base/process_identity.h"

namespace rollsafe {

// The body of the JSON lockfile (design.md: between rollsafe and what runs beside it).
struct LockfileBody {
    std::string state;  // "running" or "frozen"
    ProcessIdentity holder;
    std::string command;
    std::string started_at;  // ISO 8601 UTC
    std::string release;
    std::string version;  // schema version when written
    std::string reason;   // why frozen
    int exit_code = 0;

    nlohmann::json to_json() const;
    // Parses a lockfile body; nullopt when it is not one (garbage, truncated, wrong types).
    static std::optional<LockfileBody> parse(const std::string& text);
};

// What a reader finds at lockfile.path.
struct LockfileStatus {
    enum class Kind { absent, running, stale, frozen, unreadable };
    Kind kind = Kind::absent;
    std::optional<LockfileBody> body;
    std::string detail;  // why stale or unreadable
    static const char* name(Kind k);
};

// Reads and classifies the lockfile: a `running` file whose holder (host + pid + process start
// time, since containers reuse pids) is gone is stale.
LockfileStatus read_lockfile(const std::string& path);

// The lockfile of one rollsafe run. The JSON is written atomically (temp + fsync + rename), 0600;
// mutual exclusion between rollsafe processes of one host is an flock on "<path>.flock", which
// is never renamed (a rename would swap the inode an flock protects).
class Lockfile {
  public:
    explicit Lockfile(std::string path);
    ~Lockfile();
    Lockfile(const Lockfile&) = delete;
    Lockfile& operator=(const Lockfile&) = delete;

    // Takes the lockfile for a run, waiting up to `wait` for a live holder on this host. Returns
    // false when the wait ran out. Throws Error(USAGE) when the path cannot be written.
    [[nodiscard]] bool acquire(const std::string& command, const std::string& release, Millis wait);
    // Records the release of this run in the file.
    void set_release(const std::string& release);
    // Marks the run frozen (kept after exit, for the containers beside rollsafe).
    void set_frozen(const std::string& reason, int exit_code, const std::string& version);
    // Ends the run: removes the file unless it was marked frozen.
    void finish();

    const std::string& path() const { return m_path; }
    bool frozen() const { return m_frozen; }
    // What was found when acquiring (e.g. a stale file left by a killed run).
    const LockfileStatus& found() const { return m_found; }

  private:
    void write(const LockfileBody& body);

    std::string m_path;
    int m_fd = -1;
    bool m_frozen = false;
    bool m_held = false;
    LockfileBody m_body;
    LockfileStatus m_found;
};

}  // namespace rollsafe
