#include "core/check/pg_types.h"

#include <set>

#include "core/base/text.h"

namespace rollsafe::check {
namespace {

struct Alias {
    const char* written;
    const char* canonical;
    bool serial;
};

// Built-in names as libpg_query reports them (SQL-standard spellings arrive as pg_catalog.x).
const Alias kAliases[] = {
    {"int2", "int2", false},
    {"smallint", "int2", false},
    {"int4", "int4", false},
    {"int", "int4", false},
    {"integer", "int4", false},
    {"int8", "int8", false},
    {"bigint", "int8", false},
    {"serial", "int4", true},
    {"serial4", "int4", true},
    {"bigserial", "int8", true},
    {"serial8", "int8", true},
    {"smallserial", "int2", true},
    {"serial2", "int2", true},
    {"float4", "float4", false},
    {"real", "float4", false},
    {"float8", "float8", false},
    {"float", "float8", false},
    {"numeric", "numeric", false},
    {"decimal", "numeric", false},
    {"varchar", "varchar", false},
    {"bpchar", "bpchar", false},
    {"text", "text", false},
    {"bool", "bool", false},
    {"boolean", "bool", false},
    {"date", "date", false},
    {"time", "time", false},
    {"timetz", "timetz", false},
    {"timestamp", "timestamp", false},
    {"timestamptz", "timestamptz", false},
    {"interval", "interval", false},
    {"json", "json", false},
    {"jsonb", "jsonb", false},
    {"uuid", "uuid", false},
    {"bytea", "bytea", false},
    {"inet", "inet", false},
    {"cidr", "cidr", false},
    {"macaddr", "macaddr", false},
    {"bit", "bit", false},
    {"varbit", "varbit", false},
    {"money", "money", false},
    {"xml", "xml", false},
    {"tsvector", "tsvector", false},
    {"oid", "oid", false},
    {"point", "point", false},
    {"tstzrange", "tstzrange", false},
    {"tsrange", "tsrange", false},
    {"daterange", "daterange", false},
    {"int4range", "int4range", false},
    {"int8range", "int8range", false},
    {"numrange", "numrange", false},
};

std::string family(const std::string& name) {
    if (name == "int2" || name == "int4" || name == "int8")
        return "integer";
    if (name == "numeric")
        return "numeric";
    if (name == "float4" || name == "float8")
        return "float";
    if (name == "text" || name == "varchar" || name == "bpchar")
        return "string";
    if (name == "timestamp" || name == "timestamptz")
        return "timestamp";
    if (name == "time" || name == "timetz")
        return "time";
    if (name == "json" || name == "jsonb")
        return "json";
    if (name == "inet" || name == "cidr")
        return "network";
    if (name == "bit" || name == "varbit")
        return "bits";
    return name;
}

int integer_rank(const std::string& name) {
    if (name == "int2")
        return 2;
    if (name == "int4")
        return 4;
    if (name == "int8")
        return 8;
    return 0;
}

bool has_precision_mod(const std::string& name) {
    return name == "timestamp" || name == "timestamptz" || name == "time" || name == "timetz" ||
           name == "interval";
}

// Numeric-like families where moving to a wider type keeps every value.
bool widens_numeric(const TypeRef& from, const TypeRef& to) {
    auto ff = family(from.name), ft = family(to.name);
    if (ff == "integer" && ft == "integer")
        return integer_rank(to.name) >= integer_rank(from.name);
    if (ff == "float" && ft == "float")
        return !(from.name == "float8" && to.name == "float4");
    if (ff == "integer" && ft == "numeric")
        return to.mods.empty();
    return false;
}

const std::set<std::string>& stable_functions() {
    static const std::set<std::string> names = {
        "now",
        "transaction_timestamp",
        "statement_timestamp",
        "current_timestamp",
        "localtimestamp",
        "current_date",
        "current_time",
        "localtime",
        "current_setting",
        "current_user",
        "session_user",
        "current_schema",
        "current_database",
        "lower",
        "upper",
        "length",
        "char_length",
        "concat",
        "concat_ws",
        "to_char",
        "to_timestamp",
        "to_date",
        "to_number",
        "date_trunc",
        "date_part",
        "extract",
        "make_date",
        "make_time",
        "make_timestamp",
        "make_timestamptz",
        "make_interval",
        "jsonb_build_object",
        "jsonb_build_array",
        "json_build_object",
        "json_build_array",
        "to_jsonb",
        "to_json",
        "jsonb_object",
        "array_fill",
        "abs",
        "round",
        "floor",
        "ceil",
        "ceiling",
        "trunc",
        "btrim",
        "ltrim",
        "rtrim",
        "trim",
        "substr",
        "substring",
        "replace",
        "md5",
        "left",
        "right",
        "lpad",
        "rpad",
        "format",
        "timezone",
        "coalesce",
        "nullif",
        "greatest",
        "least",
        "int4",
        "int8",
        "text",
        "numeric",
        "array_length",
        "cardinality",
        "encode",
        "decode",
        "inet",
        "point",
        "tstzrange",
        "tsrange",
        "daterange",
        "int4range",
        "int8range",
        "numrange",
        "age",
        "sha256",
        "sha512",
        "string_to_array",
        "array_to_string",
        "regexp_replace",
        "split_part",
        "initcap",
        "pg_catalog.now",
    };
    return names;
}

const std::set<std::string>& volatile_functions() {
    static const std::set<std::string> names = {
        "random",
        "random_normal",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuid_generate_v7",
        "uuidv4",
        "uuidv7",
        "gen_random_bytes",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "setval",
        "txid_current",
        "pg_current_xact_id",
        "currval",
        "lastval",
    };
    return names;
}

void find_volatile(const tree::Node& n, const FunctionVolatility& known, std::string& found) {
    if (!found.empty())
        return;
    if (n.is_array()) {
        for (const auto& item : n)
            find_volatile(item, known, found);
        return;
    }
    if (!n.is_object())
        return;
    for (auto* m = n.members_begin(); m != n.members_end(); ++m) {
        if (m->key == "FuncCall") {
            const auto& call = m->value;
            std::string name = text::to_lower(tree::last_name(call["funcname"]));
            std::string full = text::to_lower(tree::dotted_name(call["funcname"]));
            if (volatile_functions().count(name)) {
                found = full + "()";
                return;
            }
            auto k = known.find(full);
            if (k == known.end())
                k = known.find(name);
            bool is_stable =
                k != known.end() ? k->second != 'v' : stable_functions().count(name) > 0;
            if (!is_stable) {
                found = full + "()";
                return;
            }
            find_volatile(call["args"], known, found);
        } else {
            find_volatile(m->value, known, found);
        }
        if (!found.empty())
            return;
    }
}

}  // namespace

std::string TypeRef::sql() const {
    static const std::map<std::string, std::string> spelled = {
        {"int2", "smallint"},
        {"int4", "integer"},
        {"int8", "bigint"},
        {"float4", "real"},
        {"float8", "double precision"},
        {"bpchar", "char"},
        {"bool", "boolean"},
    };
    std::string out;
    if (serial) {
        out = name == "int8" ? "bigserial" : name == "int2" ? "smallserial" : "serial";
    } else {
        auto it = spelled.find(name);
        out = it == spelled.end() ? name : it->second;
    }
    if (!mods.empty()) {
        out += "(";
        for (std::size_t i = 0; i < mods.size(); ++i)
            out += (i ? "," : "") + std::to_string(mods[i]);
        out += ")";
    }
    if (array)
        out += "[]";
    return out;
}

TypeRef type_from_node(const tree::Node& type_name) {
    TypeRef t;
    const auto& names = type_name["names"];
    if (names.size() == 0)
        return t;
    std::string first = std::string(names.at(0)["String"]["sval"].str());
    std::string last = std::string(tree::last_name(names));
    bool catalog = names.size() > 1 && first == "pg_catalog";
    bool builtin = false;
    // A bare "char" (quoted in SQL) is PostgreSQL's internal one-byte type, not char(n).
    if (!(last == "char" && !catalog)) {
        for (const auto& a : kAliases) {
            if (last == a.written && (names.size() == 1 || catalog)) {
                t.name = a.canonical;
                t.serial = a.serial;
                builtin = true;
                break;
            }
        }
    }
    if (!builtin) {
        t.name = tree::dotted_name(names);
        t.user_defined = true;
    }
    for (const auto& m : type_name["typmods"]) {
        const auto& c = m["A_Const"];
        if (c.is_null())
            continue;
        t.mods.push_back(static_cast<long>(c["ival"]["ival"].integer()));
    }
    // interval's modifiers are field masks, not a precision a person wrote.
    if (t.name == "interval")
        t.mods.clear();
    t.array = type_name["arrayBounds"].size() > 0;
    return t;
}

TypeChange classify_type_change(const TypeRef* from, const TypeRef& to, bool has_using,
                                int pg_version) {
    TypeChange c;
    if (!from) {
        bool limited = !to.mods.empty() || to.name == "int2" || to.name == "int4" ||
                       to.name == "float4" || to.name == "bpchar";
        if ((to.name == "text" || (to.name == "varchar" && to.mods.empty())) && !to.array) {
            c.rewrite = has_using;
            c.detail =
                has_using
                    ? "the USING expression is computed for every row"
                    : "assumed binary-coercible from varchar or text (rollsafe has not seen the "
                      "column's current type)";
            return c;
        }
        c.rewrite = true;
        c.narrowing = limited;
        c.detail =
            "rollsafe has not seen the column's current type; unless it is binary-coercible to " +
            to.sql() + ", PostgreSQL rewrites the table" +
            (limited ? std::string(", and ") + to.sql() + " may reject values the old app writes"
                     : "");
        return c;
    }
    const TypeRef& f = *from;
    if (f.array != to.array) {
        c.rewrite = true;
        c.narrowing = true;
        c.detail = f.sql() + " to " + to.sql() + " changes between an array and a scalar";
        return c;
    }
    if (f == to && !has_using)
        return c;
    bool free = false;
    std::string why_free;
    if (f.name == "varchar" && to.name == "text") {
        free = true;
    } else if (f.name == "text" && to.name == "varchar" && to.mods.empty()) {
        free = true;
    } else if (f.name == to.name && (f.name == "varchar" || f.name == "varbit")) {
        free = to.mods.empty() || (!f.mods.empty() && to.mods[0] >= f.mods[0]);
    } else if (f.name == "numeric" && to.name == "numeric") {
        if (to.mods.empty()) {
            free = true;
        } else if (!f.mods.empty()) {
            long fs = f.mods.size() > 1 ? f.mods[1] : 0, ts = to.mods.size() > 1 ? to.mods[1] : 0;
            free = ts == fs && to.mods[0] >= f.mods[0];
        }
    } else if (f.name == to.name && has_precision_mod(f.name)) {
        free = to.mods.empty() || (!f.mods.empty() && to.mods[0] >= f.mods[0]);
    } else if (f.name == "cidr" && to.name == "inet") {
        free = true;
    }
    if (free && !has_using) {
        c.detail = f.sql() + " to " + to.sql() + " is binary-coercible: no rewrite";
        return c;
    }
    c.rewrite = true;
    if ((f.name == "timestamp" && to.name == "timestamptz") ||
        (f.name == "timestamptz" && to.name == "timestamp")) {
        c.detail = f.sql() + " to " + to.sql() +
                   (pg_version >= 12 ? " rewrites the table unless the session time zone is UTC"
                                     : " rewrites the table");
        return c;
    }
    auto ff = family(f.name), ft = family(to.name);
    if (ff != ft && !widens_numeric(f, to) && !(ft == "string" && to.mods.empty())) {
        c.narrowing = true;
        c.detail = f.sql() + " to " + to.sql() +
                   " changes the kind of value: the old app reads and writes " + f.sql();
        return c;
    }
    if (ff == "integer" && ft == "integer" && integer_rank(to.name) < integer_rank(f.name))
        c.narrowing = true;
    if (f.name == "float8" && to.name == "float4")
        c.narrowing = true;
    if ((f.name == "varchar" || f.name == "bpchar" || f.name == "varbit" || f.name == "bit") &&
        !to.mods.empty() && (f.mods.empty() || to.mods[0] < f.mods[0]))
        c.narrowing = true;
    if (f.name == "text" && !to.mods.empty())
        c.narrowing = true;
    if (f.name == "numeric" && to.name == "numeric" && !to.mods.empty()) {
        long fs = f.mods.size() > 1 ? f.mods[1] : 0, ts = to.mods.size() > 1 ? to.mods[1] : 0;
        c.narrowing = f.mods.empty() || to.mods[0] - ts < f.mods[0] - fs || ts < fs;
    }
    if (ff == "integer" && ft == "numeric" && !to.mods.empty())
        c.narrowing = true;
    c.detail = f.sql() + " to " + to.sql() +
               (c.narrowing ? " narrows the type: PostgreSQL rewrites the table, "
                              "and values the old app writes may no longer fit"
                            : " is not binary-coercible: PostgreSQL rewrites the table");
    if (has_using)
        c.detail += " (USING computes every row)";
    return c;
}

std::string volatile_function_in(const tree::Node& expr, const FunctionVolatility& known) {
    std::string found;
    find_volatile(expr, known, found);
    return found;
}

bool is_null_constant(const tree::Node& expr) {
    const auto& c = expr["A_Const"];
    if (!c.is_null())
        return c["isnull"].boolean();
    const auto& cast = expr["TypeCast"];
    if (!cast.is_null())
        return is_null_constant(cast["arg"]);
    return false;
}

}  // namespace rollsafe::check
