#include "core/compat/hazards.h"

#include <pg_query.h>

#include <nlohmann/json.hpp>

#include <map>

#include "core/base/text.h"

namespace rollsafe::compat {
namespace {

std::string schema_filter(const std::string& column, const std::set<std::string>& exclude) {
    std::string f = column + " NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND " + column +
                    " NOT LIKE 'pg_temp_%' AND " + column + " NOT LIKE 'pg_toast_temp_%'";
    for (const auto& s : exclude) f += " AND " + column + " <> " + text::quote_literal(s);
    return f;
}

}  // namespace

std::vector<std::string> trigger_record_fields(const std::string& function_definition) {
    std::vector<std::string> out;
    auto result = pg_query_parse_plpgsql(function_definition.c_str());
    if (result.error || !result.plpgsql_funcs) {
        pg_query_free_plpgsql_parse_result(result);
        return out;
    }
    nlohmann::json funcs = nlohmann::json::parse(result.plpgsql_funcs, nullptr, false);
    pg_query_free_plpgsql_parse_result(result);
    if (!funcs.is_array()) return out;
    std::set<std::string> seen;
    for (const auto& f : funcs) {
        auto it = f.find("PLpgSQL_function");
        if (it == f.end() || !it->is_object()) continue;
        const auto& fn = *it;
        int new_no = fn.value("new_varno", -1), old_no = fn.value("old_varno", -1);
        auto datums = fn.find("datums");
        if (datums == fn.end() || !datums->is_array()) continue;
        for (const auto& d : *datums) {
            auto rf = d.find("PLpgSQL_recfield");
            if (rf == d.end() || !rf->is_object()) continue;
            int parent = rf->value("recparentno", -2);
            std::string field = rf->value("fieldname", "");
            std::string rec = parent == new_no ? "new" : parent == old_no ? "old" : "";
            if (rec.empty() || field.empty()) continue;
            if (seen.insert(rec + "." + field).second) out.push_back(rec + "." + field);
        }
    }
    return out;
}

std::vector<Hazard> find_hidden_hazards(db::Session& session, const std::set<std::string>& exclude) {
    std::vector<Hazard> out;
    // PL/pgSQL resolves NEW.x only when the trigger fires: a renamed or dropped column breaks
    // every write to the table at run time, and nothing in the catalog records the dependency.
    auto triggers = session.exec(
        "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(tg.tgname), "
        "p.oid::regprocedure::text, pg_get_functiondef(p.oid), "
        "(SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 "
        " AND NOT a.attisdropped)::text "
        "FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_proc p ON p.oid = tg.tgfoid JOIN pg_language l ON l.oid = p.prolang "
        "WHERE NOT tg.tgisinternal AND l.lanname = 'plpgsql' AND " + schema_filter("n.nspname", exclude) +
        " ORDER BY 1, 2");
    std::map<std::string, std::vector<std::string>> fields_of;  // function definition -> fields
    for (std::size_t i = 0; i < triggers.size(); ++i) {
        std::string table = triggers.get(i, 0), trigger = triggers.get(i, 1), function = triggers.get(i, 2);
        const std::string def = triggers.get(i, 3);
        auto cached = fields_of.find(def);
        if (cached == fields_of.end()) cached = fields_of.emplace(def, trigger_record_fields(def)).first;
        std::set<std::string> columns;
        auto cols = nlohmann::json::parse(triggers.get(i, 4, "[]"), nullptr, false);
        if (cols.is_array())
            for (const auto& c : cols)
                if (c.is_string()) columns.insert(c.get<std::string>());
        for (const auto& f : cached->second) {
            auto dot = f.find('.');
            std::string rec = f.substr(0, dot), column = f.substr(dot + 1);
            if (columns.count(column)) continue;
            Hazard h;
            h.key = "trigger-field|" + table + "|" + trigger + "|" + f;
            h.object = "trigger " + trigger + " on " + table;
            h.message = "trigger " + trigger + " on " + table + " runs " + function + ", which uses " +
                        text::to_upper(rec) + "." + column + ", but " + table + " has no column " +
                        text::quote_ident(column) + ": every write that fires it fails with PostgreSQL's " +
                        "\"record \"" + rec + "\" has no field \"" + column + "\"\"";
            out.push_back(std::move(h));
        }
    }
    // LANGUAGE sql bodies (not BEGIN ATOMIC ones, which the catalog tracks) are only checked when
    // created: ask the server's own validator again.
    auto functions = session.exec(
        "SELECT p.oid::text, p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "JOIN pg_language l ON l.oid = p.prolang WHERE l.lanname = 'sql' AND p.prosqlbody IS NULL AND " +
        schema_filter("n.nspname", exclude) +
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid "
        "AND d.deptype = 'e') ORDER BY 2");
    for (std::size_t i = 0; i < functions.size(); ++i) {
        try {
            session.exec("SELECT pg_catalog.fmgr_sql_validator(" + functions.get(i, 0) + "::oid)");
        } catch (const db::DbError& e) {
            if (e.connection_lost()) throw;
            std::string msg = e.what();
            msg = msg.substr(0, msg.find('\n'));
            Hazard h;
            h.key = "sql-function|" + functions.get(i, 1) + "|" + msg;
            h.object = "function " + functions.get(i, 1);
            h.message = "function " + functions.get(i, 1) + " no longer compiles: " + msg;
            out.push_back(std::move(h));
        }
    }
    return out;
}

}  // namespace rollsafe::compat
