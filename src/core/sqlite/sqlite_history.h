#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/engine/history.h"
#include "core/sqlite/sqlite_db.h"

namespace rollsafe::sqlite {

// The current time as SQL (ISO 8601 UTC with milliseconds) and as epoch milliseconds.
inline const char* kNowIso = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";
inline const char* kNowMs = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";

// rollsafe's own tables inside the SQLite file, named <prefix>_meta, <prefix>_history and
// <prefix>_lock (SQLite has no schemas; the prefix is history.schema). The history is
// append-only: triggers RAISE(ABORT) on UPDATE and DELETE. The layout is versioned in
// <prefix>_meta and upgraded in place, one step at a time.
class HistoryStore {
  public:
    // Throws Error(USAGE) for a prefix that is not letters, digits and underscores.
    HistoryStore(Database& db, std::string prefix);

    // Current layout version of rollsafe's tables written by this build.
    static int layout_version();

    // Creates or upgrades the tables in one BEGIN IMMEDIATE transaction (serialised between
    // processes by SQLite's write lock). Throws SqliteError.
    void ensure();
    // True when the history table exists (read-only commands create nothing).
    bool exists();

    // Appends a row on the current connection (inside the caller's transaction, if any).
    void append(const HistoryRow& row);
    // Applied and dirty versions by Version::key(), as the PostgreSQL History computes them.
    std::map<std::string, AppliedVersion> state(bool with_down_scripts = false);
    // Rows oldest first.
    std::vector<HistoryRow> rows(const History::Filter& filter);

    // Quoted name of one of the tables ("history", "lock", "meta").
    std::string table(const std::string& name) const { return ident(m_prefix + "_" + name); }
    const std::string& prefix() const { return m_prefix; }

  private:
    Database& m_db;
    std::string m_prefix;
};

// Returns the newest applied version ("" when none).
std::string current_version(HistoryStore& store);

}  // namespace rollsafe::sqlite
