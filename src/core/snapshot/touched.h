#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace rollsafe::snapshot {

// A relation as the catalog knows it. kind is pg_class.relkind: r table, p partitioned table,
// v view, m materialized view, S sequence, f foreign table, i/I index.
struct Relation {
    std::string schema;
    std::string name;
    char kind = 'r';
    long long oid = 0;

    // Returns "schema.name" with both parts quoted when needed.
    std::string qualified() const;
    friend bool operator==(const Relation& a, const Relation& b) {
        return a.schema == b.schema && a.name == b.name;
    }
    friend bool operator<(const Relation& a, const Relation& b) {
        return a.schema != b.schema ? a.schema < b.schema : a.name < b.name;
    }
};

// What the catalog knows about functions of one name.
struct FunctionInfo {
    bool builtin = false;        // a pg_catalog function of that name exists
    bool user_volatile = false;  // a VOLATILE function of that name outside pg_catalog exists
    bool user_stable = false;    // only STABLE/IMMUTABLE ones outside pg_catalog
};

// The catalog lookups the analysis needs: a real one reads pg_catalog through a session, unit
// tests use a fake. Every method answers for the database as it is before the batch runs.
class Catalog {
  public:
    virtual ~Catalog() = default;
    // Resolves a relation name; an empty schema searches search_path (empty: the session's
    // default). Returns nullopt when no such relation exists (yet).
    virtual std::optional<Relation> find_relation(const std::string& schema,
                                                  const std::string& name,
                                                  const std::vector<std::string>& search_path) = 0;
    // Returns the table an index belongs to, or nullopt.
    virtual std::optional<Relation> table_of_index(const Relation& index) = 0;
    // Returns the tables with a foreign key that references table.
    virtual std::vector<Relation> referencing_tables(const Relation& table) = 0;
    // Returns the partitions and inheritance children of table.
    virtual std::vector<Relation> child_tables(const Relation& table) = 0;
    // Returns the views and materialized views that depend on relation.
    virtual std::vector<Relation> dependent_views(const Relation& relation) = 0;
    // Returns what is known of functions named name (schema empty: any schema).
    virtual FunctionInfo function_info(const std::string& schema, const std::string& name) = 0;
    // Returns a description of each trigger or rule on table whose effects may reach other
    // tables ("trigger audit_orders runs public.audit()"); empty when none.
    virtual std::vector<std::string> side_effects(const Relation& table) = 0;
};

// One statement to analyze: its parse tree and where it comes from.
struct StatementInput {
    int step = 0;         // migrations in a batch run one after another; search_path resets
    std::string where;    // file:line:col for messages
    nlohmann::json node;  // {"AlterTableStmt": {...}}
};

// Why a relation is in the snapshot.
struct TouchedRelation {
    Relation relation;
    std::string
        why;  // "ALTER TABLE at migrations/0003_x.up.sql:2:1", "references public.orders by FK"
};

// The result of the analysis: either the relations to dump, or full with the reasons.
struct TouchedResult {
    bool full = false;
    std::vector<std::string> full_reasons;   // "migrations/0004_x.up.sql:3:1: DO block: ..."
    std::vector<TouchedRelation> relations;  // targets first, then their FK dependents
};

// Finds the relations the statements change (ALTER/DROP/TRUNCATE/RENAME targets, the targets of
// INSERT/UPDATE/DELETE/MERGE/COPY FROM, index, trigger, policy and constraint targets), plus the
// partitions of those and the tables that reference them by foreign key (transitively: deletes
// and TRUNCATE ... CASCADE follow those). Statements whose effects cannot be known (DO blocks,
// CALL, EXECUTE, calls of volatile user functions, writes through views, DML on tables whose
// triggers write elsewhere) make the result full, with one reason each. Throws what the catalog
// throws (db::DbError).
TouchedResult analyze_touched(const std::vector<StatementInput>& statements, Catalog& catalog);

}  // namespace rollsafe::snapshot
