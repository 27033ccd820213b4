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

// One hazard found in one statement.
struct Finding {
    std::string rule_id;     // stable id, e.g. "drop-column"; docs/rules/<id>.md
    Severity severity = Severity::warning;
    std::string migration;   // Migration::id(), e.g. "0042_drop_phone"
    std::string file;        // script path
    int line = 0;            // 1-based, in the file
    int col = 0;
    std::string direction;   // "up" or "down"
    std::string message;     // what was found, naming the objects
    std::string why;         // why it is a hazard (lock taken, who breaks)
    std::string fix;         // the safe recipe (expand/contract steps)
    std::vector<std::string> breaks;  // "old-app", "new-app", "lock", "data", "loss"
    bool suppressed = false;          // an allow directive with a reason covers it
    std::string suppression_reason;
};

// What a migration is, for deploy decisions; stored in history by `up`.
struct MigrationVerdict {
    std::string migration;             // Migration::id()
    std::string version;               // Version::text()
    std::set<std::string> classes;     // "expand", "contract", "unsafe-lock", "data-loss-on-down", "unknown"
    std::vector<Finding> findings;     // up and down findings, suppressed ones included
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
};

struct Report {
    std::vector<MigrationVerdict> migrations;
    std::vector<Diagnostic> parse_errors;  // unparsable input (exit 2)
    int errors() const;      // unsuppressed error-level findings
    int warnings() const;    // unsuppressed warning-level findings
    int suppressed() const;
};

// Checks migrations (up and down scripts) in order; objects created earlier in the same
// migration are exempt from lock rules. Never throws for hazards: they are findings.
Report check_migrations(const std::vector<const Migration*>& migrations, const Options& options);

}  // namespace rollsafe::check
