// The command-line adapter: the only translation unit that includes CLI11. It declares every
// command and flag in one place, fills plain option structs, and dispatches to cmd_*.cpp.
#include <CLI/CLI.hpp>

#include <functional>
#include <iostream>
#include <map>
#include <memory>

#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/render.h"
#include "core/base/dsn.h"
#include "core/base/error.h"
#include "core/base/interrupt.h"
#include "core/base/log.h"

namespace rollsafe::cli {
namespace {

// A command: its name, one-line help, examples for --help, and how to run it once parsed.
struct Command {
    std::string name;
    std::string help;
    std::string examples;
    CLI::App* app = nullptr;
    std::function<int(Context&)> run;
};

// Flags that override a configuration key (file < environment < flag).
struct ConfigFlag {
    const char* flag;
    const char* key;
    const char* help;
};
const ConfigFlag kConfigFlags[] = {
    {"--database-url", "database.url", "PostgreSQL URL or conninfo (default: DATABASE_URL, then PG* variables)"},
    {"--migrations", "migrations.dir", "migrations folder (default: ./migrations)"},
    {"--layout", "migrations.layout", "file layout: auto, native, dbmate, flyway"},
    {"--history-schema", "history.schema", "schema of rollsafe's history tables"},
    {"--lock-wait", "lock.wait", "how long to wait for another migrator, e.g. 60s (then exit 3)"},
    {"--lock-timeout", "timeouts.lock", "lock_timeout per statement, e.g. 1s"},
    {"--statement-timeout", "timeouts.statement", "statement_timeout per statement, e.g. 15m"},
    {"--lock-retry-budget", "timeouts.lock_retry_budget", "time spent retrying lock timeouts (then exit 14)"},
    {"--snapshot-dir", "snapshot.dir", "where snapshots are written"},
    {"--snapshot-mode", "snapshot.mode", "touched, full or none"},
    {"--lockfile", "lockfile.path", "path of the JSON lockfile"},
    {"--log-format", "log.format", "text or json (JSON lines for log collectors)"},
};

std::string examples_footer(const std::string& examples) {
    return examples.empty() ? "" : "\nExamples:\n" + examples;
}

int print_error(const Error& e, const Globals& g) {
    if (g.output == "json") {
        nlohmann::json diags = nlohmann::json::array();
        for (const auto& d : e.diagnostics()) diags.push_back(diagnostic_json(d));
        nlohmann::json doc = {{"error", redact(e.what())},
                              {"exit_code", static_cast<int>(e.code())},
                              {"exit_name", std::string(exit_code_name(e.code()))},
                              {"diagnostics", diags}};
        if (!e.hint().empty()) doc["hint"] = redact(e.hint());
        std::cout << doc.dump(2) << std::endl;
    } else {
        std::string out;
        if (e.diagnostics().size() > 1) {
            out = render_diagnostics(e.diagnostics(), "error");
            out += "rollsafe: " + std::to_string(e.diagnostics().size()) + " problems\n";
        } else {
            out = "rollsafe: " + std::string(e.what()) + "\n";
            if (!e.hint().empty()) out += "hint: " + e.hint() + "\n";
        }
        std::cerr << redact(out) << std::flush;
    }
    return static_cast<int>(e.code());
}

}  // namespace

int run(int argc, char** argv) {
    interrupt::install();
    Globals g;
    CLI::App app{"rollsafe: PostgreSQL schema migrations that roll back safely", "rollsafe"};
    app.set_version_flag("--version", std::string("rollsafe ") + ROLLSAFE_VERSION);
    app.require_subcommand(1);
    app.fallthrough(true);
    app.footer("\nExit codes are a contract: docs/exit-codes.md. Configuration: docs/configuration.md.");

    app.add_option("--config", g.config_path, "configuration file (default: ./rollsafe.toml)");
    app.add_option("--output,-o", g.output, "output format")->check(CLI::IsMember({"text", "json"}));
    auto* verbose = app.add_flag("-v,--verbose", "more log detail (repeat for trace)");
    auto* quiet = app.add_flag("-q,--quiet", "only warnings and errors");
    app.add_flag("--no-color", g.no_color, "no colour in logs (also NO_COLOR)");
    std::map<std::string, std::string> flag_values;
    std::map<std::string, CLI::Option*> flag_options;
    for (const auto& f : kConfigFlags) {
        flag_options[f.key] = app.add_option(f.flag, flag_values[f.key], f.help);
        g.flag_names[f.key] = f.flag;
    }

    std::vector<Command> commands;
    auto add = [&](std::string name, std::string help, std::string examples) -> CLI::App* {
        auto* sub = app.add_subcommand(name, help);
        sub->footer(examples_footer(examples));
        commands.push_back({name, help, examples, sub, nullptr});
        return sub;
    };
    auto on_run = [&](std::function<int(Context&)> fn) { commands.back().run = std::move(fn); };

    // --- init
    InitArgs init_args;
    auto* init = add("init", "write a commented rollsafe.toml, releases.toml and migrations/",
                     "  rollsafe init\n  rollsafe init --force\n");
    init->add_flag("--force", init_args.force, "overwrite an existing rollsafe.toml");
    on_run([&](Context& c) { return run_init(c, init_args); });

    // --- new
    NewArgs new_args;
    auto* nw = add("new", "create the next migration's up and down files from a template",
                   "  rollsafe new add_orders_status\n  rollsafe --migrations db/migrations new create_users\n");
    nw->add_option("name", new_args.name, "what the migration does, e.g. add_orders_status")->required();
    on_run([&](Context& c) { return run_new(c, new_args); });

    // --- validate
    ValidateArgs validate_args;
    add("validate", "check every migration file (names, pairs, SQL, directives); no database needed",
        "  rollsafe validate\n  rollsafe validate --migrations migrations-example/migrations -o json\n");
    on_run([&](Context& c) { return run_validate(c, validate_args); });

    // --- sandbox
    SandboxArgs sandbox_args;
    auto* sandbox = add("sandbox", "start a throwaway PostgreSQL for local work; removed on Ctrl-C",
                        "  rollsafe sandbox\n  rollsafe sandbox --tcp -o json\n");
    sandbox->add_flag("--tcp", sandbox_args.tcp, "also listen on 127.0.0.1");
    sandbox->add_option("--set", sandbox_args.settings, "extra server setting key=value (repeatable)");
    on_run([&](Context& c) { return run_sandbox(c, sandbox_args); });

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "rollsafe: " << redact(e.what()) << "\nhint: run `rollsafe --help` or `rollsafe <command> --help`\n";
        return static_cast<int>(ExitCode::usage);
    }

