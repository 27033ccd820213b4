#include "core/compat/replay.h"

#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/text.h"
#include "core/migrations/executable.h"

namespace rollsafe::compat {
namespace {

std::string first_line(const std::string& s) {
    auto out = s.substr(0, s.find('\n'));
    while (!out.empty() && (out.back() == ' ' || out.back() == '\r'))
        out.pop_back();
    return out;
}

// Visits every object of a parse tree.
template <typename F>
void walk(const nlohmann::json& j, F&& visit) {
    if (j.is_object()) {
        visit(j);
        for (auto it = j.begin(); it != j.end(); ++it)
            walk(it.value(), visit);
    } else if (j.is_array()) {
        for (const auto& v : j)
            walk(v, visit);
    }
}

}  // namespace

std::vector<sql::Statement> statements_of(const Script& script) {
    if (!script.statements.empty() || text::trim(script.text).empty())
        return script.statements;
    auto parsed = sql::parse_script(script.text);
    for (auto& st : parsed.statements)
        st.line += script.first_line - 1;
    return parsed.statements;
}

ApplyOutcome apply_script(db::Session& session, const Script& script) {
    ApplyOutcome out;
    Script copy = script;
    copy.statements = statements_of(script);
    std::vector<Diagnostic> problems;
    auto statements = executable_statements(copy, problems);
    if (!problems.empty()) {
        out.ok = false;
        out.error = problems.front().message;
        out.file = problems.front().file;
        out.line = problems.front().line;
        out.col = problems.front().col;
        return out;
    }
    const sql::Statement* current = nullptr;
    try {
        if (script.no_transaction()) {
            for (const auto& st : statements) {
                interrupt::check();
                current = &st;
                session.exec(st.text);
            }
        } else {
            db::Transaction tx(session);
            for (const auto& st : statements) {
                interrupt::check();
                current = &st;
                session.exec(st.text);
            }
            current = nullptr;
            tx.commit();
        }
    } catch (const db::DbError& e) {
        if (e.connection_lost())
            throw Error(ExitCode::unavailable,
                        std::string("lost the scratch database: ") + e.what());
        out.ok = false;
        out.error = first_line(e.what());
        out.sqlstate = e.sqlstate();
        out.file = script.path;
        if (current) {
            out.line = current->line;
            out.col = current->col;
        }
    }
    return out;
}

std::set<std::string> roles_named(const std::vector<const Migration*>& migrations) {
    std::set<std::string> named, created;
    auto scan = [&](const Script& s) {
        for (const auto& st : statements_of(s)) {
            walk(st.node(), [&](const nlohmann::json& o) {
                // A RoleSpec: wrapped in lists (GRANT ... TO), bare in fields (OWNER TO).
                if (o.value("roletype", "") == "ROLESPEC_CSTRING")
                    named.insert(o.value("rolename", ""));
                if (auto it = o.find("CreateRoleStmt"); it != o.end() && it->is_object())
                    created.insert(it->value("role", ""));
            });
        }
    };
    for (const auto* m : migrations) {
        scan(m->up);
        if (m->down)
            scan(*m->down);
    }
    std::set<std::string> out;
    for (const auto& r : named)
        if (!r.empty() && !created.count(r) && !text::starts_with(r, "pg_"))
            out.insert(r);
    return out;
}

void ensure_roles(db::Session& session, const std::set<std::string>& roles) {
    if (roles.empty())
        return;
    auto existing = session.exec("SELECT rolname FROM pg_roles");
    std::set<std::string> have;
    for (std::size_t i = 0; i < existing.size(); ++i)
        have.insert(existing.get(i, 0));
    for (const auto& r : roles)
        if (!have.count(r))
            session.exec("CREATE ROLE " + text::quote_ident(r) + " NOLOGIN");
}

std::set<std::string> names_in(const Script& script) {
    std::set<std::string> out;
    for (const auto& st : statements_of(script)) {
        walk(st.node(), [&](const nlohmann::json& o) {
            for (const char* key : {"relname", "sval", "str", "conname", "idxname", "trigname",
                                    "newname", "subname", "funcname", "name", "defname"}) {
                auto it = o.find(key);
                if (it != o.end() && it->is_string())
                    out.insert(it->get<std::string>());
            }
        });
    }
    return out;
}

}  // namespace rollsafe::compat
