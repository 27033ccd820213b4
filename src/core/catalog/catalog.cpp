#include "core/catalog/catalog.h"

#include "core/base/sha256.h"
#include "core/base/text.h"

namespace rollsafe {
namespace {

// Filters that leave out system schemas, rollsafe's schema(s) and extension members.
std::string namespace_filter(const std::string& nsp_column, const std::set<std::string>& exclude) {
    std::string f = nsp_column + " NOT IN ('pg_catalog', 'information_schema', 'pg_toast')" +
                    " AND " + nsp_column + " NOT LIKE 'pg_temp_%' AND " + nsp_column +
                    " NOT LIKE 'pg_toast_temp_%'";
    for (const auto& s : exclude)
        f += " AND " + nsp_column + " <> " + text::quote_literal(s);
    return f;
}

std::string not_extension_member(const std::string& classid, const std::string& objid) {
    return "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '" + classid +
           "'::regclass AND d.objid = " + objid + " AND d.deptype = 'e')";
}

void add_rows(Catalog& c, db::Session& s, const std::string& sql, const std::string& kind) {
    auto r = s.exec(sql);
    for (std::size_t i = 0; i < r.size(); ++i) {
        nlohmann::json attrs = nlohmann::json::object();
        for (std::size_t col = 1; col < r.columns.size(); ++col) {
            const auto& v = r.rows[i][col];
            attrs[r.columns[col]] = v ? nlohmann::json(*v) : nlohmann::json(nullptr);
        }
        c.objects[kind + ":" + r.get(i, 0)] = attrs;
    }
}

}  // namespace

std::string Catalog::fingerprint() const {
    return sha256_hex(to_json().dump());
}

nlohmann::json Catalog::to_json() const {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : objects)
        j[k] = v;
    return j;
}

Catalog Catalog::from_json(const nlohmann::json& j) {
    Catalog c;
    if (!j.is_object())
        return c;
    for (auto it = j.begin(); it != j.end(); ++it)
        c.objects[it.key()] = it.value();
    return c;
}

