#include "cli/commands.h"
#include "cli/render.h"
#include "core/base/error.h"
#include "core/engine/port.h"
#include "core/migrations/reader.h"
#include "core/sqlite/script.h"

namespace rollsafe::cli {

int run_validate(Context& ctx, const ValidateArgs&) {
    std::vector<Diagnostic> problems;
    // On SQLite (a sqlite: database URL) the scripts are SQLite's dialect: PostgreSQL's parser
    // is not asked; statements are split as the SQLite engine runs them (docs/sqlite.md).
    const bool sqlite = engine_kind(ctx.config.database_url) == EngineKind::sqlite;
    auto set = read_migrations(ctx.config.migrations_dir, ctx.config.layout, problems, !sqlite);
    std::size_t statements = 0;
    for (const auto& m : set.migrations) {
        if (!sqlite) {
            statements += m.up.statements.size();
            if (m.down)
                statements += m.down->statements.size();
            continue;
        }
        for (const Script* sc : {&m.up, m.down ? &*m.down : nullptr}) {
            if (!sc)
                continue;
            if (sc->no_transaction())
                problems.push_back({sc->path, 0, 0, "-- rollsafe:no-transaction is not supported on SQLite",
                                    "SQLite runs DDL in transactions; remove the directive"});
            try {
                statements += sqlite::plan_script(sc->path, sc->text, sc->first_line).size();
            } catch (const Error& e) {
                problems.insert(problems.end(), e.diagnostics().begin(), e.diagnostics().end());
            }
        }
    }
    if (ctx.json()) {
        nlohmann::json errors = nlohmann::json::array(), warnings = nlohmann::json::array(),
                       list = nlohmann::json::array();
        for (const auto& d : problems)
            errors.push_back(diagnostic_json(d));
        for (const auto& d : set.warnings)
            warnings.push_back(diagnostic_json(d));
        for (const auto& m : set.migrations) {
            list.push_back(
                {{"version", m.version.text()},
                 {"name", m.name},
                 {"up",
                  {{"path", m.up.path},
                   {"sha256", m.up.sha256},
                   {"statements", m.up.statements.size()}}},
                 {"down", m.down ? nlohmann::json{{"path", m.down->path},
                                                  {"sha256", m.down->sha256},
                                                  {"statements", m.down->statements.size()}}
                                 : nlohmann::json(nullptr)},
                 {"no_transaction", m.up.no_transaction()}});
        }
        ctx.print_json({{"ok", problems.empty()},
                        {"dir", set.dir},
                        {"layout", set.layout},
                        {"migrations", list},
                        {"errors", errors},
                        {"warnings", warnings}});
    } else {
        std::string out =
            render_diagnostics(problems, "error") + render_diagnostics(set.warnings, "warning");
        if (problems.empty()) {
            out += std::to_string(set.migrations.size()) + " migrations, " +
                   std::to_string(statements) + " statements: OK (" + set.layout + " layout, " +
                   set.dir + ")";
        } else {
            out += std::to_string(problems.size()) + " problem" +
                   (problems.size() == 1 ? "" : "s") + " in " + set.dir;
        }
        ctx.print(out);
    }
    return problems.empty() ? 0 : static_cast<int>(ExitCode::usage);
}

}  // namespace rollsafe::cli
