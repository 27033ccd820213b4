#pragma once

#include <string>
#include <vector>

namespace rollsafe::sqlite {

// How one rule of `rollsafe check` (PostgreSQL's catalogue, core/check/rules.h) maps to SQLite.
struct RuleMapping {
    std::string id;
    bool applies = false;
    std::string why;  // why it applies, or why not
};

// The mapping for every rule that has a reason to mention; rules not listed do not apply (they
// are about PostgreSQL locks, its transaction rules or its types). docs/sqlite.md shows the
// same table.
const std::vector<RuleMapping>& rule_mappings();

// True when a rule id applies to SQLite migrations.
bool rule_applies(const std::string& id);

}  // namespace rollsafe::sqlite
