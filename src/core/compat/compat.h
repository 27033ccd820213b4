#pragma once

// Blue/green compatibility proven on a real database: the pending migrations are applied to a
// scratch database (an embedded PgSandbox, or a server named with --dev-url), the catalog is
// read before and after each one and every change is classified for the old and the new app
// (diff layer), each release's app contract is PREPAREd against every schema state (contract
// layer), and each down is checked to undo its up exactly (round-trip layer).

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/catalog/catalog.h"
#include "core/compat/contract.h"
#include "core/migrations/migration.h"

namespace rollsafe::compat {

// Which layers of `check` run. Rules are the static ones (src/core/check); the others need a
// scratch database.
struct Layers {
    bool rules = true;
    bool diff = true;
    bool contracts = true;
    bool roundtrip = false;

    bool dynamic() const { return diff || contracts || roundtrip; }
    // Returns e.g. "rules,diff,contracts".
    std::string text() const;
};

// Parses "rules,diff,contracts,roundtrip" (any subset, any order, "all" for every layer).
// Throws Error(USAGE) naming an unknown layer.
Layers parse_layers(const std::string& list);

// One schema state the contracts are tried against.
struct SchemaState {
    std::string id;         // "before", a migration id ("0006_add_ref"), or "after-downs"
    std::string label;      // "before", "after 0006_add_ref", "after the downs"
    std::string kind;       // "before", "up", "downs"
    std::string migration;  // the migration whose up led here ("" for before and after-downs)
    bool reached = false;   // false when a migration before it failed to apply
    std::string fingerprint;  // Catalog::fingerprint() of the state (as `up --release` records it)
    // Kept for "before", the last up state and "after the downs" only: a catalog per state of a
    // long release would take memory for nothing.
    Catalog catalog;
};

// What one contract statement does at one schema state.
struct Cell {
    // works: PREPAREs and passes the checks; breaks: PostgreSQL rejects it or a check fails;
    // warns: works with a caveat; unresolved: a parameter type cannot be inferred; not-reached:
    // the state was never reached; skipped: not a statement PREPARE accepts.
    std::string status = "not-reached";
    std::string message;    // PostgreSQL's error text, or the failed check in its words
    std::string sqlstate;   // PostgreSQL's SQLSTATE when it gave one
    std::string migration;  // the migration responsible (first state where it broke)
    std::vector<std::string> parameter_types;  // as PostgreSQL inferred them
    std::vector<ResultColumn> columns;         // the result shape
};

// A release's contract tried against every state.
struct ContractRun {
    std::string release;
    std::string role;  // "blue" or "green"
    std::string path;  // contracts/<release>.sql
    bool found = false;
    std::vector<ContractStatement> statements;
    std::vector<std::vector<Cell>> cells;  // [statement][state]
    std::vector<bool> required;            // per state: must this release work there?
};

// One catalog change, classified for the old app (the one written for the schema before the
// change) and the new app.
struct ClassifiedChange {
    CatalogChange change;
    std::string migration;  // whose up (or, for round-trips, down) made it
    std::string effect;     // "expand", "breaks-old", "breaks-new"
    bool reverse = false;   // a reverse hazard: harmless now, breaks the old app once the new one writes
    std::string reason;     // why, for people
    std::string klass;      // the class it gives its migration ("contract" or "")
};

// A difference found by the round-trip of one migration.
struct RoundTrip {
    std::string migration;
    bool ran = false;
    std::string error;                       // the up, down or second up failed: PostgreSQL's text
    std::vector<std::string> after_down;     // catalog after the down vs before the up
    std::vector<std::string> after_reup;     // catalog after the second up vs after the first
    std::vector<std::string> notes;          // e.g. column order changed (SELECT * sees it)
};

// A problem one of the dynamic layers found; each becomes a finding of `check`.
struct Problem {
    std::string layer;     // "diff", "contracts", "roundtrip"
    std::string rule;      // "compat-apply-failed", "compat-breaks-old", "compat-hidden-hazard", ...
    std::string severity;  // "error" or "warning"
    std::string migration; // the migration responsible ("" when none)
    std::string direction = "up";
    std::string message;   // one line naming the objects and, when it has one, PostgreSQL's text
    std::string file;      // where to point: the migration script, or the contract file
    int line = 0, col = 0;
    std::vector<std::string> classes;  // classes it gives the migration
};

struct Report {
    Layers layers;
    bool with_data = false;
    bool skipped = false;        // no scratch database could be had
    std::string skipped_reason;  // why, and what to do
    std::string scratch;         // "embedded PostgreSQL 15.4 (PgSandbox)" or "dev server app@db/x"
    std::string before_source;   // "5 migrations replayed (up to 0005)" or "pg_dump --schema-only of ..."
    std::string blue, green;     // release names ("" when none)
    std::vector<std::string> pending;  // migration ids, in order
    std::vector<SchemaState> states;   // before, one per pending migration, after-downs
    std::vector<ClassifiedChange> changes;
    std::vector<ContractRun> contracts;
    std::vector<RoundTrip> roundtrips;
    std::vector<std::string> downs_differences;  // catalog after all downs vs before
    std::vector<Problem> problems;
    std::vector<std::string> notes;
    // Classes the dynamic layers found, per migration id; a migration they applied cleanly is
    // listed even when they found nothing (its static "unknown" can then be resolved).
    std::map<std::string, std::set<std::string>> classes;
    long long startup_ms = 0, total_ms = 0;

    int errors() const;
    int warnings() const;
    // True when no error-level problem was found (and the layers ran).
    bool compatible() const { return !skipped && errors() == 0; }
};

// Where the scratch database comes from, and what goes in before the pending migrations.
struct Request {
    std::vector<const Migration*> applied;  // replayed to build "before" (unless from a database)
    std::vector<const Migration*> pending;
    std::string blue, green;                // releases, for contracts and labels
    std::string contracts_dir;              // folder of <release>.sql; "" for none
    Layers layers;
    bool with_data = false;                 // round-trip green's rows through the downs
    std::string dev_url;                    // a server to create scratch databases on; "" embeds one
    std::string server_bindir;              // PgSandbox binaries; "" searches
    std::string client_bindir;              // pg_dump/pg_restore; "" searches
    std::optional<std::string> before_database;  // DSN: "before" is its pg_dump --schema-only
    std::string history_schema = "rollsafe";     // left out of a dump
    std::function<void(const std::string&)> progress;
};

// Returns why no scratch database can be had (no server binaries and no dev URL), or nullopt.
std::optional<std::string> scratch_unavailable(const Request& request);

// Runs the chosen dynamic layers. Expected outcomes (a migration that fails on the scratch
// database, a contract that breaks) are problems in the report; throws Error when the scratch
// database cannot be started or reached, or "before" cannot be built from a dump.
Report run(const Request& request);

}  // namespace rollsafe::compat
