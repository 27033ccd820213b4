#pragma once

// Statement analysis: walks one script's parse trees in order, keeping the context a rule needs
// (transaction state, lock_timeout in force, objects created in this scope, column types), and
// records hits. check.cpp turns hits into findings (catalogue facts, positions, suppressions).

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/check/check.h"
#include "core/check/pg_types.h"
#include "core/check/schema_model.h"
#include "core/check/sql_source.h"

namespace rollsafe::check::detail {

// PostgreSQL's table lock modes, weakest first.
enum class LockLevel {
    none,
    access_share,
    row_share,
    row_exclusive,
    share_update_exclusive,
    share,
    share_row_exclusive,
    exclusive,
    access_exclusive,
};

// Returns the SQL name of a lock mode, e.g. "ACCESS EXCLUSIVE".
const char* lock_name(LockLevel level);

// A rule that fired, before the catalogue and suppressions are applied.
struct Hit {
    std::string rule;
    std::string message;
    std::size_t offset = 0;            // byte offset in the script text where the caret goes
    int statement = -1;                // index of the statement; -1 for the script as a whole
    std::optional<Severity> severity;  // overrides the rule's default
    std::optional<std::vector<std::string>> classes;  // overrides the rule's classes
    std::optional<std::vector<std::string>> breaks;   // overrides the rule's breaks
    std::string lock;                                 // overrides the rule's lock text
};

// Analyzes scripts against a schema model that it keeps up to date.
class Analyzer {
  public:
    Analyzer(const Options& options, SchemaModel& model);

    // Analyzes one script (up or down) whose objects created in `scope` are new. Returns the hits
    // in statement order. With `learn_only`, only updates the model (applied migrations).
    std::vector<Hit> analyze(const Script& script, const SqlSource& sql, const LineIndex& lines,
                             int scope, bool down, bool learn_only = false);

  private:
    struct Renamed {
        std::string old_key;
        std::size_t hit;  // index in m_hits
    };

    const Options& m_options;
    SchemaModel* m_model;
    const SqlSource* m_sql = nullptr;
    const LineIndex* m_lines = nullptr;
    const Script* m_script = nullptr;
    const SqlStatement* m_stmt = nullptr;
    int m_index = 0;
    int m_scope = 0;
    bool m_down = false;
    bool m_learn_only = false;
    bool m_wrapped = true;     // rollsafe runs the script in one transaction
    bool m_unwrapped = false;  // a BEGIN ... COMMIT around the whole script, which rollsafe removes
    bool m_in_tx = true;       // a transaction block is open at this statement
    long long m_lock_timeout = 0;
    long long m_timeout_before_tx = 0;     // restored when an explicit transaction ends (SET LOCAL)
    std::string m_timeout_origin;          // what set lock_timeout to its current value
    std::set<std::string> m_tx_not_valid;  // "table|constraint" added NOT VALID in this transaction
    LockLevel m_effect =
        LockLevel::none;  // strongest lock this statement takes on an existing table
    std::string m_effect_table;
    std::vector<Hit> m_hits;
    std::vector<Renamed> m_renames;
    std::set<std::string> m_views_created;

    // --- statements (analyze_statements.cpp, analyze_alter_table.cpp) ---
    void statement(const SqlStatement& st);
    void alter_table(const tree::Node& n);
    void alter_table_cmd(const tree::Node& cmd, const std::string& table,
                         const std::string& display, bool existing);
    void add_column(const tree::Node& def, const tree::Node& cmd, const std::string& table,
                    const std::string& display, bool existing);
    void add_constraint(const tree::Node& con, const std::string& table, const std::string& display,
                        bool existing);
    void alter_column_type(const tree::Node& cmd, const std::string& table,
                           const std::string& display, bool existing);
    void create_table(const tree::Node& n);
    void create_index(const tree::Node& n);
    void drop(const tree::Node& n);
    void rename(const tree::Node& n);
    void alter_object_schema(const tree::Node& n);
    void alter_enum(const tree::Node& n);
    void alter_domain(const tree::Node& n);
    void create_domain(const tree::Node& n);
    void reindex(const tree::Node& n);
    void vacuum(const tree::Node& n);
    void cluster(const tree::Node& n);
    void truncate(const tree::Node& n);
    void create_trigger(const tree::Node& n);
    void update_or_delete(const tree::Node& n, const char* verb);
    void refresh_matview(const tree::Node& n);
    void variable_set(const tree::Node& n);
    void transaction(const tree::Node& n);
    void lock_table(const tree::Node& n);
    void create_function(const tree::Node& n);
    void not_in_transaction(const std::string& what);
    void robust(bool idempotent, const std::string& what);

    // --- helpers (analyzer.cpp) ---
    void hit(const std::string& rule, std::string message, std::size_t offset,
             std::optional<Severity> severity = {},
             std::optional<std::vector<std::string>> classes = {}, std::string lock = {});
    std::size_t where(const tree::Node& n) const;  // a node's location as a script offset
    bool relation_is_new(const std::string& key) const;
    bool column_is_new(const std::string& table, const std::string& column) const;
    bool object_is_new(const std::string& key) const;
    void take_lock(LockLevel level, const std::string& table);
    void check_type(const TypeRef& t, const std::string& column, std::size_t offset);
    void check_identifier(std::string_view name, const char* what, std::size_t offset);
    void finish_statement();
    void finish_script();
};

// Returns an identifier as SQL would need it written: plain, or in double quotes.
std::string ident(std::string_view name);
// Returns "schema.name" as written (without "public."), from a RangeVar node.
std::string display_name(const tree::Node& range_var);
// Returns the model key of a RangeVar node.
std::string range_key(const tree::Node& range_var);

}  // namespace rollsafe::check::detail
