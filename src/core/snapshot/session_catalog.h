#pragma once

#include "core/db/session.h"
#include "core/snapshot/touched.h"

namespace rollsafe::snapshot {

// The catalog of a live database, read through a session (pg_class, pg_constraint, pg_inherits,
// pg_depend, pg_proc, pg_trigger). Every method throws db::DbError.
class SessionCatalog : public Catalog {
  public:
    explicit SessionCatalog(db::Session& session) : m_session(session) {}

    std::optional<Relation> find_relation(const std::string& schema, const std::string& name,
                                          const std::vector<std::string>& search_path) override;
    std::optional<Relation> table_of_index(const Relation& index) override;
    std::vector<Relation> referencing_tables(const Relation& table) override;
    std::vector<Relation> child_tables(const Relation& table) override;
    std::vector<Relation> dependent_views(const Relation& relation) override;
    FunctionInfo function_info(const std::string& schema, const std::string& name) override;
    std::vector<std::string> side_effects(const Relation& table) override;

  private:
    std::vector<Relation> relations(const std::string& sql, const std::vector<db::Param>& params);

    db::Session& m_session;
};

// Returns true when a PL/pgSQL or SQL function body may change tables other than the row it is
// given (it holds INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY, CALL, PERFORM or EXECUTE
// outside comments and string literals).
bool body_may_write(const std::string& body);

}  // namespace rollsafe::snapshot
