#include "core/sqlite/check_rules.h"

namespace rollsafe::sqlite {

const std::vector<RuleMapping>& rule_mappings() {
    static const std::vector<RuleMapping> m = {
        {"drop-table", true, "the old app still reads the table"},
        {"drop-column", true, "the old app still selects the column (ALTER TABLE DROP COLUMN, SQLite 3.35+)"},
        {"drop-object", true, "a view or trigger the old app relies on disappears"},
        {"rename-table", true, "the old app uses the old name"},
        {"rename-column", true, "the old app uses the old name"},
        {"add-not-null-column-without-default", true,
         "old app INSERTs fail (SQLite refuses the ALTER itself on a non-empty table)"},
        {"change-column-type", true,
         "SQLite has no ALTER COLUMN TYPE: a table rebuild whose type change the old app may not "
         "expect"},
        {"unused-allow", true, "an allow directive that matches nothing"},
        {"unanalysable-statement", true, "a statement the rules cannot read"},
        {"set-not-null", false, "SQLite cannot add NOT NULL to an existing column (rebuild the table)"},
        {"create-index-non-concurrent", false,
         "SQLite has no CONCURRENTLY; a write transaction blocks other writers whatever it does"},
        {"missing-lock-timeout", false, "no lock_timeout; SQLite waits up to busy_timeout"},
        {"add-foreign-key-without-not-valid", false, "no NOT VALID in SQLite"},
        {"add-check-without-not-valid", false, "no NOT VALID in SQLite"},
        {"concurrent-in-transaction", false, "no CONCURRENTLY in SQLite"},
        {"prefer-bigint", false, "SQLite INTEGER is 64-bit"},
        {"prefer-identity", false, "SQLite has INTEGER PRIMARY KEY (rowid) instead"},
        {"prefer-timestamptz", false, "SQLite has no timestamp types"},
        {"prefer-text", false, "SQLite does not enforce varchar lengths"},
    };
    return m;
}

bool rule_applies(const std::string& id) {
    for (const auto& r : rule_mappings())
        if (r.id == id)
            return r.applies;
    return false;
}

}  // namespace rollsafe::sqlite
