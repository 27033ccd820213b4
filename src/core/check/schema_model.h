#pragma once

// What the checked migrations tell rollsafe about the schema: which tables, columns, indexes,
// types and functions exist, their column types, and which "scope" created each one. A scope
// is one migration (or one release range with --blue/--green): objects created in the current
// scope are new to the old app and have no traffic yet, so lock and contract rules skip them.

#include <map>
#include <optional>
#include <set>
#include <string>

#include "core/check/pg_types.h"

namespace rollsafe::check {

// A column rollsafe has seen created or altered.
struct ColumnInfo {
    std::optional<TypeRef> type;  // unknown when only referenced
    bool not_null = false;
    bool has_default = false;
    int scope = 0;  // scope that added it; 0 when it predates the checked migrations
};

// A table (or view, materialized view, sequence) rollsafe has seen.
struct RelationInfo {
    std::string kind = "table";  // table, view, matview, sequence, partitioned
    int scope = 0;
    std::map<std::string, ColumnInfo> columns;
    // Columns proven NOT NULL by a validated CHECK (col IS NOT NULL) constraint.
    std::set<std::string> not_null_checked;
    // CHECK (col IS NOT NULL) constraints added NOT VALID: constraint name -> column.
    std::map<std::string, std::string> pending_not_null_checks;
};

// The schema model. A model may sit on top of a base model (a down script is checked against
// the state after its up, without changing it): reads fall through, writes stay here.
class SchemaModel {
  public:
    SchemaModel() = default;
    explicit SchemaModel(const SchemaModel* base) : m_base(base) {}

    // Returns the relation, or nullptr when rollsafe has not seen it (or it was dropped).
    const RelationInfo* relation(const std::string& key) const;
    // Returns the relation for changes, creating an entry (scope 0) for one not seen before.
    RelationInfo& relation_for_update(const std::string& key);
    // Records a relation created (or replaced) here.
    void add_relation(const std::string& key, RelationInfo info);
    // Records that a relation is gone (hides the base model's entry).
    void drop_relation(const std::string& key);
    // Moves a relation (and what is known about it) to a new key.
    void rename_relation(const std::string& from, const std::string& to);

    // Indexes: name -> (table key, scope).
    struct IndexInfo {
        std::string table;
        int scope = 0;
    };
    // Returns the index, or nullptr when rollsafe has not seen it (or it was dropped).
    const IndexInfo* index(const std::string& key) const;
    // Records an index created here.
    void add_index(const std::string& key, IndexInfo info);
    // Records that an index is gone.
    void drop_index(const std::string& key);

    // Other named objects (types, domains, schemas, functions, sequences): "type:mood" -> scope.
    // Returns the scope that created the object, or nullopt when rollsafe has not seen it.
    std::optional<int> object_scope(const std::string& key) const;
    // Records an object created in `scope`.
    void add_object(const std::string& key, int scope);
    // Records that an object is gone.
    void drop_object(const std::string& key);

    // Volatility of functions created by the checked migrations.
    // Returns the volatility of every function created so far ('i', 's' or 'v').
    const FunctionVolatility& functions() const;
    // Records a created function's volatility.
    void set_function(const std::string& name, char volatility);

  private:
    const SchemaModel* m_base = nullptr;
    std::map<std::string, std::optional<RelationInfo>> m_relations;  // nullopt: dropped here
    std::map<std::string, std::optional<IndexInfo>> m_indexes;
    std::map<std::string, std::optional<int>> m_objects;
    FunctionVolatility m_functions;
    mutable FunctionVolatility m_merged_functions;
};

// Returns the model key of a relation: "name" for the public schema (or none), else "schema.name".
std::string relation_key(std::string_view schema, std::string_view name);

}  // namespace rollsafe::check
