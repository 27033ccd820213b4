#pragma once

// `rollsafe contract capture`: a release's contract built from what its app really ran, read
// from pg_stat_statements (already normalised: constants become $n), filtered to the app's own
// DML, fingerprinted with libpg_query and de-duplicated.

#include <string>
#include <vector>

#include "core/db/session.h"

namespace rollsafe::compat {

struct CaptureOptions {
    long long min_calls = 1;            // leave out statements run fewer times
    std::string history_schema = "rollsafe";
};

struct CapturedStatement {
    std::string text;         // as pg_stat_statements normalised it, without a trailing ';'
    std::string fingerprint;  // libpg_query's pg_query_fingerprint
    long long calls = 0;
};

struct Capture {
    std::vector<CapturedStatement> statements;  // most called first, one per fingerprint
    int seen = 0;      // rows read from pg_stat_statements
    int skipped = 0;   // left out: not DML, catalog queries, rollsafe's own, too few calls
    int duplicates = 0;
};

// Returns why a normalised query is not part of an app contract ("" when it is): not exactly
// one statement, not SELECT/INSERT/UPDATE/DELETE/MERGE, reading no table, or reading system
// catalogs or rollsafe's own schema.
std::string capture_exclusion(const std::string& query, const std::string& history_schema);

// Adds one pg_stat_statements row to a capture (filtering and de-duplicating).
void add_captured(Capture& capture, const std::string& query, long long calls, const CaptureOptions& options);

// Reads pg_stat_statements of the connected database. Throws Error(USAGE) with a hint when the
// extension is not installed or not preloaded, db::DbError for other failures.
Capture capture_statements(db::Session& session, const CaptureOptions& options);

// Returns the contract file text: a header naming where it came from, then one statement per
// `;`. Statements of `existing` (a contract's text, may be empty) come first and are kept
// as written; captured ones whose fingerprint is already there are left out.
std::string contract_text(const std::string& release, const std::string& source, const Capture& capture,
                          const std::string& existing, int* added = nullptr);

}  // namespace rollsafe::compat
