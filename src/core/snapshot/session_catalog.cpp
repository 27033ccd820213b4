#include "core/snapshot/session_catalog.h"

#include <cctype>
#include <set>

#include "core/base/text.h"

namespace rollsafe::snapshot {
namespace {

const char* kRelationColumns =
    "SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace ";

}  // namespace

std::vector<Relation> SessionCatalog::relations(const std::string& sql,
                                                const std::vector<db::Param>& params) {
    auto r = m_session.exec_params(sql, params);
    std::vector<Relation> out;
    for (std::size_t i = 0; i < r.size(); ++i) {
        Relation rel;
        rel.oid = std::stoll(r.get(i, 0, "0"));
        rel.schema = r.get(i, 1);
        rel.name = r.get(i, 2);
        auto kind = r.get(i, 3);
        rel.kind = kind.empty() ? 'r' : kind[0];
        out.push_back(rel);
    }
    return out;
}

std::optional<Relation> SessionCatalog::find_relation(const std::string& schema,
                                                      const std::string& name,
                                                      const std::vector<std::string>& search_path) {
    auto in_schema = [&](const std::string& s) -> std::optional<Relation> {
        auto found = relations(
            std::string(kRelationColumns) + "WHERE n.nspname = $1 AND c.relname = $2", {s, name});
        if (found.empty())
            return std::nullopt;
        return found.front();
    };
    if (!schema.empty())
        return in_schema(schema);
    if (!search_path.empty()) {
        for (auto s : search_path) {
            if (s == "$user")
                s = m_session.exec("SELECT current_user").get(0, 0);
            if (auto rel = in_schema(s))
                return rel;
        }
        return std::nullopt;
    }
    auto found = relations(std::string(kRelationColumns) + "WHERE c.oid = to_regclass($1)",
                           {text::quote_ident(name)});
    if (found.empty())
        return std::nullopt;
    return found.front();
}

std::optional<Relation> SessionCatalog::table_of_index(const Relation& index) {
    auto found = relations(std::string(kRelationColumns) +
                               "JOIN pg_index i ON i.indrelid = c.oid WHERE i.indexrelid = $1::oid",
                           {std::to_string(index.oid)});
    if (found.empty())
        return std::nullopt;
    return found.front();
}

std::vector<Relation> SessionCatalog::referencing_tables(const Relation& table) {
    return relations(std::string(kRelationColumns) +
                         "WHERE c.oid IN (SELECT conrelid FROM pg_constraint WHERE contype = 'f' "
                         "AND confrelid = $1::oid AND conrelid <> $1::oid) ORDER BY 2, 3",
                     {std::to_string(table.oid)});
}

std::vector<Relation> SessionCatalog::child_tables(const Relation& table) {
    return relations(std::string(kRelationColumns) +
                         "WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = "
                         "$1::oid) ORDER BY 2, 3",
                     {std::to_string(table.oid)});
}

std::vector<Relation> SessionCatalog::dependent_views(const Relation& relation) {
    return relations(
        "WITH RECURSIVE v(oid) AS ("
        " SELECT r.ev_class FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid"
        "  WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass"
        "  AND d.refobjid = $1::oid AND r.ev_class <> $1::oid"
        " UNION"
        " SELECT r.ev_class FROM v JOIN pg_depend d ON d.refobjid = v.oid AND d.refclassid = "
        "'pg_class'::regclass"
        "  AND d.classid = 'pg_rewrite'::regclass JOIN pg_rewrite r ON r.oid = d.objid WHERE "
        "r.ev_class <> v.oid)"
        " SELECT c.oid::bigint, n.nspname, c.relname, c.relkind::text FROM v JOIN pg_class c ON "
        "c.oid = v.oid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 2, 3",
        {std::to_string(relation.oid)});
}

FunctionInfo SessionCatalog::function_info(const std::string& schema, const std::string& name) {
    auto r = m_session.exec_params(
        "SELECT n.nspname = 'pg_catalog', p.provolatile::text FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = $1 AND ($2 = '' OR "
        "n.nspname = $2)",
        {name, schema});
    FunctionInfo info;
    for (std::size_t i = 0; i < r.size(); ++i) {
        if (r.get(i, 0) == "t")
            info.builtin = true;
        else if (r.get(i, 1) == "v")
            info.user_volatile = true;
        else
            info.user_stable = true;
    }
    return info;
}

std::vector<std::string> SessionCatalog::side_effects(const Relation& table) {
    std::vector<std::string> out;
    auto triggers = m_session.exec_params(
        "SELECT t.tgname, p.oid::regprocedure::text, l.lanname, p.prosrc, n.nspname FROM "
        "pg_trigger t "
        "JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_language l ON l.oid = p.prolang "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE t.tgrelid = $1::oid AND NOT t.tgisinternal AND t.tgenabled <> 'D' ORDER BY 1",
        {std::to_string(table.oid)});
    for (std::size_t i = 0; i < triggers.size(); ++i) {
        if (triggers.get(i, 4) == "pg_catalog")
            continue;  // built-in trigger functions only touch NEW
        auto lang = triggers.get(i, 2);
        if ((lang == "plpgsql" || lang == "sql") && !body_may_write(triggers.get(i, 3)))
            continue;
        out.push_back("trigger " + triggers.get(i, 0) + " (" + triggers.get(i, 1) + ")");
    }
    auto rules = m_session.exec_params(
        "SELECT rulename FROM pg_rewrite WHERE ev_class = $1::oid AND ev_type <> '1' ORDER BY 1",
        {std::to_string(table.oid)});
    for (std::size_t i = 0; i < rules.size(); ++i)
        out.push_back("rule " + rules.get(i, 0));
    return out;
}

bool body_may_write(const std::string& body) {
    // Keep words only: drop comments, string literals and quoted identifiers.
    std::string words;
    for (std::size_t i = 0; i < body.size();) {
        char c = body[i];
        if (c == '-' && i + 1 < body.size() && body[i + 1] == '-') {
            while (i < body.size() && body[i] != '\n')
                ++i;
        } else if (c == '/' && i + 1 < body.size() && body[i + 1] == '*') {
            auto end = body.find("*/", i + 2);
            i = end == std::string::npos ? body.size() : end + 2;
        } else if (c == '\'' || c == '"') {
            ++i;
            while (i < body.size()) {
                if (body[i] == c && i + 1 < body.size() && body[i + 1] == c)
                    i += 2;
                else if (body[i] == c)
                    break;
                else
                    ++i;
            }
            ++i;
            words += ' ';
        } else {
            words += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            ++i;
        }
    }
    static const std::set<std::string> writes = {
        "insert", "update", "delete", "merge", "truncate", "copy", "call", "perform", "execute"};
    std::string word;
    for (std::size_t i = 0; i <= words.size(); ++i) {
        char c = i < words.size() ? words[i] : ' ';
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$') {
            word += c;
        } else {
            if (writes.count(word))
                return true;
            word.clear();
        }
    }
    return false;
}

}  // namespace rollsafe::snapshot
