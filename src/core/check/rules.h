#pragma once

// The rule catalogue: every rule check can report, with its stable id and the facts a reviewer
// needs (what it detects, who breaks, which lock PostgreSQL takes, why, and the safe recipe).
// docs/rules/<id>.md documents each one; a unit test keeps the two in step.

#include <string>
#include <vector>

#include "core/check/check.h"

namespace rollsafe::check {

// One rule of the catalogue.
struct RuleInfo {
    std::string id;        // stable, kebab-case: "drop-column"
    std::string title;     // one line, e.g. "Dropping a column the old app uses"
    std::string category;  // blue-green, lock, transaction, analysis, hygiene
    Severity severity = Severity::error;
    std::vector<std::string> breaks;   // old-app, new-app, lock, data, loss
    std::vector<std::string> classes;  // classes a finding gives its migration (up script)
    std::string lock;                  // the lock PostgreSQL takes, "" when none matters
    std::string detects;               // what the rule looks for
    std::string why;                   // why it is a hazard
    std::string fix;                   // the safe recipe (expand/contract steps)
    std::vector<std::string> squawk;   // squawk rules it covers, for the parity table
};

// Returns every rule, sorted by id.
const std::vector<RuleInfo>& rules();

// Returns the rule with this id, or nullptr.
const RuleInfo* find_rule(const std::string& id);

// Returns the rule's documentation path relative to the repository, "docs/rules/<id>.md".
std::string rule_doc_path(const std::string& id);

}  // namespace rollsafe::check
