#include "core/compat/contract.h"

#include <cerrno>
#include <cstring>
#include <set>

#include "core/base/fs.h"
#include "core/base/text.h"
#include "core/sql/parser.h"

namespace rollsafe::compat {
namespace {

const nlohmann::json* member(const nlohmann::json& j, const char* key) {
    if (!j.is_object())
        return nullptr;
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
}

std::string string_of(const nlohmann::json* j, const char* key) {
    if (!j)
        return "";
    auto* v = member(*j, key);
    return v && v->is_string() ? v->get<std::string>() : "";
}

// True when a target list has `*` or `t.*` at its top level (the result follows the table).
bool has_star(const nlohmann::json* target_list) {
    if (!target_list || !target_list->is_array())
        return false;
    for (const auto& item : *target_list) {
        auto* rt = member(item, "ResTarget");
        auto* val = rt ? member(*rt, "val") : nullptr;
        auto* ref = val ? member(*val, "ColumnRef") : nullptr;
        auto* fields = ref ? member(*ref, "fields") : nullptr;
        if (!fields || !fields->is_array())
            continue;
        for (const auto& f : *fields)
            if (member(f, "A_Star"))
                return true;
    }
    return false;
}

bool select_has_star(const nlohmann::json* select) {
    if (!select)
        return false;
    if (has_star(member(*select, "targetList")))
        return true;
    for (const char* side : {"larg", "rarg"}) {
        // larg/rarg hold a SelectStmt's fields directly (a typed field, not a wrapped node).
        auto* arm = member(*select, side);
        auto* inner = arm ? member(*arm, "SelectStmt") : nullptr;
        if (arm && select_has_star(inner ? inner : arm))
            return true;
    }
    return false;
}

void analyse_insert(const nlohmann::json& insert, ContractStatement& s) {
    auto* rel = member(insert, "relation");
    std::string schema = string_of(rel, "schemaname");
    std::string name = string_of(rel, "relname");
    s.insert_table = schema.empty() ? text::quote_ident(name)
                                    : text::quote_ident(schema) + "." + text::quote_ident(name);
    if (auto* cols = member(insert, "cols"); cols && cols->is_array() && !cols->empty()) {
        for (const auto& c : *cols)
            s.insert_columns.push_back(string_of(member(c, "ResTarget"), "name"));
    } else {
        s.insert_all_columns = true;
    }
    s.star = has_star(member(insert, "returningList"));
    // INSERT ... VALUES ($1, $2): which column each parameter fills.
    auto* sel = member(insert, "selectStmt");
    auto* ss = sel ? member(*sel, "SelectStmt") : nullptr;
    auto* values = ss ? member(*ss, "valuesLists") : nullptr;
    if (!values || !values->is_array() || values->empty() || s.insert_all_columns)
        return;
    auto* first = member((*values)[0], "List");
    auto* items = first ? member(*first, "items") : nullptr;
    if (!items || !items->is_array())
        return;
    for (std::size_t i = 0; i < items->size() && i < s.insert_columns.size(); ++i) {
        const auto& item = (*items)[i];
        const nlohmann::json* p = member(item, "ParamRef");
        if (!p) {  // $1::int and the like
            if (auto* cast = member(item, "TypeCast")) {
                if (auto* arg = member(*cast, "arg"))
                    p = member(*arg, "ParamRef");
            }
        }
        if (!p)
            continue;
        if (auto* n = member(*p, "number"); n && n->is_number_integer())
            s.parameter_columns[n->get<int>()] = s.insert_columns[i];
    }
}

}  // namespace

std::string contract_path(const std::string& dir, const std::string& release) {
    return (dir.empty() ? std::string(".") : dir) + "/" + release + ".sql";
}

std::string contracts_dir_for(const std::string& migrations_dir) {
    std::string dir = migrations_dir;
    while (dir.size() > 1 && dir.back() == '/')
        dir.pop_back();
    auto slash = dir.rfind('/');
    if (slash == std::string::npos)
        return "contracts";
    return dir.substr(0, slash) + "/contracts";
}

Contract parse_contract(const std::string& path, const std::string& text) {
    Contract c;
    c.path = path;
    auto parsed = sql::parse_script(text);
    if (parsed.error) {
        throw Error(
            ExitCode::usage,
            path + ":" + std::to_string(parsed.error->line) + ":" +
                std::to_string(parsed.error->col) + ": " + parsed.error->message,
            "a contract holds the statements the app runs, one per `;`, parameters as $1, $2, ...",
            {{path, parsed.error->line, parsed.error->col, parsed.error->message, ""}});
    }
    int index = 0;
    for (auto& st : parsed.statements) {
        ContractStatement s;
        s.index = index++;
        s.text = st.text;
        s.file = path;
        s.line = st.line;
        s.col = st.col;
        s.kind = st.kind;
        s.fingerprint = sql::fingerprint(st.text);
        static const std::set<std::string> kPreparable = {"SelectStmt", "InsertStmt", "UpdateStmt",
                                                          "DeleteStmt", "MergeStmt"};
        s.preparable = kPreparable.count(st.kind) > 0;
        const nlohmann::json node = st.node();
        const nlohmann::json* body = member(node, st.kind.c_str());
        if (st.kind == "SelectStmt") {
            s.star = select_has_star(body);
        } else if (st.kind == "InsertStmt" && body) {
            analyse_insert(*body, s);
        } else if ((st.kind == "UpdateStmt" || st.kind == "DeleteStmt") && body) {
            s.star = has_star(member(*body, "returningList"));
        }
        c.statements.push_back(std::move(s));
    }
    return c;
}

Contract read_contract(const std::string& path) {
    int err = 0;
    auto content = fs::read_file(path, &err);
    if (!content)
        throw usage_error(path + ": cannot read: " + std::strerror(err));
    return parse_contract(path, *content);
}

}  // namespace rollsafe::compat
