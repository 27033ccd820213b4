#include "core/snapshot/touched.h"

#include <functional>
#include <map>
#include <set>

#include "core/base/text.h"

namespace rollsafe::snapshot {

std::string Relation::qualified() const {
    auto part = [](const std::string& s) {
        bool plain = !s.empty() && (std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_');
        for (char c : s)
            if (!(std::islower(static_cast<unsigned char>(c)) ||
                  std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
                plain = false;
        return plain ? s : text::quote_ident(s);
    };
    return part(schema) + "." + part(name);
}

namespace {

using json = nlohmann::json;

// Returns the body of a node that may or may not be wrapped in its type name.
const json& unwrap(const json& node, const char* type) {
    if (node.is_object() && node.contains(type))
        return node[type];
    return node;
}

std::pair<std::string, std::string> range_var(const json& node) {
    const json& rv = unwrap(node, "RangeVar");
    return {rv.value("schemaname", ""), rv.value("relname", "")};
}

std::vector<std::string> name_list(const json& list) {
    std::vector<std::string> out;
    const json& items = list.is_object() && list.contains("List") ? list["List"]["items"] : list;
    if (!items.is_array())
        return out;
    for (const auto& item : items)
        if (item.contains("String"))
            out.push_back(item["String"].value("sval", ""));
    return out;
}

// Calls fn for every object node in the tree (depth first), with the node's type name.
void walk(const json& node, const std::function<void(const std::string&, const json&)>& fn) {
    if (node.is_object()) {
        for (auto it = node.begin(); it != node.end(); ++it) {
            if (it.value().is_object() && !it.key().empty() &&
                std::isupper(static_cast<unsigned char>(it.key()[0])))
                fn(it.key(), it.value());
            walk(it.value(), fn);
        }
    } else if (node.is_array()) {
        for (const auto& item : node)
            walk(item, fn);
    }
}

const std::set<std::string> kRelationObjects = {"OBJECT_TABLE",         "OBJECT_VIEW",
                                                "OBJECT_MATVIEW",       "OBJECT_SEQUENCE",
                                                "OBJECT_FOREIGN_TABLE", "OBJECT_INDEX"};
const std::set<std::string> kTableSubObjects = {"OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE"};
const std::set<std::string> kRenameOfRelation = {
    "OBJECT_TABLE",    "OBJECT_COLUMN", "OBJECT_TABCONSTRAINT", "OBJECT_INDEX",
    "OBJECT_SEQUENCE", "OBJECT_VIEW",   "OBJECT_MATVIEW",       "OBJECT_TRIGGER",
    "OBJECT_POLICY",   "OBJECT_RULE",   "OBJECT_FOREIGN_TABLE"};
// Statements that evaluate expressions now (so a function they call runs now).
const std::set<std::string> kExecuting = {"SelectStmt",  "InsertStmt", "UpdateStmt",
                                          "DeleteStmt",  "MergeStmt",  "CreateTableAsStmt",
                                          "ExplainStmt", "CopyStmt"};

class Analyzer {
  public:
    explicit Analyzer(Catalog& catalog) : m_catalog(catalog) {}

    void statement(const StatementInput& in) {
        if (in.step != m_step) {
            m_step = in.step;
            m_search_path.clear();  // every migration starts from RESET ALL
        }
        if (!in.node.is_object() || in.node.empty())
            return;
        const std::string kind = in.node.begin().key();
        const json& n = in.node.begin().value();
        m_where = in.where;
        if (kind == "DoStmt")
            return full("DO block: the statements inside it cannot be known");
        if (kind == "CallStmt")
            return full("CALL runs a procedure: what it changes cannot be known");
        if (kind == "ExecuteStmt")
            return full("EXECUTE of a prepared statement: its target cannot be known");
        if (kind == "DropOwnedStmt" || kind == "ReassignOwnedStmt")
            return full("DROP/REASSIGN OWNED: the objects it reaches cannot be listed");
        if (kind == "AlterTableMoveAllStmt")
            return full("ALTER TABLE ALL IN TABLESPACE: every table is moved");
        if (kind == "VariableSetStmt")
            return set_variable(n);

        if (kind == "AlterTableStmt")
            alter_table(n);
        else if (kind == "DropStmt")
            drop(n);
        else if (kind == "TruncateStmt") {
            for (const auto& r : n.value("relations", json::array()))
                dml_target(r, "TRUNCATE");
        } else if (kind == "RenameStmt")
            rename(n);
        else if (kind == "AlterObjectSchemaStmt") {
            if (kRelationObjects.count(n.value("objectType", "")) && n.contains("relation"))
                target(n["relation"], "ALTER ... SET SCHEMA");
        } else if (kind == "IndexStmt")
            target(n["relation"], "CREATE INDEX");
        else if (kind == "CreateTrigStmt")
            target(n["relation"], "CREATE TRIGGER");
        else if (kind == "CreatePolicyStmt" || kind == "AlterPolicyStmt")
            target(n["table"], "policy");
        else if (kind == "RuleStmt")
            target(n["relation"], "CREATE RULE");
        else if (kind == "CreateStatsStmt") {
            for (const auto& r : n.value("relations", json::array()))
                target(r, "CREATE STATISTICS");
        } else if (kind == "RefreshMatViewStmt")
            target(n["relation"], "REFRESH MATERIALIZED VIEW");
        else if (kind == "AlterSeqStmt")
            target(n["sequence"], "ALTER SEQUENCE");
        else if (kind == "CopyStmt") {
            if (n.value("is_from", false) && n.contains("relation"))
                dml_target(n["relation"], "COPY FROM");
        } else if (kind == "CreateStmt") {
            for (const auto& r : n.value("inhRelations", json::array()))
                target(r, n.contains("partbound") ? "CREATE TABLE ... PARTITION OF"
                                                  : "CREATE TABLE ... INHERITS");
        }

        // Data-modifying statements anywhere in the tree (CTEs, EXPLAIN ANALYZE, INSERT ...
        // SELECT); rule actions and SQL-standard function bodies are definitions, not run now.
        if (kind != "RuleStmt" && kind != "CreateFunctionStmt") {
            walk(in.node, [&](const std::string& type, const json& body) {
                static const std::map<std::string, const char*> dml = {{"InsertStmt", "INSERT"},
                                                                       {"UpdateStmt", "UPDATE"},
                                                                       {"DeleteStmt", "DELETE"},
                                                                       {"MergeStmt", "MERGE"}};
                auto it = dml.find(type);
                if (it != dml.end() && body.contains("relation"))
                    dml_target(body["relation"], it->second);
            });
        }
        if (kExecuting.count(kind))
            functions_in(in.node);
    }

    TouchedResult finish() {
        if (m_result.full) {
            m_result.relations.clear();
            return m_result;
        }
        // Partitions and inheritance children, then tables referencing any of them, transitively.
        std::vector<TouchedRelation> queue = m_result.relations;
        for (std::size_t i = 0; i < queue.size(); ++i) {
            const Relation rel = queue[i].relation;
            if (rel.kind != 'r' && rel.kind != 'p' && rel.kind != 'f')
                continue;
            for (const auto& child : m_catalog.child_tables(rel))
                if (add(child, "partition or child of " + rel.qualified()))
                    queue.push_back(m_result.relations.back());
            for (const auto& ref : m_catalog.referencing_tables(rel))
                if (add(ref, "references " + rel.qualified() + " by foreign key"))
                    queue.push_back(m_result.relations.back());
        }
        return m_result;
    }

  private:
    void full(const std::string& reason) {
        m_result.full = true;
        m_result.full_reasons.push_back((m_where.empty() ? "" : m_where + ": ") + reason);
    }

    bool add(const Relation& rel, const std::string& why) {
        if (!m_seen.insert(rel).second)
            return false;
        m_result.relations.push_back({rel, why});
        return true;
    }

    std::string at() const { return m_where.empty() ? "" : " at " + m_where; }

    std::optional<Relation> resolve(const std::string& schema, const std::string& name) {
        if (name.empty())
            return std::nullopt;
        auto rel = m_catalog.find_relation(schema, name, m_search_path);
        if (rel && (rel->kind == 'i' || rel->kind == 'I'))
            rel = m_catalog.table_of_index(*rel);
        return rel;
    }

    void target_name(const std::string& schema, const std::string& name, const std::string& what) {
        auto rel = resolve(schema, name);
        if (!rel)
            return;  // created later in the batch, or a typo the migration will report
        add(*rel, what + at());
    }

    void target(const json& rv, const std::string& what) {
        auto [schema, name] = range_var(rv);
        target_name(schema, name, what);
    }

    void dml_target(const json& rv, const std::string& what) {
        auto [schema, name] = range_var(rv);
        auto rel = resolve(schema, name);
        if (!rel)
            return;
        if (rel->kind == 'v' || rel->kind == 'm') {
            full(what + " through view " + rel->qualified() +
                 ": the tables behind it cannot be known");
            return;
        }
        for (const auto& effect : m_catalog.side_effects(*rel))
            full(what + " on " + rel->qualified() + " fires " + effect +
                 ", which may change other tables");
        add(*rel, what + at());
    }

    // Returns the [schema, name] of a dotted name list (a leading database name is ignored).
    static std::pair<std::string, std::string> qualified_name(
        const std::vector<std::string>& parts) {
        if (parts.empty())
            return {"", ""};
        if (parts.size() == 1)
            return {"", parts[0]};
        return {parts[parts.size() - 2], parts.back()};
    }

    void alter_table(const json& n) {
        std::string objtype = n.value("objtype", "OBJECT_TABLE");
        std::string what = objtype == "OBJECT_INDEX"      ? "ALTER INDEX"
                           : objtype == "OBJECT_VIEW"     ? "ALTER VIEW"
                           : objtype == "OBJECT_SEQUENCE" ? "ALTER SEQUENCE"
                           : objtype == "OBJECT_MATVIEW"  ? "ALTER MATERIALIZED VIEW"
                                                          : "ALTER TABLE";
        if (n.contains("relation"))
            target(n["relation"], what);
        for (const auto& c : n.value("cmds", json::array())) {
            const json& cmd = unwrap(c, "AlterTableCmd");
            std::string sub = cmd.value("subtype", "");
            if ((sub == "AT_AttachPartition" || sub == "AT_DetachPartition") &&
                cmd.contains("def") && cmd["def"].contains("PartitionCmd"))
                target(cmd["def"]["PartitionCmd"]["name"],
                       sub == "AT_AttachPartition" ? "ATTACH PARTITION" : "DETACH PARTITION");
            // A new column's default and a type change's USING run for every existing row.
            if ((sub == "AT_AddColumn" || sub == "AT_AlterColumnType") && cmd.contains("def"))
                functions_in(cmd["def"]);
        }
    }

    void drop(const json& n) {
        std::string type = n.value("removeType", "");
        bool cascade = n.value("behavior", "") == "DROP_CASCADE";
        for (const auto& obj : n.value("objects", json::array())) {
            auto parts = name_list(obj);
            if (kRelationObjects.count(type)) {
                auto [schema, name] = qualified_name(parts);
                auto rel = resolve(schema, name);
                if (!rel)
                    continue;
                add(*rel, "DROP" + at());
                if (cascade)
                    for (const auto& v : m_catalog.dependent_views(*rel))
                        add(v, "depends on " + rel->qualified() + ", dropped with CASCADE" + at());
            } else if (kTableSubObjects.count(type) && parts.size() >= 2) {
                parts.pop_back();
                auto [schema, name] = qualified_name(parts);
                target_name(schema, name, "DROP TRIGGER/POLICY/RULE");
            } else if (cascade && type == "OBJECT_SCHEMA") {
                full("DROP SCHEMA ... CASCADE drops every table in it");
            } else if (cascade) {
                full("DROP ... CASCADE of a " + text::to_lower(type.substr(7)) +
                     " can drop columns and tables that cannot be listed from the script");
            }
        }
    }

    void rename(const json& n) {
        std::string type = n.value("renameType", "");
        if (type == "OBJECT_SCHEMA")
            return full("ALTER SCHEMA ... RENAME renames every table in it");
        if (kRenameOfRelation.count(type) && n.contains("relation"))
            target(n["relation"], "RENAME");
    }

    void set_variable(const json& n) {
        if (text::to_lower(n.value("name", "")) != "search_path")
            return;
        std::string kind = n.value("kind", "");
        m_search_path.clear();
        if (kind != "VAR_SET_VALUE")
            return;
        for (const auto& a : n.value("args", json::array())) {
            const json& c = unwrap(a, "A_Const");
            if (c.contains("sval"))
                m_search_path.push_back(c["sval"].value("sval", ""));
        }
    }

    void functions_in(const json& tree) {
        walk(tree, [&](const std::string& type, const json& body) {
            if (type != "FuncCall")
                return;
            auto [schema, name] = qualified_name(name_list(body.value("funcname", json::array())));
            if (schema == "pg_catalog" || name.empty())
                return;
            auto key = schema + "." + name;
            if (!m_functions_checked.insert(key).second)
                return;
            auto info = m_catalog.function_info(schema, name);
            std::string shown = (schema.empty() ? "" : schema + ".") + name + "()";
            if (info.user_volatile)
                full("calls " + shown + ", a volatile function: what it changes cannot be known");
            else if (!info.builtin && !info.user_stable)
                full("calls " + shown +
                     ", which does not exist before the batch: what it changes cannot be known");
        });
    }

    Catalog& m_catalog;
    TouchedResult m_result;
    std::set<Relation> m_seen;
    std::set<std::string> m_functions_checked;
    std::vector<std::string> m_search_path;
    std::string m_where;
    int m_step = -1;
};

}  // namespace

TouchedResult analyze_touched(const std::vector<StatementInput>& statements, Catalog& catalog) {
    Analyzer a(catalog);
    for (const auto& s : statements)
        a.statement(s);
    return a.finish();
}

}  // namespace rollsafe::snapshot
