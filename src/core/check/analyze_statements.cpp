// Statement handlers other than ALTER TABLE (analyze_alter_table.cpp).
#include <cstdlib>

#include "core/base/text.h"
#include "core/check/analyzer.h"

namespace rollsafe::check::detail {
namespace {

std::string lower(std::string_view s) {
    return text::to_lower(s);
}

// "sales.mood" -> "type:sales.mood", "public.mood" -> "type:mood".
std::string object_key(const char* kind, std::string name) {
    if (text::starts_with(name, "public."))
        name = name.substr(7);
    return std::string(kind) + ":" + name;
}

// The name list of a DropStmt object: {"List": {"items": [...]}}, {"String": ...}, a TypeName or
// ObjectWithArgs.
std::string dotted_object_name(const tree::Node& obj) {
    if (!obj["List"].is_null())
        return tree::dotted_name(obj["List"]["items"]);
    if (!obj["String"].is_null())
        return std::string(obj["String"]["sval"].str());
    if (!obj["TypeName"].is_null())
        return tree::dotted_name(obj["TypeName"]["names"]);
    if (!obj["ObjectWithArgs"].is_null())
        return tree::dotted_name(obj["ObjectWithArgs"]["objname"]);
    return {};
}

// Splits "a.b" into a relation key ("b" for public).
std::string key_of_dotted(const std::string& dotted) {
    auto dot = dotted.rfind('.');
    if (dot == std::string::npos)
        return dotted;
    return relation_key(dotted.substr(0, dot), dotted.substr(dot + 1));
}

// Parses a lock_timeout value as PostgreSQL does: a number of milliseconds, or a number with a
// unit (ms, s, min, h, d). Returns -1 when it cannot tell.
long long timeout_ms(const tree::Node& value) {
    const auto& c = value["A_Const"];
    if (!c["ival"].is_null())
        return c["ival"]["ival"].integer();
    std::string s = lower(text::trim(c["sval"]["sval"].str()));
    if (s.empty() && !c["fval"].is_null())
        s = std::string(c["fval"]["fval"].str());
    if (s.empty())
        return -1;
    char* end = nullptr;
    double n = std::strtod(s.c_str(), &end);
    std::string unit = std::string(text::trim(end ? std::string_view(end) : std::string_view()));
    double factor = unit.empty() || unit == "ms" ? 1
                    : unit == "s"                ? 1000
                    : unit == "min"              ? 60000
                    : unit == "h"                ? 3600000
                    : unit == "d"                ? 86400000
                                                 : -1;
    if (factor < 0)
        return -1;
    return static_cast<long long>(n * factor);
}

bool is_true_constant(const tree::Node& n) {
    const auto& c = n["A_Const"];
    return !c.is_null() && !c["boolval"].is_null() && c["boolval"]["boolval"].boolean();
}

}  // namespace

void Analyzer::statement(const SqlStatement& st) {
    const auto& n = *st.node;
    const auto& k = st.kind;
    if (k == "AlterTableStmt") {
        alter_table(n);
    } else if (k == "CreateStmt") {
        create_table(n);
    } else if (k == "IndexStmt") {
        create_index(n);
    } else if (k == "DropStmt") {
        drop(n);
    } else if (k == "RenameStmt") {
        rename(n);
    } else if (k == "AlterObjectSchemaStmt") {
        alter_object_schema(n);
    } else if (k == "AlterEnumStmt") {
        alter_enum(n);
    } else if (k == "AlterDomainStmt") {
        alter_domain(n);
    } else if (k == "CreateDomainStmt") {
        create_domain(n);
    } else if (k == "ReindexStmt") {
        reindex(n);
    } else if (k == "VacuumStmt") {
        vacuum(n);
    } else if (k == "ClusterStmt") {
        cluster(n);
    } else if (k == "TruncateStmt") {
        truncate(n);
    } else if (k == "CreateTrigStmt") {
        create_trigger(n);
    } else if (k == "UpdateStmt") {
        update_or_delete(n, "UPDATE");
    } else if (k == "DeleteStmt") {
        update_or_delete(n, "DELETE");
    } else if (k == "RefreshMatViewStmt") {
        refresh_matview(n);
    } else if (k == "VariableSetStmt") {
        variable_set(n);
    } else if (k == "TransactionStmt") {
        transaction(n);
    } else if (k == "LockStmt") {
        lock_table(n);
    } else if (k == "CreateFunctionStmt") {
        create_function(n);
    } else if (k == "DoStmt") {
        hit("unanalysable-statement",
            "DO block: rollsafe cannot see what its code (and any dynamic SQL in it) does",
            st.offset);
    } else if (k == "CallStmt") {
        hit("unanalysable-statement",
            "CALL " + tree::dotted_name(n["funccall"]["funcname"]) +
                "(): rollsafe cannot see what the procedure does",
            st.offset);
    } else if (k == "ExecuteStmt") {
        hit("unanalysable-statement",
            "EXECUTE " + std::string(n["name"].str()) +
                ": rollsafe does not analyse prepared statements",
            st.offset);
    } else if (k == "DropdbStmt") {
        hit("drop-database",
            "DROP DATABASE " + std::string(n["dbname"].str()) + " destroys everything in it",
            st.offset);
        not_in_transaction("DROP DATABASE");
    } else if (k == "CreatedbStmt") {
        not_in_transaction("CREATE DATABASE");
    } else if (k == "AlterSystemStmt") {
        not_in_transaction("ALTER SYSTEM");
    } else if (k == "CreateTableSpaceStmt") {
        not_in_transaction("CREATE TABLESPACE");
    } else if (k == "DropTableSpaceStmt") {
        not_in_transaction("DROP TABLESPACE");
    } else if (k == "ViewStmt") {
        const auto& rv = n["view"];
        auto key = range_key(rv);
        check_identifier(rv["relname"].str(), "view", where(rv));
        RelationInfo info;
        info.kind = "view";
        info.scope = m_scope;
        // CREATE OR REPLACE of an existing view keeps it an existing view.
        if (!(n["replace"].boolean() && m_model->relation(key)))
            m_model->add_relation(key, info);
        m_views_created.insert(key);
        robust(n["replace"].boolean(), "CREATE VIEW " + display_name(rv));
    } else if (k == "CreateTableAsStmt") {
        const auto& rv = n["into"]["rel"];
        check_identifier(rv["relname"].str(), "table", where(rv));
        RelationInfo info;
        info.kind = n["objtype"].str() == "OBJECT_MATVIEW" ? "matview" : "table";
        info.scope = m_scope;
        m_model->add_relation(range_key(rv), info);
        robust(n["if_not_exists"].boolean(),
               "CREATE " + std::string(info.kind == "matview" ? "MATERIALIZED VIEW " : "TABLE ") +
                   display_name(rv));
    } else if (k == "CreateSeqStmt") {
        const auto& rv = n["sequence"];
        check_identifier(rv["relname"].str(), "sequence", where(rv));
        RelationInfo info;
        info.kind = "sequence";
        info.scope = m_scope;
        m_model->add_relation(range_key(rv), info);
        robust(n["if_not_exists"].boolean(), "CREATE SEQUENCE " + display_name(rv));
    } else if (k == "CreateEnumStmt") {
        auto name = tree::dotted_name(n["typeName"]);
        check_identifier(tree::last_name(n["typeName"]), "type", st.offset);
        m_model->add_object(object_key("type", name), m_scope);
    } else if (k == "CompositeTypeStmt") {
        const auto& rv = n["typevar"];
        check_identifier(rv["relname"].str(), "type", where(rv));
        m_model->add_object(object_key("type", display_name(rv)), m_scope);
    } else if (k == "CreateSchemaStmt") {
        std::string name(n["schemaname"].str());
        check_identifier(name, "schema", st.offset);
        if (!(n["if_not_exists"].boolean() && m_model->object_scope("schema:" + name)))
            m_model->add_object("schema:" + name, m_scope);
        robust(n["if_not_exists"].boolean(), "CREATE SCHEMA " + name);
    } else if (k == "CreateExtensionStmt") {
        robust(n["if_not_exists"].boolean(), "CREATE EXTENSION " + std::string(n["extname"].str()));
        m_model->add_object("extension:" + std::string(n["extname"].str()), m_scope);
    }
}

void Analyzer::create_table(const tree::Node& n) {
    const auto& rv = n["relation"];
    auto key = range_key(rv);
    auto display = display_name(rv);
    check_identifier(rv["relname"].str(), "table", where(rv));
    RelationInfo info;
    info.kind = n["partspec"].is_null() ? "table" : "partitioned";
    info.scope = m_scope;
    for (const auto& elt : n["tableElts"]) {
        const auto& col = elt["ColumnDef"];
        if (!col.is_null()) {
            std::string name(col["colname"].str());
            check_identifier(name, "column", where(col));
            ColumnInfo ci;
            ci.scope = m_scope;
            TypeRef t = type_from_node(col["typeName"]);
            check_type(t, display + "." + ident(name), where(col["typeName"]));
            if (!t.name.empty())
                ci.type = t;
            ci.has_default = t.serial;
            for (const auto& c : col["constraints"]) {
                const auto& con = c["Constraint"];
                auto type = con["contype"].str();
                if (type == "CONSTR_NOTNULL" || type == "CONSTR_PRIMARY")
                    ci.not_null = true;
                if (type == "CONSTR_DEFAULT" || type == "CONSTR_IDENTITY" ||
                    type == "CONSTR_GENERATED")
                    ci.has_default = true;
                if (type == "CONSTR_FOREIGN")
                    take_lock(LockLevel::share_row_exclusive, range_key(con["pktable"]));
                if (!con["conname"].str().empty())
                    check_identifier(con["conname"].str(), "constraint", where(con));
            }
            info.columns[name] = ci;
            continue;
        }
        const auto& con = elt["Constraint"];
        if (!con.is_null()) {
            if (!con["conname"].str().empty())
                check_identifier(con["conname"].str(), "constraint", where(con));
            if (con["contype"].str() == "CONSTR_FOREIGN")
                take_lock(LockLevel::share_row_exclusive, range_key(con["pktable"]));
        }
    }
    // PARTITION OF and INHERITS change the parent's catalog entries under a strong lock.
    for (const auto& parent : n["inhRelations"])
        take_lock(LockLevel::access_exclusive, range_key(parent["RangeVar"]));
    bool exists = m_model->relation(key) != nullptr;
    if (!(n["if_not_exists"].boolean() && exists))
        m_model->add_relation(key, std::move(info));
    robust(n["if_not_exists"].boolean(), "CREATE TABLE " + display);
}

void Analyzer::create_index(const tree::Node& n) {
    const auto& rv = n["relation"];
    auto table = range_key(rv);
    std::string idx(n["idxname"].str());
    std::string what =
        std::string(n["unique"].boolean() ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") +
        (n["concurrent"].boolean() ? "CONCURRENTLY " : "") +
        (idx.empty() ? std::string() : idx + " ") + "ON " + display_name(rv);
    if (!idx.empty()) {
        check_identifier(idx, "index", m_stmt->offset);
        m_model->add_index(relation_key(rv["schemaname"].str(), idx), {table, m_scope});
    }
    if (n["concurrent"].boolean()) {
        take_lock(LockLevel::share_update_exclusive, table);
        if (m_in_tx)
            hit("concurrent-in-transaction",
                what + " cannot run inside a transaction block" +
                    (m_wrapped ? std::string(": rollsafe runs this migration in one; mark it -- "
                                             "rollsafe:no-transaction")
                               : std::string(" (this one is inside BEGIN ... COMMIT)")),
                m_stmt->offset);
        return;  // IF NOT EXISTS would keep an INVALID index from a failed build: not "robust"
    }
    take_lock(LockLevel::share, table);
    if (!relation_is_new(table))
        hit("create-index-non-concurrent",
            what + " blocks every write to " + display_name(rv) + " for the whole build",
            m_stmt->offset);
    robust(n["if_not_exists"].boolean(), what);
}

void Analyzer::drop(const tree::Node& n) {
    auto type = n["removeType"].str();
    bool missing_ok = n["missing_ok"].boolean();
    bool cascade = n["behavior"].str() == "DROP_CASCADE";
    bool concurrent = n["concurrent"].boolean();
    std::string verb;
    for (const auto& obj : n["objects"]) {
        std::string name = dotted_object_name(obj);
        if (name.empty())
            continue;
        if (type == "OBJECT_TABLE" || type == "OBJECT_FOREIGN_TABLE") {
            verb = "DROP TABLE";
            auto key = key_of_dotted(name);
            take_lock(LockLevel::access_exclusive, key);
            if (!relation_is_new(key)) {
                if (m_down)
                    hit("drop-table",
                        "rolling back drops table " + name +
                            ": the rows written since the up ran are lost",
                        m_stmt->offset);
                else
                    hit("drop-table",
                        "DROP TABLE " + name +
                            ": the old app may still read and write it, and its rows are lost",
                        m_stmt->offset);
            }
            m_model->drop_relation(key);
        } else if (type == "OBJECT_INDEX") {
            verb = "DROP INDEX";
            auto key = key_of_dotted(name);
            const auto* info = m_model->index(key);
            std::string table = info ? info->table : std::string();
            bool fresh = info && (info->scope == m_scope || relation_is_new(info->table));
            if (concurrent) {
                take_lock(LockLevel::share_update_exclusive, table);
                if (m_in_tx)
                    hit("concurrent-in-transaction",
                        "DROP INDEX CONCURRENTLY " + name +
                            " cannot run inside a transaction block" +
                            (m_wrapped ? std::string(": rollsafe runs this migration in one; mark "
                                                     "it -- rollsafe:no-transaction")
                                       : std::string(" (this one is inside BEGIN ... COMMIT)")),
                        m_stmt->offset);
            } else {
                take_lock(LockLevel::access_exclusive, table.empty() ? key : table);
                if (!fresh)
                    hit("drop-index-non-concurrent",
                        "DROP INDEX " + name + " takes ACCESS EXCLUSIVE on its table" +
                            (table.empty() ? std::string() : " (" + table + ")") +
                            ", blocking reads and writes",
                        m_stmt->offset);
            }
            m_model->drop_index(key);
        } else if (type == "OBJECT_SCHEMA") {
            verb = "DROP SCHEMA";
            if (!object_is_new("schema:" + name))
                hit("drop-schema",
                    (m_down ? "rolling back drops schema " : "DROP SCHEMA ") + name +
                        (cascade ? " CASCADE: every object in it, and their data, goes with it"
                                 : ": the old app may still use what is in it"),
                    m_stmt->offset);
            m_model->drop_object("schema:" + name);
        } else if (type == "OBJECT_VIEW" || type == "OBJECT_MATVIEW" || type == "OBJECT_SEQUENCE") {
            std::string kind = type == "OBJECT_VIEW"      ? "VIEW"
                               : type == "OBJECT_MATVIEW" ? "MATERIALIZED VIEW"
                                                          : "SEQUENCE";
            verb = "DROP " + kind;
            auto key = key_of_dotted(name);
            take_lock(LockLevel::access_exclusive, key);
            if (!relation_is_new(key))
                hit("drop-object", "DROP " + kind + " " + name + ": the old app may still use it",
                    m_stmt->offset);
            m_model->drop_relation(key);
        } else if (type == "OBJECT_FUNCTION" || type == "OBJECT_PROCEDURE" ||
                   type == "OBJECT_TYPE" || type == "OBJECT_DOMAIN" || type == "OBJECT_EXTENSION") {
            const char* kind = type == "OBJECT_FUNCTION"    ? "function"
                               : type == "OBJECT_PROCEDURE" ? "procedure"
                               : type == "OBJECT_EXTENSION" ? "extension"
                                                            : "type";
            verb = "DROP " + text::to_upper(kind);
            auto key = object_key(std::string(kind) == "procedure" ? "function" : kind, name);
            if (!object_is_new(key))
                hit("drop-object", verb + " " + name + ": the old app may still use it",
                    m_stmt->offset);
            m_model->drop_object(key);
        }
    }
    if (!verb.empty())
        robust(missing_ok, verb);
}

void Analyzer::rename(const tree::Node& n) {
    auto type = n["renameType"].str();
    std::string newname(n["newname"].str());
    const auto& rv = n["relation"];
    check_identifier(newname, "new", m_stmt->offset);
    if (type == "OBJECT_TABLE" || type == "OBJECT_VIEW" || type == "OBJECT_MATVIEW" ||
        type == "OBJECT_FOREIGN_TABLE") {
        auto key = range_key(rv);
        auto newkey = relation_key(rv["schemaname"].str(), newname);
        take_lock(LockLevel::access_exclusive, key);
        if (!relation_is_new(key)) {
            const char* kind = type == "OBJECT_VIEW"      ? "VIEW "
                               : type == "OBJECT_MATVIEW" ? "MATERIALIZED VIEW "
                                                          : "TABLE ";
            hit("rename-table",
                std::string("RENAME ") + kind + display_name(rv) + " TO " + newname +
                    ": the old app still uses the old name",
                where(rv));
            m_renames.push_back({key, m_hits.size() - 1});
        }
        m_model->rename_relation(key, newkey);
    } else if (type == "OBJECT_COLUMN" || type == "OBJECT_ATTRIBUTE") {
        auto key = range_key(rv);
        std::string col(n["subname"].str());
        take_lock(LockLevel::access_exclusive, key);
        if (!column_is_new(key, col))
            hit("rename-column",
                "RENAME COLUMN " + display_name(rv) + "." + ident(col) + " TO " + newname +
                    ": the old app still uses the old name",
                where(rv));
        auto& r = m_model->relation_for_update(key);
        auto it = r.columns.find(col);
        if (it != r.columns.end()) {
            auto info = it->second;
            r.columns.erase(it);
            r.columns[newname] = info;
        }
    } else if (type == "OBJECT_INDEX") {
        auto key = range_key(rv);
        if (const auto* info = m_model->index(key)) {
            auto copy = *info;
            m_model->drop_index(key);
            m_model->add_index(relation_key(rv["schemaname"].str(), newname), copy);
        }
    } else if (type == "OBJECT_SCHEMA") {
        std::string old(n["subname"].str());
        if (!object_is_new("schema:" + old))
            hit("rename-object",
                "RENAME SCHEMA " + old + " TO " + newname + ": the old app still uses the old name",
                m_stmt->offset);
    } else if (type == "OBJECT_TYPE" || type == "OBJECT_DOMAIN" || type == "OBJECT_FUNCTION" ||
               type == "OBJECT_PROCEDURE") {
        std::string name = dotted_object_name(n["object"]);
        bool fn = type == "OBJECT_FUNCTION" || type == "OBJECT_PROCEDURE";
        auto key = object_key(fn ? "function" : "type", name);
        if (!object_is_new(key))
            hit("rename-object",
                std::string("RENAME ") + (fn ? "FUNCTION " : "TYPE ") + name + " TO " + newname +
                    ": the old app still uses the old name",
                m_stmt->offset);
        auto scope = m_model->object_scope(key);
        auto dot = name.rfind('.');
        m_model->drop_object(key);
        m_model->add_object(
            object_key(fn ? "function" : "type",
                       (dot == std::string::npos ? "" : name.substr(0, dot + 1)) + newname),
            scope ? *scope : 0);
    } else if (type == "OBJECT_SEQUENCE") {
        auto key = range_key(rv);
        if (!relation_is_new(key))
            hit("rename-object",
                "RENAME SEQUENCE " + display_name(rv) + " TO " + newname +
                    ": the old app still uses the old name",
                where(rv));
        m_model->rename_relation(key, relation_key(rv["schemaname"].str(), newname));
    }
    robust(n["missing_ok"].boolean(), "RENAME");
}

void Analyzer::alter_object_schema(const tree::Node& n) {
    auto type = n["objectType"].str();
    std::string newschema(n["newschema"].str());
    if (type == "OBJECT_TABLE" || type == "OBJECT_VIEW" || type == "OBJECT_MATVIEW" ||
        type == "OBJECT_FOREIGN_TABLE" || type == "OBJECT_SEQUENCE") {
        const auto& rv = n["relation"];
        auto key = range_key(rv);
        take_lock(LockLevel::access_exclusive, key);
        if (!relation_is_new(key)) {
            hit(type == "OBJECT_SEQUENCE" ? "rename-object" : "rename-table",
                "SET SCHEMA moves " + display_name(rv) + " to " + newschema +
                    ": the old app still uses the old name",
                where(rv));
            if (type != "OBJECT_SEQUENCE")
                m_renames.push_back({key, m_hits.size() - 1});
        }
        m_model->rename_relation(key, relation_key(newschema, rv["relname"].str()));
    } else if (type == "OBJECT_TYPE" || type == "OBJECT_DOMAIN" || type == "OBJECT_FUNCTION" ||
               type == "OBJECT_PROCEDURE") {
        std::string name = dotted_object_name(n["object"]);
        bool fn = type == "OBJECT_FUNCTION" || type == "OBJECT_PROCEDURE";
        if (!object_is_new(object_key(fn ? "function" : "type", name)))
            hit("rename-object",
                "SET SCHEMA moves " + name + " to " + newschema +
                    ": the old app still uses the old name",
                m_stmt->offset);
    }
}

void Analyzer::alter_enum(const tree::Node& n) {
    std::string name = tree::dotted_name(n["typeName"]);
    bool fresh = object_is_new(object_key("type", name));
    if (!n["oldVal"].str().empty()) {
        if (!fresh)
            hit("rename-enum-value",
                "RENAME VALUE '" + std::string(n["oldVal"].str()) + "' TO '" +
                    std::string(n["newVal"].str()) + "' of " + name +
                    ": the old app still writes and compares '" + std::string(n["oldVal"].str()) +
                    "'",
                m_stmt->offset);
        return;
    }
    if (m_options.pg_version < 12)
        not_in_transaction("ALTER TYPE ... ADD VALUE (before PostgreSQL 12)");
    if (!fresh)
        hit("add-enum-value",
            "ADD VALUE '" + std::string(n["newVal"].str()) + "' to " + name +
                ": the old app cannot read rows that carry the new value",
            m_stmt->offset);
}

void Analyzer::alter_domain(const tree::Node& n) {
    std::string name = tree::dotted_name(n["typeName"]);
    auto sub = n["subtype"].str();
    if (object_is_new(object_key("type", name)))
        return;
    if (sub == "C") {
        const auto& con = n["def"]["Constraint"];
        if (con["skip_validation"].boolean())
            return;
        hit("domain-with-constraint",
            "ALTER DOMAIN " + name + " ADD CONSTRAINT" +
                (con["conname"].str().empty() ? std::string()
                                              : " " + std::string(con["conname"].str())) +
                " checks every column of every table that uses the domain",
            where(con));
    } else if (sub == "O") {
        hit("domain-with-constraint",
            "ALTER DOMAIN " + name +
                " SET NOT NULL checks every column of every table that uses the domain",
            m_stmt->offset);
    }
}

void Analyzer::create_domain(const tree::Node& n) {
    std::string name = tree::dotted_name(n["domainname"]);
    check_identifier(tree::last_name(n["domainname"]), "domain", m_stmt->offset);
    m_model->add_object(object_key("type", name), m_scope);
    for (const auto& c : n["constraints"]) {
        const auto& con = c["Constraint"];
        auto type = con["contype"].str();
        if (type == "CONSTR_CHECK" || type == "CONSTR_NOTNULL") {
            if (m_down)
                break;
            hit("domain-with-constraint",
                "CREATE DOMAIN " + name + " with a " +
                    (type == "CONSTR_CHECK" ? "CHECK" : "NOT NULL") +
                    " constraint: changing it later checks every column that uses the domain",
                where(con), Severity::warning, std::vector<std::string>{}, "");
            break;
        }
    }
}

void Analyzer::reindex(const tree::Node& n) {
    auto kind = n["kind"].str();
    bool concurrent = false;
    for (const auto& p : n["params"])
        if (lower(p["DefElem"]["defname"].str()) == "concurrently")
            concurrent = true;
    bool whole = kind == "REINDEX_OBJECT_SCHEMA" || kind == "REINDEX_OBJECT_SYSTEM" ||
                 kind == "REINDEX_OBJECT_DATABASE";
    if (whole)
        not_in_transaction("REINDEX SCHEMA/DATABASE/SYSTEM");
    const auto& rv = n["relation"];
    std::string table;
    bool fresh = false;
    std::string target;
    if (kind == "REINDEX_OBJECT_INDEX") {
        auto key = range_key(rv);
        const auto* info = m_model->index(key);
        table = info ? info->table : key;
        fresh = info && (info->scope == m_scope || relation_is_new(info->table));
        target = "index " + display_name(rv);
    } else if (kind == "REINDEX_OBJECT_TABLE") {
        table = range_key(rv);
        fresh = relation_is_new(table);
        target = "table " + display_name(rv);
    } else {
        target = std::string(n["name"].str()).empty()
                     ? "every index"
                     : "every index in " + std::string(n["name"].str());
    }
    if (concurrent) {
        take_lock(LockLevel::share_update_exclusive, table);
        if (m_in_tx && !whole)
            hit("concurrent-in-transaction",
                "REINDEX CONCURRENTLY cannot run inside a transaction block" +
                    (m_wrapped ? std::string(": rollsafe runs this migration in one; mark it -- "
                                             "rollsafe:no-transaction")
                               : std::string(" (this one is inside BEGIN ... COMMIT)")),
                m_stmt->offset);
        return;
    }
    take_lock(LockLevel::share, table);
    if (!fresh)
        hit("reindex-non-concurrent",
            "REINDEX " + target +
                " blocks writes, and reads that use the index, for the whole rebuild" +
                (m_options.pg_version < 12
                     ? std::string(" (REINDEX CONCURRENTLY needs PostgreSQL 12)")
                     : std::string()),
            m_stmt->offset);
}

void Analyzer::vacuum(const tree::Node& n) {
    bool is_vacuum = n["is_vacuumcmd"].boolean();
    bool full = false;
    for (const auto& o : n["options"])
        if (lower(o["DefElem"]["defname"].str()) == "full")
            full = true;
    if (is_vacuum)
        not_in_transaction("VACUUM");
    if (!full)
        return;
    if (n["rels"].size() == 0) {
        hit("vacuum-full", "VACUUM FULL of every table rewrites each one under ACCESS EXCLUSIVE",
            m_stmt->offset);
        return;
    }
    for (const auto& r : n["rels"]) {
        const auto& rv = r["VacuumRelation"]["relation"];
        auto key = range_key(rv);
        take_lock(LockLevel::access_exclusive, key);
        if (!relation_is_new(key))
            hit("vacuum-full",
                "VACUUM FULL " + display_name(rv) + " rewrites it under ACCESS EXCLUSIVE",
                where(rv));
    }
}

void Analyzer::cluster(const tree::Node& n) {
    const auto& rv = n["relation"];
    if (rv.is_null()) {
        not_in_transaction("CLUSTER without a table");
        hit("cluster", "CLUSTER rewrites every clustered table under ACCESS EXCLUSIVE",
            m_stmt->offset);
        return;
    }
    auto key = range_key(rv);
    take_lock(LockLevel::access_exclusive, key);
    if (!relation_is_new(key))
        hit("cluster", "CLUSTER " + display_name(rv) + " rewrites it under ACCESS EXCLUSIVE",
            where(rv));
}

void Analyzer::truncate(const tree::Node& n) {
    bool cascade = n["behavior"].str() == "DROP_CASCADE";
    std::string existing;
    for (const auto& r : n["relations"]) {
        const auto& rv = r["RangeVar"];
        auto key = range_key(rv);
        take_lock(LockLevel::access_exclusive, key);
        if (!relation_is_new(key))
            existing += (existing.empty() ? "" : ", ") + display_name(rv);
    }
    if (cascade && !existing.empty())
        hit("truncate-cascade",
            "TRUNCATE " + existing + " CASCADE also empties every table that references " +
                (existing.find(',') == std::string::npos ? "it" : "them") + ", recursively",
            m_stmt->offset);
}

void Analyzer::create_trigger(const tree::Node& n) {
    const auto& rv = n["relation"];
    auto key = range_key(rv);
    check_identifier(n["trigname"].str(), "trigger", m_stmt->offset);
    take_lock(LockLevel::share_row_exclusive, key);
    if (!relation_is_new(key))
        hit("trigger-on-existing-table",
            "CREATE TRIGGER " + std::string(n["trigname"].str()) + " ON " + display_name(rv) +
                ": every write the old app makes now runs " + tree::dotted_name(n["funcname"]) +
                "()",
            m_stmt->offset);
    robust(n["replace"].boolean(), "CREATE TRIGGER " + std::string(n["trigname"].str()));
}

void Analyzer::update_or_delete(const tree::Node& n, const char* verb) {
    const auto& rv = n["relation"];
    const auto& cond = n["whereClause"];
    if (!(cond.is_null() || is_true_constant(cond)))
        return;
    auto key = range_key(rv);
    if (relation_is_new(key))
        return;
    bool del = std::string(verb) == "DELETE";
    hit("unbatched-update",
        std::string(verb) + (del ? " FROM " : " ") + display_name(rv) +
            " without WHERE touches every row in one statement, locking them all until the "
            "migration commits",
        m_stmt->offset);
    if (del)
        m_hits.back().breaks = std::vector<std::string>{"lock", "data", "loss"};
}

void Analyzer::refresh_matview(const tree::Node& n) {
    const auto& rv = n["relation"];
    auto key = range_key(rv);
    if (n["concurrent"].boolean()) {
        take_lock(LockLevel::exclusive, key);
        return;
    }
    take_lock(LockLevel::access_exclusive, key);
    if (n["skipData"].boolean() || relation_is_new(key))
        return;
    hit("refresh-matview-non-concurrent",
        "REFRESH MATERIALIZED VIEW " + display_name(rv) +
            " blocks every read of it for the whole refresh",
        where(rv));
}

void Analyzer::variable_set(const tree::Node& n) {
    auto kind = n["kind"].str();
    bool all = kind == "VAR_RESET_ALL";
    if (!all && lower(n["name"].str()) != "lock_timeout")
        return;
    bool local = n["is_local"].boolean();
    if (local && !m_in_tx)
        return;  // SET LOCAL outside a transaction block does nothing
    long long value = 0;
    std::string origin;
    if (kind == "VAR_SET_VALUE" && n["args"].size() > 0) {
        value = timeout_ms(n["args"].at(0));
        if (value < 0)
            return;  // a value rollsafe cannot read: assume it is deliberate
        origin = "SET lock_timeout = " + std::to_string(value) + "ms";
    } else if (all) {
        origin = "RESET ALL";
    } else {
        origin = kind == "VAR_RESET" ? "RESET lock_timeout" : "SET lock_timeout TO DEFAULT";
    }
    m_lock_timeout = value;
    m_timeout_origin = origin + " at line " + std::to_string(m_lines->at(m_stmt->offset).line);
}

void Analyzer::transaction(const tree::Node& n) {
    auto kind = n["kind"].str();
    bool begin = kind == "TRANS_STMT_BEGIN" || kind == "TRANS_STMT_START";
    bool end = kind == "TRANS_STMT_COMMIT" || kind == "TRANS_STMT_ROLLBACK" ||
               kind == "TRANS_STMT_PREPARE";
    bool wrapper =
        m_unwrapped && ((begin && m_index == 0) ||
                        (end && m_index + 1 == static_cast<int>(m_sql->statements.size())));
    if (wrapper)
        return;  // rollsafe removes the pair and runs the script in its own transaction
    std::string what = begin                              ? "BEGIN"
                       : kind == "TRANS_STMT_COMMIT"      ? "COMMIT"
                       : kind == "TRANS_STMT_ROLLBACK"    ? "ROLLBACK"
                       : kind == "TRANS_STMT_PREPARE"     ? "PREPARE TRANSACTION"
                       : kind == "TRANS_STMT_SAVEPOINT"   ? "SAVEPOINT"
                       : kind == "TRANS_STMT_RELEASE"     ? "RELEASE SAVEPOINT"
                       : kind == "TRANS_STMT_ROLLBACK_TO" ? "ROLLBACK TO SAVEPOINT"
                                                          : "transaction control";
    // rollsafe refuses transaction control inside a migration (only a BEGIN ... COMMIT around the
    // whole script is accepted, and removed), so `up` would stop with exit 2.
    if (m_wrapped) {
        hit("transaction-nesting",
            what +
                (begin ? std::string(" inside the transaction rollsafe opens for this migration")
                 : end
                     ? std::string(" would end the transaction rollsafe opened for this migration")
                     : std::string(" inside the transaction rollsafe opens for this migration")) +
                "; rollsafe refuses transaction control in a migration",
            m_stmt->offset);
        return;
    }
    if (begin || end)
        hit("transaction-nesting",
            what +
                " in a no-transaction migration: rollsafe runs its statements one by one and "
                "refuses "
                "transaction control; split it into migrations",
            m_stmt->offset);
    if (begin) {
        if (m_in_tx)
            return;
        m_in_tx = true;
        m_timeout_before_tx = m_lock_timeout;
        m_tx_not_valid.clear();
        return;
    }
    if (!end)
        return;
    if (kind == "TRANS_STMT_ROLLBACK")
        m_lock_timeout = m_timeout_before_tx;  // its SETs are undone
    m_in_tx = false;
    m_tx_not_valid.clear();
}

void Analyzer::lock_table(const tree::Node& n) {
    static const LockLevel modes[] = {LockLevel::none,
                                      LockLevel::access_share,
                                      LockLevel::row_share,
                                      LockLevel::row_exclusive,
                                      LockLevel::share_update_exclusive,
                                      LockLevel::share,
                                      LockLevel::share_row_exclusive,
                                      LockLevel::exclusive,
                                      LockLevel::access_exclusive};
    auto mode = n["mode"].integer(8);
    LockLevel level = mode >= 1 && mode <= 8 ? modes[mode] : LockLevel::access_exclusive;
    for (const auto& r : n["relations"])
        take_lock(level, range_key(r["RangeVar"]));
}

void Analyzer::create_function(const tree::Node& n) {
    std::string name = text::to_lower(tree::dotted_name(n["funcname"]));
    std::string last = text::to_lower(tree::last_name(n["funcname"]));
    check_identifier(last, "function", m_stmt->offset);
    char volatility = 'v';
    for (const auto& o : n["options"]) {
        const auto& d = o["DefElem"];
        if (d["defname"].str() == "volatility") {
            auto v = d["arg"]["String"]["sval"].str();
            volatility = v == "immutable" ? 'i' : v == "stable" ? 's' : 'v';
        }
    }
    m_model->set_function(name, volatility);
    if (last != name)
        m_model->set_function(last, volatility);
    m_model->add_object(object_key("function", name), m_scope);
    robust(n["replace"].boolean(), "CREATE FUNCTION " + name);
}

}  // namespace rollsafe::check::detail
