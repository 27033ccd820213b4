// ALTER TABLE: the statement behind most blue/green and lock hazards.
#include "core/check/analyzer.h"

namespace rollsafe::check::detail {
namespace {

// Returns the column a CHECK (col IS NOT NULL) constraint proves non-null, or "".
std::string not_null_check_column(const tree::Node& con) {
    const auto& t = con["raw_expr"]["NullTest"];
    if (t.is_null() || t["nulltesttype"].str() != "IS_NOT_NULL")
        return {};
    const auto& fields = t["arg"]["ColumnRef"]["fields"];
    if (fields.size() != 1)
        return {};
    return std::string(fields.at(0)["String"]["sval"].str());
}

LockLevel lock_of(std::string_view subtype) {
    if (subtype == "AT_SetStatistics" || subtype == "AT_SetOptions" ||
        subtype == "AT_ResetOptions" || subtype == "AT_SetRelOptions" ||
        subtype == "AT_ResetRelOptions" || subtype == "AT_ReplaceRelOptions" ||
        subtype == "AT_ClusterOn" || subtype == "AT_DropCluster" ||
        subtype == "AT_ValidateConstraint" || subtype == "AT_AttachPartition")
        return LockLevel::share_update_exclusive;
    if (subtype == "AT_EnableTrig" || subtype == "AT_EnableAlwaysTrig" ||
        subtype == "AT_EnableReplicaTrig" || subtype == "AT_DisableTrig" ||
        subtype == "AT_EnableTrigAll" || subtype == "AT_DisableTrigAll" ||
        subtype == "AT_EnableTrigUser" || subtype == "AT_DisableTrigUser")
        return LockLevel::share_row_exclusive;
    return LockLevel::access_exclusive;
}

const char* in_transaction_advice(bool wrapped) {
    return wrapped ? ": rollsafe runs this migration in one; mark it -- rollsafe:no-transaction"
                   : " (this one is inside BEGIN ... COMMIT)";
}

}  // namespace

void Analyzer::alter_table(const tree::Node& n) {
    auto objtype = n["objtype"].str();
    const auto& rv = n["relation"];
    auto key = range_key(rv);
    auto display = display_name(rv);
    if (objtype == "OBJECT_INDEX" || objtype == "OBJECT_MATVIEW") {
        // ALTER INDEX / MATERIALIZED VIEW: only moving it to another tablespace copies data.
        const auto* index = objtype == "OBJECT_INDEX" ? m_model->index(key) : nullptr;
        bool fresh = objtype == "OBJECT_INDEX"
                         ? index && (index->scope == m_scope || relation_is_new(index->table))
                         : relation_is_new(key);
        for (const auto& c : n["cmds"]) {
            const auto& cmd = c["AlterTableCmd"];
            if (cmd["subtype"].str() != "AT_SetTableSpace")
                continue;
            take_lock(LockLevel::access_exclusive, index ? index->table : key);
            if (!fresh)
                hit("set-tablespace",
                    std::string(objtype == "OBJECT_INDEX" ? "ALTER INDEX "
                                                          : "ALTER MATERIALIZED VIEW ") +
                        display + " SET TABLESPACE " + ident(cmd["name"].str()) +
                        " copies it under ACCESS EXCLUSIVE",
                    m_stmt->offset);
        }
        return;
    }
    if (objtype != "OBJECT_TABLE" && objtype != "OBJECT_FOREIGN_TABLE") {
        // ALTER VIEW / SEQUENCE / TYPE: short catalog changes rollsafe does not grade.
        return;
    }
    bool existing = !relation_is_new(key);
    for (const auto& c : n["cmds"])
        alter_table_cmd(c["AlterTableCmd"], key, display, existing);
}

void Analyzer::alter_table_cmd(const tree::Node& cmd, const std::string& table,
                               const std::string& display, bool existing) {
    auto subtype = cmd["subtype"].str();
    std::string col(cmd["name"].str());
    if (subtype != "AT_AddConstraint" && subtype != "AT_DetachPartition")
        take_lock(lock_of(subtype), table);

    if (subtype == "AT_AddColumn") {
        add_column(cmd["def"]["ColumnDef"], cmd, table, display, existing);
    } else if (subtype == "AT_DropColumn") {
        robust(cmd["missing_ok"].boolean(), "DROP COLUMN " + display + "." + ident(col));
        if (existing && !column_is_new(table, col)) {
            if (m_down)
                hit("drop-column",
                    "rolling back drops column " + display + "." + ident(col) +
                        ": the values written since the up ran are lost",
                    m_stmt->offset);
            else
                hit("drop-column",
                    "DROP COLUMN " + display + "." + ident(col) +
                        ": the old app may still read or write it, and its values are lost",
                    m_stmt->offset);
        }
        m_model->relation_for_update(table).columns.erase(col);
    } else if (subtype == "AT_ColumnDefault") {
        const auto& def = cmd["def"];
        auto& info = m_model->relation_for_update(table).columns[col];
        if (!def.is_null() && !is_null_constant(def)) {
            info.has_default = true;  // SET DEFAULT: applies to new rows only, no rewrite
            return;
        }
        bool fresh_nullable = column_is_new(table, col) && !info.not_null;
        if (existing && !fresh_nullable)
            hit("drop-default",
                "DROP DEFAULT on " + display + "." + ident(col) +
                    ": the old app's INSERTs that omit the column get NULL" +
                    (info.not_null ? " and fail (the column is NOT NULL)" : ""),
                m_stmt->offset);
        info.has_default = false;
    } else if (subtype == "AT_DropNotNull") {
        if (existing && !column_is_new(table, col))
            hit("drop-not-null",
                "DROP NOT NULL on " + display + "." + ident(col) +
                    ": the old app does not expect NULLs the new one may write",
                m_stmt->offset);
        m_model->relation_for_update(table).columns[col].not_null = false;
    } else if (subtype == "AT_SetNotNull") {
        auto& rel = m_model->relation_for_update(table);
        auto& info = rel.columns[col];
        bool checked = rel.not_null_checked.count(col) > 0;
        bool scan = !(checked && m_options.pg_version >= 12);
        bool contract = !checked && !info.has_default;
        info.not_null = true;
        if (!existing || (!scan && !contract))
            return;
        std::vector<std::string> classes;
        if (contract)
            classes.push_back("contract");
        if (scan)
            classes.push_back("unsafe-lock");
        std::string msg = "SET NOT NULL on " + display + "." + ident(col) + ": ";
        if (scan)
            msg +=
                "PostgreSQL scans the whole table under ACCESS EXCLUSIVE" +
                std::string(checked ? " (before PostgreSQL 12 a CHECK constraint does not help)"
                                    : " (no validated CHECK (" + col + " IS NOT NULL) is known)");
        if (contract)
            msg += std::string(scan ? ", and " : "") +
                   "the old app's INSERTs that omit the column fail";
        hit("set-not-null", msg, m_stmt->offset, std::nullopt, classes);
    } else if (subtype == "AT_AlterColumnType") {
        alter_column_type(cmd, table, display, existing);
    } else if (subtype == "AT_AddConstraint") {
        add_constraint(cmd["def"]["Constraint"], table, display, existing);
    } else if (subtype == "AT_ValidateConstraint") {
        auto it = m_tx_not_valid.find(table + "|" + col);
        if (it != m_tx_not_valid.end() && existing)
            hit("validate-in-same-transaction",
                "VALIDATE CONSTRAINT " + col + " on " + display +
                    " runs in the transaction that added it, so it scans the table under the ADD's "
                    "lock",
                m_stmt->offset);
        auto& rel = m_model->relation_for_update(table);
        auto p = rel.pending_not_null_checks.find(col);
        if (p != rel.pending_not_null_checks.end()) {
            rel.not_null_checked.insert(p->second);
            rel.pending_not_null_checks.erase(p);
        }
    } else if (subtype == "AT_SetLogged" || subtype == "AT_SetUnLogged") {
        if (existing)
            hit("set-logged-unlogged",
                std::string(subtype == "AT_SetLogged" ? "SET LOGGED" : "SET UNLOGGED") +
                    " rewrites " + display + " under ACCESS EXCLUSIVE",
                m_stmt->offset);
    } else if (subtype == "AT_DetachPartition") {
        const auto& pc = cmd["def"]["PartitionCmd"];
        std::string part = display_name(pc["name"]);
        if (pc["concurrent"].boolean()) {
            take_lock(LockLevel::share_update_exclusive, table);
            if (m_in_tx)
                hit("concurrent-in-transaction",
                    "DETACH PARTITION " + part +
                        " CONCURRENTLY cannot run inside a transaction block" +
                        in_transaction_advice(m_wrapped),
                    m_stmt->offset);
            return;
        }
        take_lock(LockLevel::access_exclusive, table);
        if (existing)
            hit("detach-partition-non-concurrent",
                "DETACH PARTITION " + part + " takes ACCESS EXCLUSIVE on " + display +
                    ", blocking every query on the partitioned table" +
                    (m_options.pg_version < 14 ? std::string(" (CONCURRENTLY needs PostgreSQL 14)")
                                               : std::string()),
                m_stmt->offset);
    } else if (subtype == "AT_SetTableSpace") {
        if (existing)
            hit("set-tablespace",
                "SET TABLESPACE " + ident(col) + " copies every page of " + display +
                    " under ACCESS EXCLUSIVE",
                m_stmt->offset);
    } else if (subtype == "AT_DropConstraint") {
        robust(cmd["missing_ok"].boolean(), "DROP CONSTRAINT " + col);
    }
}

void Analyzer::add_column(const tree::Node& def, const tree::Node& cmd, const std::string& table,
                          const std::string& display, bool existing) {
    std::string col(def["colname"].str());
    std::string name = display + "." + ident(col);
    std::size_t at = where(def);
    check_identifier(col, "column", at);
    TypeRef t = type_from_node(def["typeName"]);
    check_type(t, name, where(def["typeName"]));
    robust(cmd["missing_ok"].boolean(), "ADD COLUMN " + name);

    bool not_null = false, identity = false, generated = false;
    const tree::Node* default_expr = nullptr;
    std::vector<const tree::Node*> constraints;
    for (const auto& c : def["constraints"]) {
        const auto& con = c["Constraint"];
        auto type = con["contype"].str();
        if (type == "CONSTR_NOTNULL") {
            not_null = true;
        } else if (type == "CONSTR_DEFAULT") {
            if (!is_null_constant(con["raw_expr"]))
                default_expr = &con["raw_expr"];
        } else if (type == "CONSTR_IDENTITY") {
            identity = true;
        } else if (type == "CONSTR_GENERATED") {
            generated = true;
        } else if (type != "CONSTR_NULL") {
            if (type == "CONSTR_PRIMARY")
                not_null = true;
            constraints.push_back(&con);
        }
    }
    ColumnInfo info;
    if (!t.name.empty())
        info.type = t;
    info.not_null = not_null;
    info.has_default = default_expr || identity || generated || t.serial;
    info.scope = m_scope;
    m_model->relation_for_update(table).columns[col] = info;
    if (!existing)
        return;

    if (t.serial || identity)
        hit("add-serial-column",
            "ADD COLUMN " + name +
                (t.serial ? " " + t.sql() : std::string(" GENERATED AS IDENTITY")) +
                " fills every existing row from a sequence: PostgreSQL rewrites " + display,
            at);
    if (generated)
        hit("stored-generated-column",
            "ADD COLUMN " + name +
                " GENERATED ALWAYS AS (...) STORED computes every existing row: PostgreSQL "
                "rewrites " +
                display,
            at);
    if (default_expr) {
        std::string fn = volatile_function_in(*default_expr, m_model->functions());
        if (!fn.empty())
            hit("volatile-default",
                "ADD COLUMN " + name + " DEFAULT " + fn +
                    ": the default is volatile (or not known to be IMMUTABLE or STABLE), so "
                    "PostgreSQL rewrites " +
                    display + " to fill every row",
                where(*default_expr));
        else if (m_options.pg_version < 11)
            hit("add-column-default-rewrite",
                "ADD COLUMN " + name + " with a DEFAULT rewrites " + display +
                    " before PostgreSQL 11 (target " + std::to_string(m_options.pg_version) + ")",
                where(*default_expr));
    }
    if (not_null && !default_expr && !identity && !generated && !t.serial)
        hit("add-not-null-column-without-default",
            "ADD COLUMN " + name +
                " NOT NULL without a DEFAULT: it fails on a table with rows, and the old app's "
                "INSERTs do not set it",
            at);
    for (const auto* con : constraints) {
        auto type = (*con)["contype"].str();
        if (type == "CONSTR_CHECK")
            hit("add-check-without-not-valid",
                "ADD COLUMN " + name + " with a CHECK: PostgreSQL checks every row of " + display +
                    " under ACCESS EXCLUSIVE (add the CHECK separately, NOT VALID)",
                where(*con));
        else if (type == "CONSTR_UNIQUE")
            hit("add-unique-constraint",
                "ADD COLUMN " + name + " UNIQUE builds a unique index on " + display +
                    " under ACCESS EXCLUSIVE",
                where(*con));
        else if (type == "CONSTR_PRIMARY")
            hit("add-primary-key",
                "ADD COLUMN " + name + " PRIMARY KEY builds the key's index on " + display +
                    " under ACCESS EXCLUSIVE",
                where(*con));
        else if (type == "CONSTR_FOREIGN") {
            auto pk = range_key((*con)["pktable"]);
            take_lock(LockLevel::share_row_exclusive, pk);
            hit("add-foreign-key-without-not-valid",
                "ADD COLUMN " + name + " REFERENCES " + display_name((*con)["pktable"]) +
                    " validates every row while holding SHARE ROW EXCLUSIVE on both tables",
                where(*con));
        }
    }
}

void Analyzer::add_constraint(const tree::Node& con, const std::string& table,
                              const std::string& display, bool existing) {
    auto type = con["contype"].str();
    std::string name(con["conname"].str());
    std::size_t at = where(con);
    if (!name.empty())
        check_identifier(name, "constraint", at);
    std::string label = "ADD CONSTRAINT " + (name.empty() ? std::string() : name + " ");
    bool not_valid = con["skip_validation"].boolean();
    if (type == "CONSTR_CHECK") {
        take_lock(LockLevel::access_exclusive, table);
        std::string col = not_null_check_column(con);
        auto& rel = m_model->relation_for_update(table);
        if (not_valid) {
            if (m_in_tx && !name.empty())
                m_tx_not_valid.insert(table + "|" + name);
            if (!col.empty() && !name.empty())
                rel.pending_not_null_checks[name] = col;
            return;
        }
        if (!col.empty())
            rel.not_null_checked.insert(col);
        if (existing)
            hit("add-check-without-not-valid",
                label + "CHECK on " + display +
                    " without NOT VALID checks every row under ACCESS EXCLUSIVE",
                at);
    } else if (type == "CONSTR_FOREIGN") {
        take_lock(LockLevel::share_row_exclusive, table);
        take_lock(LockLevel::share_row_exclusive, range_key(con["pktable"]));
        if (not_valid) {
            if (m_in_tx && !name.empty())
                m_tx_not_valid.insert(table + "|" + name);
            return;
        }
        if (existing)
            hit("add-foreign-key-without-not-valid",
                label + "FOREIGN KEY on " + display + " REFERENCES " +
                    display_name(con["pktable"]) +
                    " without NOT VALID checks every row while holding SHARE ROW EXCLUSIVE on both "
                    "tables",
                at);
    } else if (type == "CONSTR_UNIQUE" || type == "CONSTR_PRIMARY") {
        take_lock(LockLevel::access_exclusive, table);
        bool pk = type == "CONSTR_PRIMARY";
        if (!con["indexname"].str().empty() || !existing)
            return;  // USING INDEX: only a brief lock
        hit(pk ? "add-primary-key" : "add-unique-constraint",
            label + (pk ? "PRIMARY KEY" : "UNIQUE") + " on " + display +
                " builds its index under ACCESS EXCLUSIVE (no prebuilt index: USING INDEX is "
                "missing)",
            at);
    } else if (type == "CONSTR_EXCLUSION") {
        take_lock(LockLevel::access_exclusive, table);
        if (existing)
            hit("add-exclusion-constraint",
                label + "EXCLUDE on " + display + " builds its index under ACCESS EXCLUSIVE", at);
    } else {
        take_lock(LockLevel::access_exclusive, table);
    }
}

void Analyzer::alter_column_type(const tree::Node& cmd, const std::string& table,
                                 const std::string& display, bool existing) {
    std::string col(cmd["name"].str());
    const auto& def = cmd["def"]["ColumnDef"];
    TypeRef to = type_from_node(def["typeName"]);
    bool has_using = !def["raw_default"].is_null();
    check_type(to, display + "." + ident(col), where(def["typeName"]));
    auto& info = m_model->relation_for_update(table).columns[col];
    std::optional<TypeRef> from = info.type;
    info.type = to;
    if (!existing || to.name.empty())
        return;
    bool fresh = column_is_new(table, col);
    TypeChange change =
        classify_type_change(from ? &*from : nullptr, to, has_using, m_options.pg_version);
    if (fresh)
        change.narrowing = false;  // the old app does not know the column
    if (!change.rewrite && !change.narrowing)
        return;
    std::vector<std::string> classes;
    if (change.narrowing)
        classes.push_back("contract");
    if (change.rewrite)
        classes.push_back("unsafe-lock");
    hit("change-column-type",
        "ALTER COLUMN " + display + "." + ident(col) + " TYPE " + to.sql() + ": " + change.detail,
        where(def["typeName"]), std::nullopt, classes);
}

}  // namespace rollsafe::check::detail
