#include "core/compat/sample_rows.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/base/error.h"
#include "core/base/text.h"

namespace rollsafe::compat {
namespace {

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

int typmod_length(const std::string& type) {
    auto open = type.find('(');
    if (open == std::string::npos) return 0;
    return std::atoi(type.c_str() + open + 1);
}

std::string row_query(const SampleTable& t) {
    return "SELECT ROW(" + text::join(t.blue_columns, ", ") + ")::text FROM " + t.name + " ORDER BY 1";
}

std::vector<std::string> column_of(const db::Result& r) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.size(); ++i) out.push_back(r.get(i, 0));
    return out;
}

}  // namespace

std::optional<std::string> sample_value(db::Session& session, const std::string& table, const std::string& column,
                                        const std::string& type, int n) {
    if (!column.empty()) {
        auto fk = session.exec_params(
            "SELECT quote_ident(rn.nspname) || '.' || quote_ident(rc.relname), quote_ident(ra.attname) "
            "FROM pg_constraint co JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1] "
            "JOIN pg_class rc ON rc.oid = co.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
            "JOIN pg_attribute ra ON ra.attrelid = co.confrelid AND ra.attnum = co.confkey[1] "
            "WHERE co.contype = 'f' AND co.conrelid = to_regclass($1) AND a.attname = $2 "
            "AND cardinality(co.conkey) = 1 LIMIT 1",
            {table, column});
        if (!fk.empty()) {
            auto key = session.exec("SELECT " + fk.get(0, 1) + "::text FROM " + fk.get(0, 0) + " ORDER BY " + fk.get(0, 1) +
                                    " DESC LIMIT 1");
            if (key.empty()) return std::nullopt;
            return key.get(0, 0);
        }
    }
    if (text::ends_with(type, "[]")) return std::string("{}");
    std::string base = type.substr(0, type.find('('));
    if (base == "smallint" || base == "integer" || base == "bigint" || base == "numeric" || base == "real" ||
        base == "double precision" || base == "money" || base == "oid")
        return std::to_string(n);
    if (base == "text" || base == "character varying" || base == "character" || base == "name" || base == "citext") {
        std::string v = "sample-" + std::to_string(n) + "@example.com";
        int len = typmod_length(type);
        if (len > 0 && static_cast<int>(v.size()) > len) v = "s" + std::to_string(n);
        if (len > 0 && static_cast<int>(v.size()) > len) v = v.substr(v.size() - static_cast<std::size_t>(len));
        return v;
    }
    if (base == "boolean") return std::string("true");
    if (base == "date") return std::string("2024-01-01");
    if (text::starts_with(base, "timestamp")) return std::string("2024-01-01 00:00:00+00");
    if (text::starts_with(base, "time")) return std::string("12:00:00");
    if (text::starts_with(base, "interval")) return std::string("1 hour");
    if (base == "uuid") {
        char buf[40];
        std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", n);
        return std::string(buf);
    }
    if (base == "json" || base == "jsonb") return std::string("{}");
    if (base == "bytea") return std::string("\\x00");
    if (base == "inet" || base == "cidr") return std::string("127.0.0.1");
    auto t = session.exec_params(
        "SELECT t.typtype::text, format_type(t.typbasetype, t.typtypmod), "
        "(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder LIMIT 1) "
        "FROM pg_type t WHERE t.oid = to_regtype($1)",
        {type});
    if (t.empty()) return std::nullopt;
    if (t.get(0, 0) == "e" && t.rows[0][2]) return *t.rows[0][2];
    if (t.get(0, 0) == "d") return sample_value(session, table, "", t.get(0, 1), n);
    return std::nullopt;
}

SampleRows insert_sample_rows(db::Session& session, const ContractRun& green, std::size_t state, const Catalog& before) {
    SampleRows out;
    std::vector<std::string> tables;
    int n = 1;
    for (const auto& st : green.statements) {
        if (st.kind != "InsertStmt" || st.insert_table.empty()) continue;
        const auto& cell = green.cells[static_cast<std::size_t>(st.index)][state];
        if (cell.status != "works" && cell.status != "warns") continue;
        std::vector<db::Param> params;
        try {
            for (std::size_t k = 0; k < cell.parameter_types.size(); ++k) {
                auto col = st.parameter_columns.find(static_cast<int>(k) + 1);
                params.push_back(sample_value(session, st.insert_table,
                                              col == st.parameter_columns.end() ? "" : col->second,
                                              cell.parameter_types[k], n));
            }
            session.exec_params(st.text, params);
            ++out.inserted;
            auto name = session.exec_params(
                "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
                {st.insert_table});
            if (!name.empty() && std::find(tables.begin(), tables.end(), name.get(0, 0)) == tables.end())
                tables.push_back(name.get(0, 0));
        } catch (const db::DbError& e) {
            if (e.connection_lost()) throw Error(ExitCode::unavailable, std::string("lost the scratch database: ") + e.what());
            out.notes.push_back(st.file + ":" + std::to_string(st.line) + ": no sample row: " + first_line(e.what()));
        }
        ++n;
    }
    for (const auto& name : tables) {
        if (!before.objects.count("relation:" + name)) {
            out.notes.push_back(name + " is new in " + green.release + ": its rows go when its down drops it");
            continue;
        }
        SampleTable t;
        t.name = name;
        auto cols = session.exec_params(
            "SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            {name});
        for (const auto& c : column_of(cols)) {
            if (before.objects.count("column:" + name + "." + c)) t.blue_columns.push_back(c);
            else t.green_columns.push_back(c);
        }
        if (t.blue_columns.empty()) continue;
        t.rows = column_of(session.exec(row_query(t)));
        out.tables.push_back(std::move(t));
    }
    return out;
}

std::vector<SampleTable*> check_sample_rows(db::Session& session, SampleRows& rows, const std::string& migration) {
    std::vector<SampleTable*> lossy;
    for (auto& t : rows.tables) {
        if (t.lost) continue;
        if (session.exec_params("SELECT to_regclass($1) IS NULL", {t.name}).get(0, 0) == "t") {
            t.lost = true;
            t.lost_how = "table dropped with its " + std::to_string(t.rows.size()) + " row(s)";
        } else {
            try {
                auto now = column_of(session.exec(row_query(t)));
                std::multiset<std::string> have(now.begin(), now.end());
                std::size_t gone = 0;
                for (const auto& r : t.rows) {
                    auto it = have.find(r);
                    if (it == have.end()) ++gone;
                    else have.erase(it);
                }
                if (gone) {
                    t.lost = true;
                    t.lost_how = std::to_string(gone) + " of " + std::to_string(t.rows.size()) +
                                 " row(s) gone or changed as the old release reads them";
                }
            } catch (const db::DbError& e) {
                if (e.connection_lost()) throw Error(ExitCode::unavailable, std::string("lost the scratch database: ") + e.what());
                t.lost = true;
                t.lost_how = "the old release cannot read them: " + first_line(e.what());
            }
        }
        if (t.lost) {
            t.lost_by = migration;
            lossy.push_back(&t);
        }
    }
    return lossy;
}

}  // namespace rollsafe::compat