    g.verbosity = static_cast<int>(verbose->count()) - (quiet->count() ? 1 : 0);
    g.config_explicit = app.count("--config") > 0;
    if (!g.config_explicit) {
        auto env = std::getenv("ROLLSAFE_CONFIG");
        if (env && *env) {
            g.config_path = env;
            g.config_explicit = true;
        }
    }
    for (const auto& f : kConfigFlags) {
        if (flag_options[f.key]->count() > 0) g.overrides.emplace_back(f.key, flag_values[f.key]);
    }

    try {
        Context ctx;
        ctx.globals = g;
        ConfigSources sources;
        sources.config_path = g.config_path;
        sources.config_path_explicit = g.config_explicit;
        sources.env = process_environment();
        sources.flags = g.overrides;
        sources.flag_names = g.flag_names;
        ctx.config = load_config(sources);
        log::Options lo;
        lo.format = ctx.config.log_format == "json" ? log::Format::json : log::Format::text;
        lo.verbosity = g.verbosity;
        lo.color = !g.no_color;
        log::init(lo);
        for (auto& cmd : commands) {
            if (cmd.app->parsed()) return cmd.run(ctx);
        }
        return static_cast<int>(ExitCode::usage);
    } catch (const Error& e) {
        return print_error(e, g);
    } catch (const std::exception& e) {
        Error wrapped(ExitCode::internal, std::string("internal error: ") + e.what(),
                      "this is a bug; please report it with the command and its output");
        return print_error(wrapped, g);
    }
}

}  // namespace rollsafe::cli
