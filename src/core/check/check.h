#pragma once

// `rollsafe check`: blue/green and lock-safety rules on the PostgreSQL parse tree.
// This header is the contract between the rule engine and its users (the engine's `up`, the
// CLI's `check`, `gate` and `rollback`).

#include <set>
#include <string>
#include <vector>

#include "core/migrations/migration.h"

namespace rollsafe::check {

enum class Severity { info, warning, error };

// Returns "info", "warning" or "error".
const char* severity_text(Severity severity);

// One hazard found in one statement.
struct Finding {
    std::string rule_id;  // stable id, e.g. "drop-column"; docs/rules/<id>.md
    Severity severity = Severity::warning;
    std::string migration;  // Migration::id(), e.g. "0042_drop_phone"
    std::string file;       // script path
    int line = 0;           // 1-based, in the file
    int col = 0;
    std::string direction;            // "up" or "down"
    std::string message;              // what was found, naming the objects
    std::string why;                  // why it is a hazard (lock taken, who breaks)
    std::string fix;                  // the safe recipe (expand/contract steps)
    std::vector<std::string> breaks;  // "old-app", "new-app", "lock", "data", "loss"
    bool suppressed = false;          // an allow directive with a reason covers it
    std::string suppression_reason;
    std::string lock;  // lock PostgreSQL takes, e.g. "ACCESS EXCLUSIVE"; "" when none matters
    std::vector<std::string>
        classes;       // classes this finding gives its migration (see MigrationVerdict)
    int end_line = 0;  // end of the flagged statement (inclusive line, exclusive column)
    int end_col = 0;
    std::string source_line;   // the text of `line`, for carets in text output
    int suppression_line = 0;  // line of the allow directive that covers it
};

// What a migration is, for deploy decisions; stored in history by `up`.
struct MigrationVerdict {
    std::string migration;  // Migration::id()
    std::string version;    // Version::text()
    std::set<std::string>
        classes;  // "expand", "contract", "unsafe-lock", "data-loss-on-down", "unknown"
    std::vector<Finding> findings;  // up and down findings, suppressed ones included
    // True when an unsuppressed finding is at error level.
    bool blocking() const;
    // Returns the classes joined by ",", e.g. "contract,unsafe-lock"; "expand" when clean.
    std::string class_string() const;
    // True when blue (the previous release) keeps working with this migration applied.
    bool compatible_with_previous_release() const;
};

struct Options {
    int pg_version = 15;  // target PostgreSQL major version
    std::set<std::string> disabled_rules;
    // rollsafe's lock_timeout (timeouts.lock) in milliseconds; 0 means none is set, so every
    // blocking statement gets missing-lock-timeout.
    long long lock_timeout_ms = 1000;
    // True when the checked migrations ship together as one release (--blue/--green): objects
    // created by any of them are new to the old app, so lock and contract rules skip them. False:
    // only objects created earlier in the same migration are exempt.
    bool release_scope = false;
    // Migrations applied before the checked ones, read only to learn the schema (column types,
    // function volatility); no findings are reported for them.
    std::vector<const Migration*> applied;
};

struct Report {
    std::vector<MigrationVerdict> migrations;
    std::vector<Diagnostic> parse_errors;  // unparsable input (exit 2)
    int pg_version = 15;                   // the target the verdicts are for
    int errors() const;                    // unsuppressed error-level findings
    int warnings() const;                  // unsuppressed warning-level findings
    int suppressed() const;
    // Returns the exit code for this report: 2 with parse errors, 5 with unsuppressed errors, else
    // 0.
    int exit_code() const;
};

// Checks migrations (up and down scripts) in order; objects created earlier in the same
// migration are exempt from lock rules. Never throws for hazards: they are findings.
Report check_migrations(const std::vector<const Migration*>& migrations, const Options& options);

// Returns the classes in their documented order (expand, contract, unsafe-lock,
// data-loss-on-down, unknown), unknown names last.
std::vector<std::string> ordered_classes(const std::set<std::string>& classes);

}  // namespace rollsafe::check