Catalog read_catalog(db::Session& s, const std::set<std::string>& exclude) {
    Catalog c;
    const std::string nsp = namespace_filter("n.nspname", exclude);
    add_rows(
        c, s,
        "SELECT n.nspname, pg_get_userbyid(n.nspowner) AS owner, "
        // NULL means the owner's defaults: spelled out, so a REVOKE that restores them compares
        // equal.
        "coalesce(n.nspacl, acldefault('n', n.nspowner))::text AS acl FROM pg_namespace n WHERE " +
            nsp + " AND n.nspname <> 'public' AND " + not_extension_member("pg_namespace", "n.oid"),
        "schema");
    add_rows(c, s,
             "SELECT e.extname, e.extversion AS version FROM pg_extension e WHERE e.extname <> "
             "'plpgsql'",
             "extension");
    // Tables, views, materialized views, sequences, foreign tables, partitioned tables.
    add_rows(
        c, s,
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
        "CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN "
        "'view' "
        "WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' "
        "END AS kind, "
        "c.relpersistence AS persistence, "
        "coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::\"char\", "
        "c.relowner))::text AS acl, obj_description(c.oid, 'pg_class') AS comment, "
        "CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition, "
        "CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS "
        "partition_bound, "
        "c.relrowsecurity AS row_security, "
        // What a view reads (from its rewrite rule's dependencies): a dropped column or table
        // takes the view with it (CASCADE), and a diff names what it read.
        "CASE WHEN c.relkind IN ('v', 'm') THEN (SELECT string_agg(DISTINCT "
        "quote_ident(rn.nspname) || '.' || "
        "quote_ident(rc.relname) || CASE WHEN d.refobjsubid > 0 THEN '.' || "
        "quote_ident(ra.attname) ELSE '' END, "
        "', ' ORDER BY quote_ident(rn.nspname) || '.' || quote_ident(rc.relname) || CASE WHEN "
        "d.refobjsubid > 0 "
        "THEN '.' || quote_ident(ra.attname) ELSE '' END) "
        " FROM pg_rewrite rw JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = "
        "rw.oid "
        " AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> c.oid "
        " JOIN pg_class rc ON rc.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
        " LEFT JOIN pg_attribute ra ON ra.attrelid = d.refobjid AND ra.attnum = d.refobjsubid "
        " WHERE rw.ev_class = c.oid) END AS reads "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND " +
            nsp + " AND " + not_extension_member("pg_class", "c.oid"),
        "relation");
    add_rows(
        c, s,
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || "
        "quote_ident(a.attname), "
        "format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, "
        "pg_get_expr(d.adbin, d.adrelid) AS default, NULLIF(a.attidentity, '') AS identity, "
        "NULLIF(a.attgenerated, '') AS generated, col_description(c.oid, a.attnum) AS comment, "
        "a.attacl::text AS acl, CASE WHEN a.attcollation <> t.typcollation THEN "
        "a.attcollation::regcollation::text END AS collation "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = "
        "c.relnamespace "
        "JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "AND " +
            nsp + " AND " + not_extension_member("pg_class", "c.oid"),
        "column");
    add_rows(c, s,
             "SELECT quote_ident(n.nspname) || '.' || quote_ident(cl.relname) || '.' || "
             "quote_ident(co.conname), "
             "co.contype AS type, pg_get_constraintdef(co.oid) AS definition, co.convalidated AS "
             "validated "
             "FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n "
             "ON n.oid = cl.relnamespace "
             "WHERE " +
                 nsp,
             "constraint");
    add_rows(c, s,
             "SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname), "
             "pg_get_indexdef(i.indexrelid) AS definition, "
             "i.indisvalid AS valid, quote_ident(n.nspname) || '.' || quote_ident(tc.relname) AS "
             "on_table "
             "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class tc ON tc.oid "
             "= i.indrelid "
             "JOIN pg_namespace n ON n.oid = ic.relnamespace "
             "WHERE " +
                 nsp +
                 " AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid "
                 "AND co.contype IN ('p', 'u', 'x')) AND " +
                 not_extension_member("pg_class", "tc.oid"),
             "index");
    add_rows(c, s,
             "SELECT quote_ident(n.nspname) || '.' || quote_ident(t.typname), "
             "(SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM "
             "pg_enum e "
             "WHERE e.enumtypid = t.oid) AS labels FROM pg_type t JOIN pg_namespace n ON n.oid = "
             "t.typnamespace "
             "WHERE t.typtype = 'e' AND " +
                 nsp + " AND " + not_extension_member("pg_type", "t.oid"),
             "enum");
    add_rows(
        c, s,
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(t.typname), "
        "format_type(t.typbasetype, t.typtypmod) AS base, "
        "t.typnotnull AS not_null, t.typdefault AS default, (SELECT "
        "string_agg(pg_get_constraintdef(co.oid), ' AND ' "
        "ORDER BY co.conname) FROM pg_constraint co WHERE co.contypid = t.oid) AS checks "
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'd' AND " +
            nsp + " AND " + not_extension_member("pg_type", "t.oid"),
        "domain");
    add_rows(c, s,
             "SELECT quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '(' || "
             "pg_get_function_identity_arguments(p.oid) || ')', pg_get_function_result(p.oid) AS "
             "result, "
             "l.lanname AS language, p.provolatile AS volatility, md5(p.prosrc) AS body_md5, "
             "p.prosecdef AS security_definer, "
             "p.prokind AS kind, coalesce(p.proacl, acldefault('f', p.proowner))::text AS acl "
             "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON "
             "l.oid = p.prolang "
             "WHERE " +
                 nsp + " AND " + not_extension_member("pg_proc", "p.oid"),
             "function");
    add_rows(c, s,
             "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.' || "
             "quote_ident(tg.tgname), "
             "pg_get_triggerdef(tg.oid) AS definition, tg.tgenabled AS enabled "
             "FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON "
             "n.oid = c.relnamespace "
             "WHERE NOT tg.tgisinternal AND " +
                 nsp,
             "trigger");
    add_rows(c, s,
             "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), "
             "format_type(sq.seqtypid, NULL) AS type, "
             "sq.seqincrement::text AS increment, sq.seqmin::text AS min, sq.seqmax::text AS max, "
             "sq.seqcycle AS cycle, "
             "(SELECT quote_ident(dn.nspname) || '.' || quote_ident(dc.relname) || '.' || "
             "quote_ident(da.attname) "
             " FROM pg_depend d JOIN pg_class dc ON dc.oid = d.refobjid JOIN pg_namespace dn ON "
             "dn.oid = dc.relnamespace "
             " JOIN pg_attribute da ON da.attrelid = d.refobjid AND da.attnum = d.refobjsubid "
             " WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', "
             "'i') LIMIT 1) AS owned_by "
             "FROM pg_sequence sq JOIN pg_class c ON c.oid = sq.seqrelid JOIN pg_namespace n ON "
             "n.oid = c.relnamespace "
             "WHERE " +
                 nsp,
             "sequence");
    add_rows(c, s,
             "SELECT quote_ident(p.schemaname) || '.' || quote_ident(p.tablename) || '.' || "
             "quote_ident(p.policyname), "
             "p.permissive, p.roles::text AS roles, p.cmd, p.qual, p.with_check FROM pg_policies p "
             "WHERE " +
                 namespace_filter("p.schemaname", exclude),
             "policy");
    return c;
}

std::string CatalogChange::describe() const {
    auto colon = object.find(':');
    std::string kind_name = object.substr(0, colon);
    std::string name = object.substr(colon + 1);
    if (kind == "added")
        return kind_name + " " + name + ": added";
    if (kind == "removed")
        return kind_name + " " + name + ": removed";
    auto show = [](const std::string& v) { return v.empty() ? std::string("(none)") : v; };
    return kind_name + " " + name + ": " + attribute + " " + show(before) + " -> " + show(after);
}

std::vector<CatalogChange> diff_catalogs(const Catalog& before, const Catalog& after) {
    std::vector<CatalogChange> out;
    auto text_of = [](const nlohmann::json& v) {
        if (v.is_null())
            return std::string();
        if (v.is_string())
            return v.get<std::string>();
        return v.dump();
    };
    for (const auto& [key, attrs] : before.objects) {
        auto it = after.objects.find(key);
        if (it == after.objects.end()) {
            out.push_back({"removed", key, "", "", ""});
            continue;
        }
        std::set<std::string> names;
        for (auto a = attrs.begin(); a != attrs.end(); ++a)
            names.insert(a.key());
        for (auto a = it->second.begin(); a != it->second.end(); ++a)
            names.insert(a.key());
        for (const auto& n : names) {
            auto b = attrs.contains(n) ? text_of(attrs[n]) : std::string();
            auto f = it->second.contains(n) ? text_of(it->second[n]) : std::string();
            if (b != f)
                out.push_back({"changed", key, n, b, f});
        }
    }
    for (const auto& [key, attrs] : after.objects) {
        if (!before.objects.count(key))
            out.push_back({"added", key, "", "", ""});
    }
    return out;
}

}  // namespace rollsafe
