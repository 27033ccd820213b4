#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/db/session.h"

namespace rollsafe {

// Outcomes that change whether a version is applied (others, like "failed", do not).
namespace outcome {
inline const char* applied = "applied";                // up (or repair --resume) finished
inline const char* rolled_back = "rolled-back";        // down finished
inline const char* baselined = "baselined";            // adopted without running
inline const char* marked_applied = "marked-applied";  // repair --mark-applied
inline const char* marked_rolled_back = "marked-rolled-back";
inline const char* started = "started";            // a no-transaction migration began
inline const char* failed_dirty = "failed-dirty";  // a no-transaction migration failed part way
inline const char* failed = "failed";              // a transactional attempt rolled back
inline const char* aborted = "aborted";  // a no-transaction run stopped before changing anything
}  // namespace outcome

// One row of rollsafe's append-only history.
struct HistoryRow {
    long long id = 0;
    std::string run_id;
    std::string op;  // up, down, baseline, repair, restore, freeze, unfreeze, lock-break, release
    std::string version;
    std::string version_key;
    std::string name;
    std::string up_sha256, up_drift_sha256, down_sha256, down_drift_sha256;
    std::optional<std::string> down_script;
    bool no_transaction = false;
    std::string db_user, os_user, host, pod;
    int pid = 0;
    std::string started_at, finished_at;  // ISO 8601 from the server
    long long duration_ms = 0;
    std::string release, snapshot_id, compat_class;
    std::string outcome;
    std::string error, error_position;
    int error_statement = -1;  // 0-based statement index, -1 when none
    std::string reason;
    nlohmann::json details = nlohmann::json::object();
};

// What the history says about one version now.
struct AppliedVersion {
    enum class State { applied, dirty };
    State state = State::applied;
    HistoryRow row;  // the row that set this state (for applied: checksums and the down text)
};

// Fills in the whitespace-insensitive checksums (up_drift_sha256, down_drift_sha256) of these
// versions' rows in state, for a state read without them: PostgreSQL's status reads them only
// for the versions whose scripts changed (History::read_drift_checksums).
using DriftChecksumLoader = std::function<void(std::map<std::string, AppliedVersion>& state,
                                               const std::vector<std::string>& keys)>;

// Who runs rollsafe: stored in every history row.
struct Actor {
    std::string os_user, host, pod;
    int pid = 0;
    static Actor current();
};

// rollsafe's own tables in a schema of the target database (name configurable, always quoted).
// The layout of these tables is versioned in `<schema>.meta` and upgraded in place.
class History {
  public:
    History(db::Session& session, std::string schema);

    // Current layout version of rollsafe's tables written by this build.
    static int layout_version();

    // Creates or upgrades rollsafe's tables (serialised between processes with a transaction
    // advisory lock, so it works through PgBouncer). Throws Error(USAGE) naming the grant when
    // the role may not create them, DbError for other failures.
    void ensure();
    // Returns true when rollsafe's tables exist (read-only commands do not create them). Once
    // seen, they are not looked up again: rollsafe never drops them.
    bool exists();

    // Returns the SQL that appends row (values inlined as escaped literals, so it can share a
    // round trip with COMMIT). started_at empty means "now"; finished_at is always the server
    // clock.
    std::string insert_sql(const HistoryRow& row) const;
    void append(const HistoryRow& row);

    // Returns the applied and dirty versions, keyed by Version::key(). Without the down texts
    // unless with_down_scripts, and without details (rows() has them).
    std::map<std::string, AppliedVersion> state(bool with_down_scripts = false);
    // The same with only the columns status shows or compares (op, version, name, checksums,
    // finished_at, release, class, outcome); the other fields of each row are left empty.
    std::map<std::string, AppliedVersion> status_state();
    // Fills in the whitespace-insensitive checksums (which status_state() leaves out) of these
    // versions: status asks for them only where a script no longer matches its history row.
    void read_drift_checksums(std::map<std::string, AppliedVersion>& state,
                              const std::vector<std::string>& keys);

    struct Filter {
        std::string version_key;
        std::string op;
        int limit = 0;      // newest N; 0: all
        std::string since;  // ISO timestamp
    };
    // Returns history rows oldest first.
    std::vector<HistoryRow> rows(const Filter& filter);

    // Statement indexes already done by a no-transaction run.
    std::vector<int> progress(const std::string& run_id);
    std::string progress_sql(const std::string& run_id, const std::string& version_key, int index,
                             const std::string& position) const;

    // The freeze, if one is in force.
    struct Freeze {
        std::string reason, set_at, set_by, run_id, version;
        int exit_code = 0;
    };
    std::optional<Freeze> freeze();
    // Sets or clears the freeze and appends the audit row in one transaction.
    void set_freeze(const Freeze& f, const HistoryRow& audit);
    void clear_freeze(const HistoryRow& audit);

    const std::string& schema() const { return m_schema; }
    // Returns the quoted, schema-qualified name of one of rollsafe's tables.
    std::string table(const std::string& name) const;

  private:
    void create_or_upgrade();
    std::map<std::string, AppliedVersion> state_of(const std::string& columns);

    db::Session& m_session;
    std::string m_schema;
    std::string m_q;  // quoted schema
    bool m_exists = false;
};

// Returns a new random run id (32 hex digits).
std::string new_run_id();

// Escapes a value as an SQL E'' literal that is correct whatever standard_conforming_strings is.
std::string sql_literal(const std::string& value);
// Appends sql_literal(value) to out (for statements built in one buffer).
void append_sql_literal(std::string& out, const std::string& value);

}  // namespace rollsafe
